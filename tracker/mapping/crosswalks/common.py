"""Helpers shared by the crosswalk readers: decoding, relationship and number checks."""

from __future__ import annotations

from typing import Any

from tracker.domain.errors import InvalidInputError
from tracker.mapping.relationships import parse_relationship
from tracker.mapping.types import Provenance, Relationship, ReviewState

CSV_COLUMNS = (
    "source_id",
    "target_id",
    "relationship",
    "provenance",
    "confidence",
    "review",
    "versions",
    "note",
)
TRACKER_NS = "urn:ai-standards-tracker:mapping"
RELATIONSHIP_HINT = "use one of equal, subset, superset, intersects, no-relationship (or related)"


def text_of(data: bytes | str, where: str) -> str:
    """Decode UTF-8 (a BOM is dropped); anything else is reported, not guessed."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"{where}: not UTF-8 text (byte {err.start})", "save the file as UTF-8"
        ) from err


def relationship_of(value: Any, where: str) -> Relationship:
    """An IR 8477 relationship from any supported vocabulary, or an error naming ``where``."""
    rel = parse_relationship(str(value)) if isinstance(value, str) else None
    if rel is None:
        raise InvalidInputError(f"{where}: unknown relationship {value!r}", RELATIONSHIP_HINT)
    return rel


def confidence_of(value: Any, where: str, *, name: str = "confidence", top: float = 1.0) -> float:
    """A number in [0, ``top``] scaled to [0, 1], or an error naming ``where`` and ``name``.

    ``top`` is the scale the format uses: 1 for our CSV and OSCAL, 10 for the
    framework-library ``strength_of_relationship``.
    """
    scale = f"0 to {top:g}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{where}: {name} {value!r} is not a number", f"give a number from {scale}"
        ) from None
    if not 0.0 <= number <= top:
        raise InvalidInputError(
            f"{where}: {name} {number:g} is outside {scale}", f"give a number from {scale}"
        )
    return number / top


def enum_or_default(cls: type[Provenance] | type[ReviewState], value: str, default: Any) -> Any:
    value = value.strip().lower()
    return cls(value) if value in {m.value for m in cls} else default
