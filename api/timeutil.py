"""Datetimes at the API edge: naive input means UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

from api.problems import ApiProblem


def as_utc(value: datetime | None, name: str = "") -> datetime | None:
    """``value`` in UTC; a 422 naming query parameter ``name`` when UTC has no such time.

    ``9999-12-31T23:59:59-14:00`` is a valid ISO 8601 time whose UTC equivalent falls in
    year 10000, which Python's datetime (and both databases) cannot represent.
    """
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        detail = f"{name or 'a date-time'} {value.isoformat()} falls outside years 1-9999 in UTC"
        raise ApiProblem(
            422,
            detail,
            slug="invalid-input",
            errors=[{"loc": ["query", name], "msg": detail, "type": "datetime_range"}],
        ) from None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# A datetime field that always leaves the API in UTC with an offset (SQLite returns naive ones).
Utc = Annotated[datetime, AfterValidator(_utc)]
