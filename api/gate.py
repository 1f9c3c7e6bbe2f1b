"""The request gate: what every request must pass before a route reads a byte of its body.

A pure ASGI middleware, so it sees the request before FastAPI parses anything:

* a NUL in the path or query is refused (422): no route can use it and PostgreSQL cannot
  store or compare it;
* a request that writes (POST, PUT, PATCH, DELETE) must authenticate from its headers
  first: a live API key for ``/v1``, a live page session for ``/ui`` (sign-in, sign-out
  and unsubscribe links excepted). An anonymous 150 MB upload is answered 401 without being read;
* failed authentications are counted per client address and answered 429 once over the
  limit (see :mod:`api.ratelimit`);
* bodies are capped per route and counted as they stream in (``Content-Length`` is checked
  first but not trusted: chunked bodies have none), answered 413 past the cap. The body
  is then handed to the app from memory, at most the cap.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.problems import MEDIA_TYPE
from api.ratelimit import AuthFailures
from tracker.settings import Settings
from tracker.storage.api_keys import KeyCache

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Page forms are a few fields; signing in or out needs no session.
FORM_BYTES = 64 * 1024
_OPEN_PAGES = ("/ui/sign-in", "/ui/sign-out")
# An unsubscribe link's signed token is its own credential (RFC 8058 one-click: the mail
# client posts without a session), checked by the page itself.
_OPEN_PREFIXES = ("/ui/unsubscribe/",)


class RequestGate:
    def __init__(self, app: ASGIApp, settings: Settings, failures: AuthFailures) -> None:
        self.app = app
        self.settings = settings
        self.failures = failures

    def limit(self, path: str) -> int:
        """The body cap of a route: CSV imports carry files, page forms a few fields."""
        if path.startswith("/ui/"):
            return FORM_BYTES
        if path.endswith("/controls/import"):
            return self.settings.max_upload_bytes
        return self.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in query or b"\x00" in query:
            detail = "the URL contains a NUL character (%00); no identifier or filter can hold one"
            await _problem(send, 422, detail, path, "invalid-input", errors=True)
            return
        limit = self.limit(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _problem(send, 413, _too_large(limit), path, "too-large")
            return
        if scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.failures.retry_after(client)
        if wait:
            await _problem(
                send,
                429,
                f"too many failed authentications from {client}; try again in {wait} s",
                path,
                "too-many-requests",
                headers=[(b"retry-after", str(wait).encode())],
            )
            return
        refusal, presented = await self._authenticate(scope, path)
        if refusal:
            if presented:  # a wrong key or session counts; a missing one is no guess
                self.failures.hit(client)
            await _problem(
                send,
                401,
                refusal,
                path,
                "unauthorised",
                headers=[(b"www-authenticate", b'Bearer realm="tracker"')],
            )
            return
        body = await _read_body(receive, limit)
        if body is None:
            await _problem(send, 413, _too_large(limit), path, "too-large")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _authenticate(self, scope: Scope, path: str) -> tuple[str, bool]:
        """Why the request may not write ('' when it may), and whether it presented
        credentials at all; only headers are looked at."""
        request = Request(scope)
        if path.startswith("/ui/"):
            if path in _OPEN_PAGES or path.startswith(_OPEN_PREFIXES):
                return "", False
            from api.pages.session import COOKIE, viewer

            who = await run_in_threadpool(viewer, request)
            if who is None:
                return "sign in with an API key to make changes", COOKIE in request.cookies
            return "", True
        if not path.startswith("/v1/"):
            return "", False
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "this endpoint needs an API key: send `Authorization: Bearer <token>`", False
        keys: KeyCache = request.app.state.key_cache
        key = keys.authenticate(request.app.state.engine, token.strip())
        if key is None:
            return "the API key is unknown or revoked; create one with `tracker apikey create`", True
        return "", True


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> str:
    return f"the request body is larger than this route's limit of {limit} bytes"


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or ``None`` as soon as more than ``limit`` bytes have arrived."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later calls wait for the disconnect, as the server's would

    return replay


async def _problem(
    send: Send,
    status: int,
    detail: str,
    path: str,
    slug: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    errors: bool = False,
) -> None:
    """An RFC 9457 problem, built here because the app's handlers never saw the request."""
    from http import HTTPStatus

    problem: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    if errors:
        problem["errors"] = [{"loc": [], "msg": detail, "type": slug}]
    body = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                # the body may not have been read: the client must not reuse the connection
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
