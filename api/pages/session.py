"""Sign-in for the pages: a signed session cookie obtained by posting an API key.

The cookie carries only a signed token ``{key id, display name, session id, issued at}``,
never the API key. It is signed with HMAC-SHA256 from the standard library
(``itsdangerous`` is not installed) using ``Settings.session_secret``; without one a random
secret is made per process, so sessions end on restart and several workers need
``TRACKER_SESSION_SECRET``. The session id is also recorded server-side
(``page_sessions``): signing out marks it ended, so a copied cookie dies with the session
instead of living out its 12 hours. Every request re-reads the key and the session, so
revoking the key or signing out ends the session at once. Forms carry a CSRF token derived
from the session id; the cookie is ``HttpOnly`` and ``SameSite=Lax`` (and ``Secure`` when
the public address is https).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from tracker.settings import Settings
from tracker.storage.api_keys import ApiKey, Scope
from tracker.storage.db import Engine
from tracker.storage.decisions import Reviewer
from tracker.storage.page_sessions import PageSessions

COOKIE = "tracker_session"
MAX_AGE = 12 * 3600
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Viewer:
    """The signed-in reader of a page."""

    key: ApiKey
    name: str
    org: str | None
    sid: str
    csrf: str

    @property
    def can_write(self) -> bool:
        return self.key.scope.allows(Scope.WRITE)

    @property
    def reviewer(self) -> Reviewer:
        return Reviewer(name=self.name, key_id=self.key.key_id, org=self.org, org_id=self.key.org_id)


def _secret(request: Request) -> bytes:
    state = request.app.state
    found: bytes | None = getattr(state, "page_secret", None)
    if found is not None:
        return found
    with _LOCK:
        found = getattr(state, "page_secret", None)
        if found is None:
            settings: Settings = state.settings
            configured = settings.session_secret
            found = configured.encode() if configured else secrets.token_bytes(32)
            state.page_secret = found
    return found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, body: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}:{body}".encode(), hashlib.sha256).digest())


def sign(secret: bytes, payload: dict[str, Any], purpose: str = "session") -> str:
    """``payload`` as base64url JSON plus its MAC; ``purpose`` keeps token kinds apart."""
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(
    secret: bytes, token: str, now: float | None = None, purpose: str = "session"
) -> dict[str, Any] | None:
    """The payload of a token this secret signed and that has not expired, else ``None``."""
    body, _, mac = token.partition(".")
    if not body or not mac or len(token) > 2048:
        return None
    expected = _mac(secret, purpose, body)
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("iat"), int | float):
        return None
    if (now if now is not None else time.time()) - payload["iat"] > MAX_AGE:
        return None
    return payload


def csrf_token(secret: bytes, sid: str) -> str:
    return hmac.new(secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()[:32]


def issue(request: Request, key: ApiKey, name: str) -> str:
    """A signed session token for ``key``, its session recorded as live; ``name`` is recorded
    with the reviewer's decisions. Sessions past their lifetime are pruned on the way."""
    sid = secrets.token_hex(16)
    now = PageSessions(request.app.state.engine).open(sid, key.key_id, max_age=MAX_AGE)
    payload = {"k": key.key_id, "n": name.strip()[:200], "s": sid, "iat": int(now.timestamp())}
    return sign(_secret(request), payload)


def end(engine: Engine, sid: str) -> None:
    """Sign out: the session ``sid`` stops working, whoever holds its cookie."""
    PageSessions(engine).end(sid)


def viewer(request: Request) -> Viewer | None:
    """The signed-in viewer of this request, or ``None`` (read-only pages)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    secret = _secret(request)
    payload = unsign(secret, token)
    if payload is None or not isinstance(payload.get("k"), str) or not isinstance(payload.get("s"), str):
        return None
    found = PageSessions(request.app.state.engine).live_key(payload["k"], payload["s"])
    if found is None:
        return None
    key, org = found
    name = str(payload.get("n") or "") or key.name or f"api-key:{key.key_id}"
    return Viewer(key=key, name=name, org=org, sid=payload["s"], csrf=csrf_token(secret, payload["s"]))


def csrf_ok(viewer: Viewer, value: str | None) -> bool:
    return bool(value) and hmac.compare_digest(viewer.csrf, value or "")


def set_cookie(request: Request, response: Response, token: str) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        token,
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


FLASH = "tracker_notice"
PRESESSION = "tracker_signin"


def set_flash(request: Request, response: Response, text: str) -> None:
    """A one-time notice for the next page (a redirect after a form post without script)."""
    token = sign(_secret(request), {"m": text[:500], "iat": int(time.time())}, purpose="flash")
    response.set_cookie(FLASH, token, max_age=120, httponly=True, samesite="lax", path="/ui")


def redirect_with_notice(request: Request, url: str, text: str) -> RedirectResponse:
    """A 303 to ``url`` that shows ``text`` there once: the answer to a form post without script."""
    redirect = RedirectResponse(url, status_code=303)
    set_flash(request, redirect, text)
    return redirect


def take_flash(request: Request) -> str:
    token = request.cookies.get(FLASH)
    payload = unsign(_secret(request), token, purpose="flash") if token else None
    return str(payload.get("m", "")) if payload else ""
