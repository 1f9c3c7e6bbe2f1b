"""Signed session tokens of the pages: HMAC-signed, expiring, purpose-bound, never the API key."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from api.pages.session import COOKIE, MAX_AGE, csrf_token, sign, unsign
from tests.support.api_world import client_for, seed
from tests.support.pages_world import sign_in
from tracker.storage.api_keys import ApiKeys

SECRET = b"k" * 32


def test_round_trip_and_tampering() -> None:
    payload = {"k": "abc", "s": "sid", "iat": int(time.time())}
    token = sign(SECRET, payload)
    assert unsign(SECRET, token) == payload
    body, mac = token.split(".")
    assert unsign(SECRET, body + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")) is None
    assert unsign(b"other" * 8, token) is None
    assert unsign(SECRET, "garbage") is None and unsign(SECRET, "") is None
    forged = sign(SECRET, {"k": "abc", "s": "sid", "iat": int(time.time())}, purpose="flash")
    assert unsign(SECRET, forged) is None  # a flash token is not a session


def test_expiry() -> None:
    now = time.time()
    token = sign(SECRET, {"k": "abc", "s": "sid", "iat": int(now - MAX_AGE - 5)})
    assert unsign(SECRET, token, now=now) is None
    assert unsign(SECRET, token, now=now - 10) is not None


def test_csrf_token_is_bound_to_the_session() -> None:
    assert csrf_token(SECRET, "a") != csrf_token(SECRET, "b")
    assert csrf_token(SECRET, "a") == csrf_token(SECRET, "a")


def test_cookie_holds_no_key_and_revocation_ends_the_session(sqlite_engine: Engine) -> None:
    world = seed(sqlite_engine)
    client = client_for(sqlite_engine, session_secret="s" * 32)
    token = world.keys["acme:write"]
    sign_in(client, token)
    cookie = client.cookies.get(COOKIE)
    secret = token.split("_", 2)[2]  # the secret part may itself hold "_" (token_urlsafe)
    assert cookie and token not in cookie and secret not in cookie
    assert "Signed in as" in client.get("/ui").text
    key_id = token.split("_")[1]
    ApiKeys(sqlite_engine).revoke(key_id, world.orgs["acme"])
    assert "Signed in as" not in client.get("/ui").text
