"""HTTP caching as clients and caches expect it (RFC 9110 section 13, RFC 9111), for every GET.

One ASGI middleware, so no route can forget it:

* ``HEAD`` is answered for every ``GET`` route: the request runs as ``GET`` and the body is
  dropped, so the headers (length, validators) are exactly those of the ``GET``.
* every ``200`` answer to a ``GET`` carries an ``ETag``: the route's own, or a hash of the
  body. ETags are *weak* (``W/"..."``) because the same resource is also served gzip-encoded
  (:class:`starlette.middleware.gzip.GZipMiddleware`), and a strong validator would have to
  differ per encoding.
* ``If-None-Match`` (a list, weak or strong tags, or ``*``) and, when it is absent,
  ``If-Modified-Since`` against the route's ``Last-Modified`` answer ``304 Not Modified``.
  The headers are parsed by Werkzeug's ``werkzeug.http`` (``parse_etags``, ``parse_date``),
  the parser Flask relies on, rather than by hand: the grammar has enough corners (quoted
  commas, ``W/`` prefixes, three date formats) to get wrong.
* ``Cache-Control``: the route's own, else ``private, no-cache`` (answers depend on the API
  key; a cache may keep them but must revalidate); routes serving immutable stored
  resources (a stored diff, a version's requirement) mark them with :func:`immutable`.

Answers larger than :data:`MAX_BUFFER` are passed through as they stream, without an ETag.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from fastapi import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from werkzeug.http import http_date, parse_date, parse_etags, quote_etag, unquote_etag

MAX_BUFFER = 16 * 1024 * 1024
DEFAULT_CACHE_CONTROL = "private, no-cache"
IMMUTABLE = "private, max-age=31536000, immutable"
GZIP_MINIMUM = 1400  # bytes: smaller answers fit one packet, compressing them gains nothing
# headers a 304 repeats from the 200 it stands for (RFC 9110 section 15.4.5)
_KEPT_ON_304 = ("etag", "cache-control", "last-modified", "vary", "expires", "content-location", "date")


def last_modified(response: Response, when: datetime | None) -> None:
    """Give the answer a ``Last-Modified`` (HTTP dates have whole seconds)."""
    if when is not None:
        stamp = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        response.headers["Last-Modified"] = http_date(stamp)


def immutable(response: Response, when: datetime | None = None) -> None:
    """Mark the answer as a stored resource that never changes under its URL."""
    response.headers["Cache-Control"] = IMMUTABLE
    last_modified(response, when)


def weak_etag(body: bytes) -> str:
    return quote_etag(hashlib.sha256(body).hexdigest()[:32], weak=True)


def not_modified(request: Headers, response: Headers) -> bool:
    """Whether the request's conditional headers match the answer's validators."""
    etag = response.get("etag")
    if_none_match = request.get("if-none-match")
    if if_none_match is not None:
        # weak comparison, as RFC 9110 prescribes for If-None-Match
        return etag is not None and parse_etags(if_none_match).contains_weak(unquote_etag(etag)[0] or "")
    since, modified = parse_date(request.get("if-modified-since")), parse_date(response.get("last-modified"))
    return since is not None and modified is not None and modified <= since


class HttpCaching:
    """The pure ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        request = Headers(scope=scope)
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False

        async def relay(message: Message) -> None:
            nonlocal start, size, passing
            if message["type"] == "http.response.start":
                start = message
                passing = message["status"] != 200
                if passing:
                    await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body, more = message.get("body", b""), message.get("more_body", False)
            if passing:
                await send({**message, "body": b""} if head else message)
                return
            chunks.append(body)
            size += len(body)
            if size > MAX_BUFFER and more:  # too large to hold: stream it as it comes
                passing = True
                assert start is not None
                await send(start)
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"" if head else b"".join(chunks),
                        "more_body": True,
                    }
                )
                chunks.clear()
                return
            if not more:
                assert start is not None
                await self._answer(request, start, b"".join(chunks), head, send)

        await self.app({**scope, "method": "GET"} if head else scope, receive, relay)

    @staticmethod
    async def _answer(request: Headers, start: Message, body: bytes, head: bool, send: Send) -> None:
        headers = MutableHeaders(raw=list(start["headers"]))
        etag = headers.get("etag")
        if etag is None:
            headers["etag"] = weak_etag(body)
        elif not etag.startswith("W/"):
            headers["etag"] = "W/" + etag  # also served gzip-encoded: see the module docstring
        if "cache-control" not in headers:
            headers["cache-control"] = DEFAULT_CACHE_CONTROL
        # an answer that sets a cookie is always sent whole: a 304 would drop the cookie
        if "set-cookie" not in headers and not_modified(request, headers):
            kept = [(k, v) for k, v in headers.raw if k.decode("latin-1").lower() in _KEPT_ON_304]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b"" if head else body})


def install(app: ASGIApp) -> None:
    """Add caching, then gzip outside it (validators are computed on the identity body)."""
    from fastapi import FastAPI
    from starlette.middleware.gzip import GZipMiddleware

    assert isinstance(app, FastAPI)
    app.add_middleware(HttpCaching)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM)
