"""HTTP manners of the API: Location on 201, a complete Allow on 405, Link on paged lists,
problem types that resolve to a page, and the shared answers declared in the OpenAPI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from api.problem_types import BY_SLUG
from tests.support.api_world import World, client_for, seed

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def test_201_answers_say_where_the_resource_is(world: World) -> None:
    with client_for(world.engine) as client:
        admin, operator = world.auth("acme:admin"), world.auth("operator")
        made = [
            client.post("/v1/orgs/acme/controls", headers=admin, json={"id": "ACME-77", "title": "t"}),
            client.post("/v1/orgs", headers=operator, json={"slug": "initech", "name": "Initech"}),
            client.post("/v1/orgs/acme/api-keys", headers=admin, json={"scope": "read", "name": "ci"}),
            client.post(
                "/v1/orgs/acme/mappings",
                headers=admin,
                json={
                    "source_set": "demo-std@v1",
                    "source": "R-2",
                    "target": "ACME-2",
                    "relationship": "equal",
                },
            ),
        ]
        for response in made:
            assert response.status_code == 201, response.text
            location = response.headers["location"]
            fetched = client.get(location, headers=operator if location.count("/") == 3 else admin)
            assert fetched.status_code == 200, (location, fetched.text)
        assert made[0].headers["location"] == "/v1/orgs/acme/controls/ACME-77"


def test_405_lists_every_method_of_the_path(world: World) -> None:
    with client_for(world.engine) as client:
        got = client.post("/v1/orgs/acme/controls/ACME-1", headers=world.auth("acme:admin"))
        assert got.status_code == 405
        # three routes share the path, and HEAD is answered wherever GET is
        assert got.headers["allow"] == "GET, HEAD, PUT, DELETE"
        head = client.head("/v1/orgs/acme/controls/ACME-1", headers=world.auth("acme:admin"))
        assert head.status_code == 200
        assert got.json()["type"] == "/problems/method-not-allowed"
        assert (
            client.delete("/v1/orgs/acme/controls", headers=world.auth("acme:admin")).headers["allow"]
            == "GET, HEAD, POST"
        )


def test_paged_lists_link_to_the_next_page(world: World) -> None:
    with client_for(world.engine) as client:
        headers = world.auth("acme:read")
        seen: list[str] = []
        url: str | None = "/v1/orgs/acme/controls?limit=2"
        pages = 0
        while url:
            got = client.get(url, headers=headers)
            assert got.status_code == 200, got.text
            seen += [c["id"] for c in got.json()["items"]]
            link = got.headers.get("link")
            if got.json()["next_cursor"] is None:
                assert link is None
                url = None
            else:
                match = re.fullmatch(r'<([^>]+)>; rel="next"', link or "")
                assert match, link
                url = match.group(1)
                assert "limit=2" in url
            pages += 1
        assert pages == 2 and seen == ["ACME-1", "ACME-2", "ACME-3"]
        first = client.get("/v1/orgs/acme/impact?limit=1", headers=headers)
        again = client.get("/v1/orgs/acme/impact?limit=1", headers=headers)  # from the page cache
        assert first.headers["link"] == again.headers["link"]
        assert first.headers["link"].startswith("</v1/orgs/acme/impact?limit=1&cursor=")


def test_problem_types_resolve_to_a_page(world: World) -> None:
    with client_for(world.engine) as client:
        problem = client.get("/v1/orgs/acme/controls/NOPE", headers=world.auth("acme:read")).json()
        page = client.get(problem["type"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "What it means" in page.text and "What to do" in page.text
        index = client.get("/problems")
        assert all(f"/problems/{slug}" in index.text for slug in BY_SLUG)
        assert client.get("/problems/no-such-thing").status_code == 404


def test_every_slug_the_code_raises_has_a_page() -> None:
    used: set[str] = set()
    for path in (ROOT / "api").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'slug="([a-z-]+)"', text))
        used |= set(re.findall(r'\d{3}, [^\n]*?, path, "([a-z-]+)"', text))
        used |= set(re.findall(r'^\s+\d{3}: "([a-z-]+)",$', text, re.MULTILINE))
    assert used and used <= set(BY_SLUG), used - set(BY_SLUG)


def test_the_document_declares_the_shared_answers(world: World) -> None:
    with client_for(world.engine) as client:
        spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            assert {"400", "422"} <= set(op["responses"]), (method, path)
            if any(p["name"] == "cursor" for p in op.get("parameters", [])):
                assert "Link" in op["responses"]["200"]["headers"], (method, path)
            if "201" in op["responses"]:
                assert "Location" in op["responses"]["201"]["headers"], (method, path)
