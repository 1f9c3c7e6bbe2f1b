"""Values a fuzzer or an attacker sends get a clear 4xx problem, never a 500, on both databases.

Each group here once answered 500: integers past the database's 64-bit range, date-times
whose offset pushes them outside years 1-9999 in UTC, URLs that do not parse, NUL
characters PostgreSQL cannot store, and webhook hosts in forms a browser accepts but a
reader would not recognise as loopback (``0177.0.0.1``, ``2130706433``).
"""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.pagination import encode_cursor
from tests.support.api_world import World, client_for, seed

HUGE = 2**63
PROBLEM = "application/problem+json"


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def _paginated_paths(client: TestClient, sub_id: int) -> list[str]:
    spec = client.get("/openapi.json").json()
    paths = []
    for path, ops in spec["paths"].items():
        get = ops.get("get")
        if get and any(p["name"] == "cursor" for p in get.get("parameters", [])):
            paths.append(
                path.replace("{org}", "acme")
                .replace("{slug}", "demo-std")
                .replace("{label}", "v1")
                .replace("{sub_id}", str(sub_id))
            )
    return paths


def _assert_problem(response: object, status: int = 422) -> dict[str, object]:
    assert response.status_code == status, (response.request.url, response.text)  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["detail"]
    return body


def _subscription(client: TestClient, world: World) -> int:
    made = client.post("/v1/orgs/acme/subscriptions", headers=world.auth("acme:write"), json={"name": "s"})
    assert made.status_code == 201, made.text
    return int(made.json()["subscription"]["id"] if "subscription" in made.json() else made.json()["id"])


def _cursor(path: str, after: int) -> str:
    """A well-formed cursor for ``path`` without filters, pointing past ``after``."""
    fingerprint = hashlib.sha256(json.dumps([path, []]).encode()).hexdigest()[:12]
    return encode_cursor(after, fingerprint)


def test_huge_cursor_on_every_paginated_route(world: World, engine: Engine) -> None:
    with client_for(engine) as client:
        paths = _paginated_paths(client, _subscription(client, world))
        assert len(paths) >= 12
        for path in paths:
            who = "acme:admin" if "/orgs/" in path else "operator"
            response = client.get(path, params={"cursor": _cursor(path, HUGE)}, headers=world.auth(who))
            body = _assert_problem(response)
            assert "cursor" in str(body["detail"])


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
@pytest.mark.parametrize("path", ["/v1/orgs/acme/impact", "/v1/changes"])
@pytest.mark.parametrize("param", ["since", "until"])
def test_dates_outside_the_calendar_in_utc(
    world: World, engine: Engine, path: str, param: str, since: str
) -> None:
    with client_for(engine) as client:
        response = client.get(path, params={param: since}, headers=world.auth("acme:read"))
        body = _assert_problem(response)
        assert param in str(body["errors"])


def test_huge_integers_in_paths_and_queries(world: World, engine: Engine) -> None:
    with client_for(engine) as client:
        read = world.auth("acme:read")
        for path in (
            f"/v1/diffs/{HUGE}",
            f"/v1/crawls/{HUGE}",
            f"/v1/orgs/acme/subscriptions/{HUGE}",
            f"/v1/orgs/acme/mappings/{HUGE}",
            f"/v1/orgs/acme/review/decisions/{HUGE}",
        ):
            response = client.get(path, headers=world.auth("operator") if "/orgs/" not in path else read)
            assert response.status_code in (404, 422), (path, response.text)
        response = client.get("/v1/orgs/acme/impact", params={"diff_id": HUGE}, headers=read)
        assert response.status_code in (200, 422), response.text


BAD_WEBHOOKS = [
    ("http://[::1", "not a valid URL"),
    ("http://[zz::1]/", "not a valid URL"),
    ("http://0177.0.0.1:8102/h", "IPv4"),
    ("http://2130706433/", "IPv4"),
    ("http://127.1/", "IPv4"),
    ("http://0x7f.0.0.1/", "IPv4"),
    ("http://a:port/", "port"),
    ("http://a:99999/", "port"),
    ("http://hooks\u200b.example.org/h", "host"),
]


@pytest.mark.parametrize(("url", "problem"), BAD_WEBHOOKS)
def test_webhook_urls_that_do_not_parse_or_hide_an_address(
    world: World, engine: Engine, url: str, problem: str
) -> None:
    base = "/v1/orgs/acme/subscriptions"
    write = world.auth("acme:write")
    with client_for(engine) as client:
        created = client.post(base, headers=write, json={"channels": ["webhook"], "webhook_url": url})
        assert problem in str(_assert_problem(created)["detail"])
        sub_id = _subscription(client, world)
        patched = client.patch(
            f"{base}/{sub_id}", headers=write, json={"channels": ["webhook"], "webhook_url": url}
        )
        assert problem in str(_assert_problem(patched)["detail"])


def test_webhook_url_is_stored_normalised(world: World, engine: Engine) -> None:
    with client_for(engine) as client:
        made = client.post(
            "/v1/orgs/acme/subscriptions",
            headers=world.auth("acme:write"),
            json={"channels": ["webhook"], "webhook_url": "https://Hooks.Example.ORG:443/x/../a%20b"},
        )
        assert made.status_code == 201, made.text
        assert "https://hooks.example.org/a%20b" in made.text


def test_nul_characters_are_refused(world: World, engine: Engine) -> None:
    write = world.auth("acme:write")
    with client_for(engine) as client:
        _assert_problem(
            client.post("/v1/orgs/acme/controls", headers=write, json={"id": "C-\x00", "title": "t"})
        )
        _assert_problem(
            client.post("/v1/orgs/acme/controls", headers=write, json={"id": "C-9", "title": "a\x00b"})
        )
        _assert_problem(client.put("/v1/orgs/acme/controls/ACME-1", headers=write, json={"title": "a\x00b"}))
        csv = b"id,title\nC-7,fine\nC-8,bad\x00title\n"
        imported = client.post(
            "/v1/orgs/acme/controls/import", headers=write, files={"file": ("c.csv", csv, "text/csv")}
        )
        assert "control character" in str(_assert_problem(imported)["detail"])
        _assert_problem(client.post("/v1/orgs/acme/subscriptions", headers=write, json={"name": "n\x00"}))
        _assert_problem(client.get("/v1/orgs/acme/controls/C%00", headers=write))
        _assert_problem(client.get("/v1/orgs/acme/impact", params={"control": "a\x00"}, headers=write))
        _assert_problem(client.get("/v1/changes", params={"source": "a\x00"}, headers=write))
        # nothing of the refused CSV was imported
        listed = client.get("/v1/orgs/acme/controls", headers=write).json()
        assert "C-7" not in {c["id"] for c in listed["items"]}
