"""Authentication, scopes and tenant isolation on every endpoint, on SQLite and PostgreSQL.

For each organisation-scoped route: no key is 401, an unknown or revoked key is 401, a key
of the right organisation but too small a scope is 403, and any key of another
organisation is 404 (the route must not even confirm the organisation exists); every one
of those answers is a problem document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.support.api_world import World, client_for, seed
from tracker.digests.model import Channel, SubscriptionSpec
from tracker.storage.api_keys import ApiKeys
from tracker.storage.subscriptions import SubscriptionStore
from tracker.storage.tables.orgs import MappingRow

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {sub} and {mapping} are filled with acme's ids
    scope: str  # the least scope that may call it
    body: Any = None
    files: Any = None


ORG_ROUTES = [
    Route("GET", "/v1/orgs/acme", "read"),
    Route("GET", "/v1/orgs/acme/controls", "read"),
    Route("POST", "/v1/orgs/acme/controls", "write", {"id": "NEW-1", "title": "x"}),
    Route("GET", "/v1/orgs/acme/controls/ACME-1", "read"),
    Route("PUT", "/v1/orgs/acme/controls/ACME-1", "write", {"title": "changed"}),
    Route("DELETE", "/v1/orgs/acme/controls/ACME-2", "write"),
    Route("GET", "/v1/orgs/acme/controls/ACME-1/history", "read"),
    Route("POST", "/v1/orgs/acme/controls/import", "write", files={"file": ("c.csv", b"id,title\nC-9,t\n")}),
    Route("GET", "/v1/orgs/acme/mappings", "read"),
    Route(
        "POST",
        "/v1/orgs/acme/mappings",
        "write",
        {"source_set": "demo-std@v2", "source": "R-4", "target": "ACME-2"},
    ),
    Route("GET", "/v1/orgs/acme/mappings/{mapping}", "read"),
    Route("PATCH", "/v1/orgs/acme/mappings/{mapping}", "write", {"review": "accepted"}),
    Route("GET", "/v1/orgs/acme/impact", "read"),
    Route("GET", "/v1/orgs/acme/impacts/{diff}", "read"),
    Route("GET", "/v1/orgs/acme/subscriptions", "read"),
    Route("POST", "/v1/orgs/acme/subscriptions", "write", {"channels": ["atom"]}),
    Route("GET", "/v1/orgs/acme/subscriptions/{sub}", "read"),
    Route("PATCH", "/v1/orgs/acme/subscriptions/{sub}", "write", {"name": "renamed"}),
    Route("POST", "/v1/orgs/acme/subscriptions/{sub}/rotate-secrets", "write"),
    Route("GET", "/v1/orgs/acme/subscriptions/{sub}/events", "read"),
    Route("GET", "/v1/orgs/acme/subscriptions/{sub}/deliveries", "read"),
    Route("DELETE", "/v1/orgs/acme/subscriptions/{sub}", "write"),
    Route("GET", "/v1/orgs/acme/api-keys", "admin"),
    Route("POST", "/v1/orgs/acme/api-keys", "admin", {"scope": "read"}),
]
SHARED_ROUTES = [
    Route("GET", "/v1/sources", "read"),
    Route("GET", "/v1/sources/demo-std", "read"),
    Route("GET", "/v1/sources/demo-std/versions", "read"),
    Route("GET", "/v1/sources/demo-std/versions/v2", "read"),
    Route("GET", "/v1/sources/demo-std/versions/v2/requirements", "read"),
    Route("GET", "/v1/sources/demo-std/versions/v2/requirements/R-1", "read"),
    Route("GET", "/v1/sources/demo-std/requirements/R-1", "read"),
    Route("GET", "/v1/diffs", "read"),
    Route("GET", "/v1/diffs/{diff}", "read"),
    Route("GET", "/v1/changes", "read"),
]
OPERATOR_ROUTES = [
    Route("PUT", "/v1/sources/new-src", "admin", {"slug": "new-src", "title": "New"}),
    Route("POST", "/v1/orgs", "admin", {"slug": "initech"}),
    Route("GET", "/v1/crawls", "admin"),
]


@dataclass
class Env:
    world: World
    client: TestClient
    sub_id: int
    mapping_id: int

    def call(self, route: Route, who: str | None, token: str | None = None) -> Any:
        path = route.path.format(sub=self.sub_id, mapping=self.mapping_id, diff=self.world.diff_id)
        secret = token or (self.world.keys[who] if who else None)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if route.body is not None:
            kwargs["json"] = route.body
        if route.files is not None:
            kwargs["files"] = route.files
        return self.client.request(route.method, path, **kwargs)


@pytest.fixture
def env(engine: Engine) -> Iterator[Env]:
    world = seed(engine)
    sub = SubscriptionStore(engine).create(world.orgs["acme"], SubscriptionSpec(channels=(Channel.ATOM,)))
    with Session(engine) as session:
        mapping_id = session.scalar(select(MappingRow.id).where(MappingRow.org_id == world.orgs["acme"]))
    assert mapping_id is not None
    # every route is tried with many wrong keys on purpose: the failed-authentication limit
    # (tested in test_api_gate.py) is off here
    with client_for(engine, auth_failure_limit=0) as client:
        yield Env(world, client, sub.subscription.id, mapping_id)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["instance"]
    return body


def test_every_org_route_enforces_auth_scope_and_tenancy(env: Env) -> None:
    revoked_key, revoked = ApiKeys(env.world.engine).create("admin", env.world.orgs["acme"])
    ApiKeys(env.world.engine).revoke(revoked_key.key_id, env.world.orgs["acme"])
    for route in ORG_ROUTES:
        label = f"{route.method} {route.path}"
        assert _problem(env.call(route, None), 401)["detail"], label
        _problem(env.call(route, None, token="tsk_0000_nonsense"), 401)
        _problem(env.call(route, None, token=revoked), 401)
        for scope in ("read", "write", "admin"):
            body = _problem(env.call(route, f"globex:{scope}"), 404)
            assert "acme" not in body["detail"] or "no organisation" in body["detail"], label
        for scope in ("read", "write"):
            if ["read", "write", "admin"].index(scope) < ["read", "write", "admin"].index(route.scope):
                _problem(env.call(route, f"acme:{scope}"), 403)
    # finally the right key works, for every route (deletes last)
    for route in sorted(ORG_ROUTES, key=lambda r: r.method == "DELETE"):
        response = env.call(route, f"acme:{route.scope}")
        assert response.status_code in (200, 201, 204), (route, response.text)
    # the operator key may act for any organisation
    assert env.call(Route("GET", "/v1/orgs/globex/controls", "read"), "operator").status_code == 200


def test_foreign_object_ids_are_not_found_even_under_own_org(env: Env, engine: Engine) -> None:
    globex = env.world.orgs["globex"]
    foreign_sub = (
        SubscriptionStore(engine).create(globex, SubscriptionSpec(channels=(Channel.ATOM,))).subscription
    )
    with Session(engine) as session:
        foreign_map = session.scalar(select(MappingRow.id).where(MappingRow.org_id == globex))
    auth = env.world.auth("acme:admin")
    for method, path in [
        ("GET", f"/v1/orgs/acme/subscriptions/{foreign_sub.id}"),
        ("PATCH", f"/v1/orgs/acme/subscriptions/{foreign_sub.id}"),
        ("DELETE", f"/v1/orgs/acme/subscriptions/{foreign_sub.id}"),
        ("GET", f"/v1/orgs/acme/subscriptions/{foreign_sub.id}/events"),
        ("GET", f"/v1/orgs/acme/mappings/{foreign_map}"),
        ("PATCH", f"/v1/orgs/acme/mappings/{foreign_map}"),
        ("GET", "/v1/orgs/acme/controls/G-1"),
        ("PUT", "/v1/orgs/acme/controls/G-1"),
        ("DELETE", "/v1/orgs/acme/controls/G-1"),
    ]:
        body = {"review": "rejected"} if "mappings" in path else {}
        _problem(env.client.request(method, path, headers=auth, json=body), 404)
    keys = env.client.get("/v1/orgs/acme/api-keys", headers=auth).json()
    assert all(k["name"].startswith("acme") for k in keys)
    globex_key = ApiKeys(engine).list(globex)[0].key_id
    _problem(env.client.delete(f"/v1/orgs/acme/api-keys/{globex_key}", headers=auth), 404)
    listed = env.client.get("/v1/orgs", headers=auth).json()["items"]
    assert [o["slug"] for o in listed] == ["acme"]
    impact = env.client.get("/v1/orgs/acme/impact", headers=auth).json()["items"]
    assert impact and all(line["control_id"] in (None, "ACME-1", "ACME-3") for line in impact)


def test_shared_and_operator_routes(env: Env) -> None:
    for route in SHARED_ROUTES:
        _problem(env.call(route, None), 401)
        for who in ("acme:read", "globex:read", "operator"):
            assert env.call(route, who).status_code == 200, (route, who)
    for route in OPERATOR_ROUTES:
        _problem(env.call(route, None), 401)
        for who in ("acme:admin", "globex:read"):
            _problem(env.call(route, who), 403)
        assert env.call(route, "operator").status_code in (200, 201), route


def test_unknown_routes_methods_and_crashes_are_problems(env: Env) -> None:
    _problem(env.client.get("/v2/nothing"), 404)
    _problem(env.client.delete("/v1/sources", headers=env.world.auth("operator")), 405)
    _problem(env.client.get("/v1/orgs/nobody", headers=env.world.auth("operator")), 404)
    _problem(env.client.get("/v1/sources/none", headers=env.world.auth("acme:read")), 404)
    # an unhandled exception becomes a bare 500 problem, without internals
    env.client.app.state.engine = None  # type: ignore[attr-defined]
    body = _problem(env.client.get("/v1/sources", headers={"Authorization": "Bearer tsk_a_b"}), 500)
    assert "Traceback" not in str(body) and "NoneType" not in str(body)
