"""What each endpoint answers: time travel, filters, pagination, controls and CSV import,
mapping reviews, impact worklists, subscriptions, API keys, and the OpenAPI document."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.schemas.orgs import ImpactLineOut
from tests.support.api_world import World, client_for, seed, store_impacts
from tracker.diff import ENGINE_VERSION
from tracker.storage.decisions import DecisionStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.orgs import OrgStore
from tracker.storage.tables.orgs import ControlRow

PROBLEM = "application/problem+json"


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with client_for(world.engine) as c:
        yield c


def _get(client: TestClient, world: World, path: str, who: str = "acme:read", status: int = 200) -> Any:
    response = client.get(path, headers=world.auth(who))
    assert response.status_code == status, response.text
    return response.json()


def _invalid(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 422 and body["errors"], body
    return list(body["errors"])


def test_time_travel_names_the_version(client: TestClient, world: World) -> None:
    old = _get(client, world, "/v1/sources/demo-std/requirements/R-1?at=2024-12-31")
    assert old["version"]["label"] == "v1" and "should" in old["requirement"]["statement"]
    new = _get(client, world, "/v1/sources/demo-std/requirements/r-01?at=2025-03-01")
    assert new["version"]["label"] == "v2" and new["version"]["status"] == "final"
    assert "shall" in new["requirement"]["statement"]
    # drafts only count when asked for
    assert (
        _get(client, world, "/v1/sources/demo-std/requirements/R-1?at=2025-12-31")["version"]["label"] == "v2"
    )
    draft = _get(client, world, "/v1/sources/demo-std/requirements/R-1?at=2025-12-31&drafts=true")
    assert draft["version"] == draft["version"] | {"label": "v3-draft", "status": "consultation"}
    assert (
        "withdrawn"
        not in _get(client, world, "/v1/sources/demo-std/requirements/R-3?at=2024-02-01")["version"]
    )
    gone = client.get("/v1/sources/demo-std/requirements/R-3?at=2025-06-01", headers=world.auth("acme:read"))
    assert gone.status_code == 404 and "R-3" in gone.json()["detail"]
    before = client.get(
        "/v1/sources/demo-std/requirements/R-1?at=2023-01-01", headers=world.auth("acme:read")
    )
    assert before.status_code == 404
    assert _invalid(
        client.get("/v1/sources/demo-std/requirements/R-1?at=31-12-2024", headers=world.auth("acme:read"))
    )


def test_versions_with_lifecycle_and_pagination(client: TestClient, world: World) -> None:
    versions = _get(client, world, "/v1/sources/demo-std/versions")["items"]
    assert [(v["label"], v["status"]) for v in versions] == [
        ("v1", "superseded"),
        ("v2", "final"),
        ("v3-draft", "consultation"),
    ]
    assert [
        v["label"] for v in _get(client, world, "/v1/sources/demo-std/versions?status=final")["items"]
    ] == ["v2"]
    seen: list[str] = []
    url = "/v1/sources/demo-std/versions/v2/requirements?limit=1"
    while url:
        page = _get(client, world, url)
        assert len(page["items"]) <= 1
        seen += [r["id"] for r in page["items"]]
        url = (
            f"/v1/sources/demo-std/versions/v2/requirements?limit=1&cursor={page['next_cursor']}"
            if page["next_cursor"]
            else ""
        )
    assert seen == ["R-1", "R-2", "R-4"]
    first = _get(client, world, "/v1/sources/demo-std/versions?limit=1")
    errors = _invalid(
        client.get(
            f"/v1/sources/demo-std/versions?limit=1&status=final&cursor={first['next_cursor']}",
            headers=world.auth("acme:read"),
        )
    )
    assert errors[0]["loc"] == ["query", "cursor"]
    for bad in ("limit=0", "limit=501", "limit=x", "cursor=%25%25%25"):
        _invalid(client.get(f"/v1/sources?{bad}", headers=world.auth("acme:read")))


def test_changes_filters(client: TestClient, world: World) -> None:
    def ids(query: str) -> list[str]:
        items = _get(client, world, f"/v1/changes?{query}")["items"]
        return [(c["new_ids"] or c["old_ids"])[0] for c in items]

    assert ids("source=demo-std") == ["R-1", "R-2", "R-3", "R-4"]
    assert ids("kind=added") == ["R-4"]
    assert ids("substantive=true") == ["R-1"]
    assert ids("tag=obligation_strengthened") == ["R-1"]
    assert ids("source=other") == []
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert ids(f"since={tomorrow}") == [] and len(ids(f"until={tomorrow}")) == 4
    change = _get(client, world, "/v1/changes?kind=modified")["items"][0]
    assert change["redline"]["statement"].startswith("Operators [-should-]{+shall+}")
    assert change["engine"] == ENGINE_VERSION and change["older_engine"] is False
    diff = _get(client, world, f"/v1/diffs/{world.diff_id}")
    assert diff["summary"]["added"] == 1 and diff["old_version"] == "v1"
    for bad in ("kind=exploded", "tag=nope", "substantive=maybe", "since=yesterday"):
        _invalid(client.get(f"/v1/changes?{bad}", headers=world.auth("acme:read")))


def test_controls_crud_history_and_csv_import(client: TestClient, world: World, engine: Engine) -> None:
    w = world.auth("acme:write")
    created = client.post(
        "/v1/orgs/acme/controls", headers=w, json={"id": "ACME-9", "title": "New", "tags": ["x"]}
    )
    assert created.status_code == 201 and created.json()["key"] == "ACME-9"
    assert client.post("/v1/orgs/acme/controls", headers=w, json={"id": "acme-09"}).status_code == 409
    updated = client.put(
        "/v1/orgs/acme/controls/ACME-9", headers=w, json={"title": "Renamed", "owner": "sec"}
    )
    assert updated.status_code == 200 and updated.json()["title"] == "Renamed"
    history = _get(client, world, "/v1/orgs/acme/controls/ACME-9/history")
    assert [h["change"] for h in history] == ["created", "updated"]
    assert client.delete("/v1/orgs/acme/controls/ACME-9", headers=w).status_code == 204
    assert client.delete("/v1/orgs/acme/controls/ACME-9", headers=w).status_code == 404
    assert _get(client, world, "/v1/orgs/acme/controls/ACME-9")["active"] is False
    assert "ACME-9" not in [c["id"] for c in _get(client, world, "/v1/orgs/acme/controls")["items"]]
    _invalid(client.post("/v1/orgs/acme/controls", headers=w, json={"id": "  "}))
    _invalid(client.post("/v1/orgs/acme/controls", headers=w, json={"id": "A", "colour": "red"}))

    good = b"id,title,owner,tags\nCSV-1,One,ann,a;b\nCSV-2,Two,,\n"
    report = client.post(
        "/v1/orgs/acme/controls/import", headers=w, files={"file": ("c.csv", good, "text/csv")}
    )
    assert report.status_code == 200 and report.json()["created"] == 2
    assert _get(client, world, "/v1/orgs/acme/controls/CSV-1")["tags"] == ["a", "b"]

    with Session(engine) as session:
        before = session.scalar(select(func.count()).select_from(ControlRow))
    bad = b"id,title\nCSV-3,Three\n,no id\nCSV-3,dupe\nCSV-4,x,extra\n"
    errors = _invalid(client.post("/v1/orgs/acme/controls/import", headers=w, files={"file": ("c.csv", bad)}))
    assert [e["loc"][2] for e in errors] == [3, 4, 5]
    assert "duplicate of row 2" in errors[1]["msg"]
    for data in (b"title\nx\n", b"id,weird\nA,1\n", b"\xff\xfe\x00", b"id\n"):
        _invalid(client.post("/v1/orgs/acme/controls/import", headers=w, files={"file": ("c.csv", data)}))
    with Session(engine) as session:
        assert (
            session.scalar(select(func.count()).select_from(ControlRow)) == before
        )  # nothing partially imported


def test_mapping_review_is_recorded(client: TestClient, world: World) -> None:
    mappings = _get(client, world, "/v1/orgs/acme/mappings?review=proposed")["items"]
    assert [(m["source"], m["target"]) for m in mappings] == [("R-1", "ACME-1")]
    mid = mappings[0]["id"]
    reviewed = client.patch(
        f"/v1/orgs/acme/mappings/{mid}",
        headers=world.auth("acme:write"),
        json={"review": "rejected", "note": "wrong"},
    )
    assert reviewed.status_code == 200, reviewed.text
    body = reviewed.json()
    assert (
        body["review"] == "rejected" and body["provenance"] == "reviewer" and body["reviewer"] == "acme write"
    )
    assert body["reviewed_at"] and body["note"] == "wrong"
    # kept in the decision record, and the stored impact no longer lists the rejected control
    (decision,) = DecisionStore(world.engine).find(world.orgs["acme"], subject="mapping")
    assert (decision.mapping_id, decision.after["review"], decision.reason) == (mid, "rejected", "wrong")
    impact = ImpactStore(world.engine).impact("acme", world.diff_id)
    assert impact is not None
    (r1,) = [i for i in impact.items if "R-1" in i.change.new_ids]
    assert "ACME-1" not in [c.control_id for c in r1.controls]
    _invalid(
        client.patch(
            f"/v1/orgs/acme/mappings/{mid}", headers=world.auth("acme:write"), json={"review": "maybe"}
        )
    )
    made = client.post(
        "/v1/orgs/acme/mappings",
        headers=world.auth("acme:write"),
        json={"source_set": "demo-std@v2", "source": "R-4", "target": "ACME-2", "relationship": "subset"},
    )
    assert made.status_code == 201 and made.json()["review"] == "accepted"
    again = client.post(
        "/v1/orgs/acme/mappings",
        headers=world.auth("acme:write"),
        json={"source_set": "demo-std@v2", "source": "R-4", "target": "ACME-2"},
    )
    assert again.status_code == 409


def test_impact_worklist_since_filters_and_pages(client: TestClient, world: World) -> None:
    lines = _get(client, world, "/v1/orgs/acme/impact?since=2020-01-01")["items"]
    assert {(line["change"]["kind"], line["control_id"], line["action"]) for line in lines} == {
        ("modified", "ACME-1", "reassess"),
        ("removed", "ACME-3", "retire"),
        ("added", None, "gap"),
    }
    assert all(line["source"] == "demo-std" and line["new_version"] == "v2" for line in lines)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert _get(client, world, f"/v1/orgs/acme/impact?since={tomorrow.replace('+00:00', 'Z')}")["items"] == []
    assert [x["control_id"] for x in _get(client, world, "/v1/orgs/acme/impact?action=retire")["items"]] == [
        "ACME-3"
    ]
    assert len(_get(client, world, "/v1/orgs/acme/impact?control=acme-01")["items"]) == 1
    page = _get(client, world, "/v1/orgs/acme/impact?limit=2")
    rest = _get(client, world, f"/v1/orgs/acme/impact?limit=2&cursor={page['next_cursor']}")
    assert [x["id"] for x in page["items"] + rest["items"]] == [x["id"] for x in lines] and rest[
        "next_cursor"
    ] is None
    for line in lines:
        ImpactLineOut.model_validate(line)  # the hot path writes JSON directly: same shape
    stored = _get(client, world, f"/v1/orgs/acme/impacts/{world.diff_id}")
    assert len(stored["result"]["items"]) == 3
    _invalid(client.get("/v1/orgs/acme/impact?action=panic", headers=world.auth("acme:read")))
    _invalid(client.get("/v1/orgs/acme/impact?since=last-tuesday", headers=world.auth("acme:read")))


def test_impact_pages_are_cached_by_generation_with_etags(
    client: TestClient, world: World, engine: Engine
) -> None:
    auth = world.auth("acme:read")
    first = client.get("/v1/orgs/acme/impact", headers=auth)
    etag = first.headers["etag"]
    assert client.get("/v1/orgs/acme/impact", headers=auth | {"if-none-match": etag}).status_code == 304
    assert client.get("/v1/orgs/acme/impact?limit=2", headers=auth).headers["etag"] != etag
    store_impacts(engine, world.diff_id)  # recomputed: new rows, so a new generation
    again = client.get("/v1/orgs/acme/impact", headers=auth | {"if-none-match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert {x["id"] for x in again.json()["items"]}.isdisjoint({x["id"] for x in first.json()["items"]})
    other = client.get("/v1/orgs/globex/impact", headers=world.auth("globex:read"))
    assert {x["control_id"] for x in other.json()["items"]} == {"G-1", None}  # the R-4 gap has no control


def test_subscription_validation_and_secrets(client: TestClient, world: World) -> None:
    w = world.auth("acme:write")
    base = "/v1/orgs/acme/subscriptions"
    bodies: list[dict[str, Any]] = [
        {"channels": []},
        {"channels": ["pigeon"]},
        {"channels": ["email"]},  # no address
        {"channels": ["email"], "email_to": ["not-an-address"]},
        {"channels": ["webhook"]},  # no url
        {"channels": ["webhook"], "webhook_url": "ftp://x"},
        {"cadence": "hourly"},
        {"kinds": ["exploded"]},
        {"sources": ["Bad Slug"]},
        {"unknown": 1},
    ]
    for body in bodies:
        _invalid(client.post(base, headers=w, json=body))
    made = client.post(
        base, headers=w, json={"channels": ["atom", "webhook"], "webhook_url": "https://h.example/x"}
    )
    assert made.status_code == 201
    sub = made.json()
    assert sub["has_webhook_secret"] and sub["secrets"]["webhook_secret"].startswith("whsec_")
    fetched = _get(client, world, f"{base}/{sub['id']}")
    assert "secrets" not in fetched and sub["secrets"]["webhook_secret"] not in str(fetched)
    feed = sub["secrets"]["feed_url"].removeprefix("http://testserver")
    assert client.get(feed).status_code == 200
    rotated = client.post(f"{base}/{sub['id']}/rotate-secrets", headers=w).json()
    assert client.get(feed).status_code == 404
    assert client.get(rotated["feed_url"].removeprefix("http://testserver")).status_code == 200
    patched = client.patch(f"{base}/{sub['id']}", headers=w, json={"cadence": "weekly", "kinds": ["added"]})
    assert patched.status_code == 200 and patched.json()["cadence"] == "weekly"
    _invalid(client.patch(f"{base}/{sub['id']}", headers=w, json={"channels": ["email"]}))
    assert _get(client, world, f"{base}/{sub['id']}")["channels"] == ["atom", "webhook"]  # nothing lost
    assert client.get("/v1/feeds/feed_unknown.atom").status_code == 404


def test_api_keys_shown_once_and_revocable(client: TestClient, world: World) -> None:
    admin = world.auth("acme:admin")
    made = client.post("/v1/orgs/acme/api-keys", headers=admin, json={"scope": "write", "name": "ci"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("tsk_")
    listed = client.get("/v1/orgs/acme/api-keys", headers=admin).json()
    assert token not in str(listed) and any(k["name"] == "ci" for k in listed)
    mine = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/orgs/acme/controls", headers=mine, json={"id": "K-1"}).status_code == 201
    assert client.delete(f"/v1/orgs/acme/api-keys/{made.json()['key_id']}", headers=admin).status_code == 204
    assert client.get("/v1/orgs/acme", headers=mine).status_code == 401
    _invalid(client.post("/v1/orgs/acme/api-keys", headers=admin, json={"scope": "root"}))


def test_openapi_is_complete(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation_ids = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op.get("operationId") and op.get("tags") and op.get("summary"), (method, path)
            operation_ids.add(op["operationId"])
            if path.startswith("/v1/") and not path.startswith("/v1/feeds"):
                assert {"401", "422"} <= set(op["responses"]), (method, path)
                assert PROBLEM in op["responses"]["422"]["content"]
    assert {"getImpact", "getRequirementAt", "listChanges", "createSubscription", "getFeed"} <= operation_ids
    assert "ApiKey" in spec["components"]["securitySchemes"]


def test_crawl_runs_read_only_for_the_operator(client: TestClient, world: World, engine: Engine) -> None:
    from tracker.storage.crawls import RunStore

    runs = RunStore(engine)
    first = runs.start("demo-std", trigger="schedule")
    runs.finish(first, "ok", "fetched 2 files", bytes_fetched=2048, requests=2, new_version="v2")
    runs.start("other")
    page = _get(client, world, "/v1/crawls?limit=1", who="operator")
    assert (
        page["items"][0] | {"outcome": "ok", "new_version": "v2", "bytes_fetched": 2048} == page["items"][0]
    )
    rest = _get(client, world, f"/v1/crawls?limit=1&cursor={page['next_cursor']}", who="operator")
    assert rest["items"][0]["outcome"] == "running" and rest["next_cursor"] is None
    assert [
        r["source"] for r in _get(client, world, "/v1/crawls?outcome=running", who="operator")["items"]
    ] == ["other"]
    assert _get(client, world, f"/v1/crawls/{first}", who="operator")["trigger"] == "schedule"
    assert client.post("/v1/crawls", headers=world.auth("operator")).status_code == 405
    assert client.get(f"/v1/crawls/{first}", headers=world.auth("acme:admin")).status_code == 403


def test_cli_creates_keys_that_the_api_accepts(db_env: Engine) -> None:
    import json

    from click.testing import CliRunner

    from tracker.cli.main import cli

    OrgStore(db_env).create("acme")
    runner = CliRunner()
    made = runner.invoke(cli, ["apikey", "create", "--org", "acme", "--scope", "write", "--format", "json"])
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)["token"]
    operator = runner.invoke(cli, ["apikey", "create", "--scope", "admin", "--format", "json"])
    refused = runner.invoke(cli, ["apikey", "create", "--scope", "read", "--format", "json"])
    assert refused.exit_code != 0  # an org-less key must be the operator's admin key
    with client_for(db_env) as client:
        assert (
            client.post(
                "/v1/orgs/acme/controls", headers={"Authorization": f"Bearer {token}"}, json={"id": "C-1"}
            ).status_code
            == 201
        )
        op = {"Authorization": f"Bearer {json.loads(operator.output)['token']}"}
        assert client.get("/v1/crawls", headers=op).status_code == 200
    listed = runner.invoke(cli, ["apikey", "list", "--org", "acme", "--format", "json"])
    assert token not in listed.output and json.loads(listed.output)[0]["scope"] == "write"
    key_id = json.loads(made.output)["key_id"]
    assert runner.invoke(cli, ["apikey", "revoke", key_id, "--org", "acme"]).exit_code == 0


def test_csv_import_reads_like_the_cli(client: TestClient, world: World) -> None:
    w = world.auth("acme:write")
    limit = csv.field_size_limit()
    bad = b'id,title\nCSV-8,"open\nCSV-9,x\n'
    (error,) = _invalid(
        client.post("/v1/orgs/acme/controls/import", headers=w, files={"file": ("c.csv", bad)})
    )
    assert error["loc"] == ["body", "file", 2] and "never closed" in error["msg"]
    huge = b"id,description\nCSV-8,ok\nCSV-9," + b"y" * (limit + 1) + b"\n"
    (error,) = _invalid(
        client.post("/v1/orgs/acme/controls/import", headers=w, files={"file": ("c.csv", huge)})
    )
    assert error["loc"] == ["body", "file", 3] and f"longer than {limit} characters" in error["msg"]
    good = b"id,family,parent\nCSV-8,Fam,\nCSV-8.1,Fam,CSV-8\n"
    report = client.post("/v1/orgs/acme/controls/import", headers=w, files={"file": ("c.csv", good)})
    assert report.status_code == 200 and report.json()["created"] == 2
    enhancement = _get(client, world, "/v1/orgs/acme/controls/CSV-8.1")
    assert enhancement["family"] == "Fam" and enhancement["parent"] == "CSV-8"
