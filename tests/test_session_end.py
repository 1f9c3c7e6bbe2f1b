"""Signing out ends the page session on the server: a copied cookie is worth nothing after.

The cookie is signed and would otherwise stay valid for its whole lifetime (12 hours); the
session it names is recorded server-side and marked ended on sign-out.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine

from api.pages.session import COOKIE
from tests.support.api_world import client_for, seed
from tests.support.pages_world import sign_in

REVIEW = "/ui/sources/demo-std/review/v1/v2"


def _change(html: str) -> int:
    return int(re.findall(r'<article class="change[^"]*" id="change-(\d+)"', html)[0])


def test_a_copied_cookie_dies_with_sign_out(engine: Engine) -> None:
    world = seed(engine)
    victim = client_for(engine, session_secret="s" * 32)
    csrf = sign_in(victim, world.keys["acme:write"])
    stolen = victim.cookies.get(COOKIE)
    assert stolen
    change = _change(victim.get(REVIEW).text)

    thief = client_for(engine, session_secret="s" * 32)
    thief.cookies.set(COOKIE, stolen)
    assert "Signed in as" in thief.get("/ui/decisions").text  # the copy works while signed in

    out = victim.post("/ui/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303

    assert "Signed in as" not in thief.get("/ui/decisions").text
    verdict = thief.post(f"/ui/changes/{change}/verdict", data={"action": "confirm", "csrf": csrf})
    assert verdict.status_code == 401
    # a new sign-in gets a new, working session
    sign_in(victim, world.keys["acme:write"])
    assert "Signed in as" in victim.get("/ui/decisions").text


def test_other_sessions_of_the_same_key_stay_signed_in(engine: Engine) -> None:
    world = seed(engine)
    first = client_for(engine, session_secret="s" * 32)
    second = client_for(engine, session_secret="s" * 32)
    csrf = sign_in(first, world.keys["acme:write"], name="First")
    sign_in(second, world.keys["acme:write"], name="Second")
    first.post("/ui/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert "Signed in as" in second.get("/ui/decisions").text
