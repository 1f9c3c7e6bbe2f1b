"""Response headers the API promises: ``Location`` on 201, ``Link`` on paged lists.

``Location`` is a relative reference to the created resource (RFC 9110 allows one; it
resolves against the request's own address, which keeps the API right behind a proxy that
rewrites the host). Path segments taken from user input are percent-encoded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Response

LOCATION_HEADER: dict[str, Any] = {
    "Location": {"description": "the address of the created resource", "schema": {"type": "string"}}
}


def created_responses(*extra: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a 201 route: the ``Location`` header, plus problem answers."""
    out: dict[int | str, dict[str, Any]] = {201: {"description": "Created", "headers": LOCATION_HEADER}}
    for more in extra:
        out.update(more)
    return out


def set_location(response: Response, *segments: str | int) -> None:
    """``Location: /seg/seg/...``, each segment percent-encoded."""
    response.headers["Location"] = "/" + "/".join(quote(str(s), safe="") for s in segments)
