"""Cursor pagination: stable order by id, an opaque cursor, a bounded limit.

The cursor is base64url of ``{"a": last id, "f": filter fingerprint}``. Ordering by the
primary key keeps pages stable while rows are added (new rows only ever appear on later
pages). The fingerprint binds a cursor to the filters it was issued for, so reusing it
with other filters is refused instead of silently skipping rows. Cursors are not secret
and not signed: forging one only lets a caller skip ahead in data it may read anyway.

A page that has a next one also says so in an RFC 8288 ``Link: <...>; rel="next"`` header,
the request's own address with the new cursor, so generic HTTP clients can follow pages
without reading the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

from api.problems import ApiProblem

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_ID = 2**63  # row ids are signed 64-bit integers in both databases


class Page(BaseModel, Generic[T]):
    """One page of results; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="opaque; null on the last page")
    limit: int = Field(examples=[DEFAULT_LIMIT])


def _fingerprint(request: Request) -> str:
    pairs = sorted((k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "limit"))
    return hashlib.sha256(json.dumps([request.url.path, pairs]).encode()).hexdigest()[:12]


def encode_cursor(after: int, fingerprint: str) -> str:
    raw = json.dumps({"a": after, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(msg: str) -> ApiProblem:
    detail = f"invalid cursor: {msg}; start again without a cursor"
    return ApiProblem(
        422,
        detail,
        slug="invalid-cursor",
        errors=[{"loc": ["query", "cursor"], "msg": detail, "type": "invalid-cursor"}],
    )


def decode_cursor(cursor: str, fingerprint: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        after = data["a"]
        fp = data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise _invalid("not a cursor this API issued") from None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < MAX_ID:
        raise _invalid("not a cursor this API issued")
    if fp != fingerprint:
        raise _invalid("it was issued for other filters or another endpoint")
    return after


LINK_HEADER: dict[str, object] = {
    "Link": {
        "description": 'RFC 8288 `<url>; rel="next"` when there is a next page',
        "schema": {"type": "string"},
    }
}


def next_link(request: Request, cursor: str) -> str:
    """``<request URL with this cursor>; rel="next"`` (relative: path and query)."""
    url = request.url.include_query_params(cursor=cursor)
    return f'<{url.path}?{url.query}>; rel="next"'


@dataclass(frozen=True)
class PageParams:
    """Validated paging parameters of one request: fetch ``limit + 1`` rows with ``id > after``."""

    after: int
    limit: int
    fingerprint: str
    request: Request | None = None
    response: Response | None = None

    def page(self, items: Sequence[T], ids: Sequence[int]) -> Page[T]:
        """Trim the look-ahead row and issue the next cursor (body and ``Link``) if there was one."""
        more = len(items) > self.limit
        kept = list(items[: self.limit])
        next_cursor = encode_cursor(ids[self.limit - 1], self.fingerprint) if more and kept else None
        if next_cursor and self.request is not None and self.response is not None:
            self.response.headers["Link"] = next_link(self.request, next_cursor)
        return Page[T](items=kept, next_cursor=next_cursor, limit=self.limit)


async def page_params(
    request: Request,
    response: Response,
    cursor: Annotated[
        str | None, Query(max_length=512, description="opaque cursor from `next_cursor`")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    fp = _fingerprint(request)
    after = decode_cursor(cursor, fp) if cursor else 0
    return PageParams(after=after, limit=limit, fingerprint=fp, request=request, response=response)
