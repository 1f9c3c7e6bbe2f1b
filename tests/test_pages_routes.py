"""The review pages through the ASGI app (httpx TestClient): reading without signing in,
signing in, the actions with and without script, CSRF and scope checks, escaping, the
decisions JSON API and its tenancy."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api_world import SOURCE, World, client_for, parsed, req, seed
from tests.support.pages_world import sign_in
from tracker.diff.service import diff_archived
from tracker.storage.archive import Archive
from tracker.storage.decisions import DecisionStore
from tracker.storage.diffs import DiffStore
from tracker.storage.mappings import MappingStore

REVIEW = "/ui/sources/demo-std/review/v1/v2"


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    return seed(sqlite_engine)


@pytest.fixture
def client(world: World) -> TestClient:
    return client_for(world.engine)


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="change[^"]*" id="change-(\d+)"', html)]


def test_pages_read_only_without_sign_in(client: TestClient) -> None:
    for path in (
        "/ui",
        "/ui/sources/demo-std",
        "/ui/sources/demo-std/timeline",
        "/ui/sources/demo-std/consultation",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
    page = client.get(REVIEW)
    assert page.status_code == 200 and "render;dur=" in page.headers["server-timing"]
    assert len(_ids(page.text)) == 3  # unchanged hidden by default
    assert '<form method="post"' not in page.text and "Your controls" not in page.text
    assert "Operators <del>should</del><ins>shall</ins> log" in page.text.replace("\n", " ")
    assert len(_ids(client.get(REVIEW + "?kind=all").text)) == 4


def test_source_timeline_and_consultation_content(client: TestClient) -> None:
    source = client.get("/ui/sources/demo-std").text
    assert "Review v1 → v2" in source and "Not diffed yet." in source  # v2 -> v3-draft
    timeline = client.get("/ui/sources/demo-std/timeline").text
    assert '<svg role="img" aria-labelledby="dots-title dots-desc"' in timeline
    assert timeline.count('fill="#1b7f3b"') >= 2  # the added segment, and its legend swatch
    consult = client.get("/ui/sources/demo-std/consultation").text
    assert "No draft of this source has a later final version" in consult  # v3-draft is the newest


def test_filters_paging_and_unknown_values(client: TestClient) -> None:
    assert len(_ids(client.get(REVIEW + "?kind=added").text)) == 1
    assert len(_ids(client.get(REVIEW + "?substantive=yes").text)) == 1
    assert len(_ids(client.get(REVIEW + "?tag=withdrawn").text)) == 1
    assert len(_ids(client.get(REVIEW + "?q=WEIGHTS").text)) == 1
    assert len(_ids(client.get(REVIEW + "?status=reviewed").text)) == 0
    page = client.get(REVIEW + "?per=1&page=2")
    assert len(_ids(page.text)) == 1 and "page 2 of 3" in page.text and 'rel="next"' in page.text
    odd = client.get(REVIEW + "?kind=bogus&per=-4&page=x&substantive=maybe")
    assert odd.status_code == 200 and len(_ids(odd.text)) == 1  # per falls back to its floor, 1
    missing = client.get("/ui/sources/demo-std/review/v1/v9")
    assert missing.status_code == 404 and "has no version" in missing.text
    assert client.get("/ui/sources/nope").status_code == 404


def test_sign_in_failures(client: TestClient, world: World) -> None:
    form = client.get("/ui/sign-in").text
    presession = re.search(r'name="presession" value="([^"]+)"', form)
    assert presession is not None
    bad = client.post("/ui/sign-in", data={"api_key": "tsk_nope_nope", "presession": presession.group(1)})
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    client.cookies.clear()
    stale = client.post("/ui/sign-in", data={"api_key": world.keys["acme:write"], "presession": "forged"})
    assert stale.status_code == 403


def test_actions_need_session_csrf_and_write_scope(client: TestClient, world: World) -> None:
    change = _ids(client.get(REVIEW).text)[0]
    anonymous = client.post(f"/ui/changes/{change}/verdict", data={"action": "confirm"})
    assert anonymous.status_code == 401
    csrf = sign_in(client, world.keys["acme:read"])
    page = client.get(REVIEW).text
    assert "Your controls" in page and "Confirm verdict" not in page  # read key: sees, cannot act
    refused = client.post(f"/ui/changes/{change}/verdict", data={"action": "confirm", "csrf": csrf})
    assert refused.status_code == 403 and "scope" in refused.text
    sign_in(client, world.keys["acme:write"])
    forged = client.post(f"/ui/changes/{change}/verdict", data={"action": "confirm", "csrf": "x" * 32})
    assert forged.status_code == 403
    assert DecisionStore(world.engine).find(world.orgs["acme"]) == []


def test_confirm_without_script_redirects_with_notice(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.keys["acme:write"], name="Rita")
    change = _ids(client.get(REVIEW).text)[0]
    response = client.post(
        f"/ui/changes/{change}/verdict",
        data={"action": "confirm", "csrf": csrf, "reason": "checked", "return_to": REVIEW + "?kind=modified"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{REVIEW}?kind=modified#change-{change}"
    page = client.get(response.headers["location"]).text
    live = re.search(r'id="live"[^>]*>([^<]*)<', page)
    assert live is not None and live.group(1).startswith("Verdict confirmed")
    assert "confirmed by your organisation" in page and "Rita" in page and "“checked”" in page
    assert "Verdict confirmed" not in client.get(REVIEW).text  # the notice is shown once
    # the decision is acme's reading: reviewed for acme, still unreviewed for globex and anonymous
    assert _ids(client.get(REVIEW + "?status=reviewed").text) == [change]
    sign_in(client, world.keys["globex:read"])
    assert _ids(client.get(REVIEW + "?status=reviewed").text) == []
    assert change in _ids(client.get(REVIEW + "?status=unreviewed").text)
    client.cookies.clear()
    assert "confirmed by" not in client.get(REVIEW).text
    csrf = sign_in(client, world.keys["acme:write"], name="Rita")
    evil = client.post(
        f"/ui/changes/{change}/verdict",
        data={"action": "confirm", "csrf": csrf, "return_to": "//evil.example/ui"},
        follow_redirects=False,
    )
    assert evil.headers["location"].startswith("/ui#change-")  # no open redirect


def test_a_stale_form_without_script_is_refused_with_a_notice(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.keys["acme:write"], name="Rita")
    page = client.get(REVIEW).text
    change = _ids(page)[0]
    assert 'name="revision" value="0"' in page
    form = {"action": "confirm", "csrf": csrf, "revision": "0", "return_to": REVIEW}
    assert client.post(f"/ui/changes/{change}/verdict", data=form, follow_redirects=False).status_code == 303
    stale = client.post(f"/ui/changes/{change}/verdict", data=form, follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"] == f"{REVIEW}#change-{change}"
    shown = client.get(stale.headers["location"]).text
    live = re.search(r'id="live"[^>]*>([^<]*)<', shown)
    assert live is not None and live.group(1).startswith("Not recorded: change")
    assert "&#39;Rita&#39;" in live.group(1) or "'Rita'" in live.group(1)
    assert len(DecisionStore(world.engine).find(world.orgs["acme"])) == 1


def test_a_stale_mapping_form_gets_the_current_change_back(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.keys["acme:write"], name="Rita")
    change = _ids(client.get(REVIEW).text)[0]
    mapping = MappingStore(world.engine).mappings("acme")[0]
    assert 'name="expected" value="proposed"' in client.get(REVIEW).text
    form = {"csrf": csrf, "change_id": str(change), "expected": "proposed", "return_to": REVIEW}
    url = f"/ui/mappings/{mapping.id}/review"
    assert (
        client.post(url, headers={"X-Fragment": "1"}, data={**form, "state": "accepted"}).status_code == 200
    )
    stale = client.post(url, headers={"X-Fragment": "1"}, data={**form, "state": "rejected"})
    assert stale.status_code == 409
    body = stale.json()
    assert (
        body["detail"].startswith(f"Not recorded: mapping {mapping.id}")
        and "accepted by 'Rita'" in body["detail"]
    )
    assert 'value="accepted" disabled' in body["html"]  # the article as it is now
    assert len(DecisionStore(world.engine).find(world.orgs["acme"])) == 1


def test_correct_and_reject_with_script_return_fragments(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.keys["acme:write"], name="Rita")
    change = _ids(client.get(REVIEW).text)[0]  # R-1, modified, obligation strengthened
    fragment = {"X-Fragment": "1"}
    corrected = client.post(
        f"/ui/changes/{change}/verdict",
        headers=fragment,
        data={
            "action": "correct",
            "csrf": csrf,
            "kind": "modified",
            "substantive": "no",
            "tags": ["title_changed"],
            "reason": "only wording",
            "return_to": REVIEW,
        },
    )
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert body["notice"].startswith("Verdict corrected: modified, editorial, title changed (was modified")
    assert "The stored impact of acme is updated." in body["notice"] and "globex" not in body["notice"]
    assert (body["reviewed"], body["total"]) == (1, 3)
    assert body["html"].startswith("<article") and "Engine's verdict: modified, substantive" in body["html"]
    mapping = MappingStore(world.engine).mappings("acme")[0]
    rejected = client.post(
        f"/ui/mappings/{mapping.id}/review",
        headers=fragment,
        data={
            "state": "rejected",
            "csrf": csrf,
            "change_id": str(change),
            "reason": "wrong",
            "return_to": REVIEW,
        },
    )
    assert rejected.status_code == 200 and rejected.json()["notice"].startswith("Mapping suggestion rejected")
    assert "ACME-1</strong> Access logging" in rejected.json()["html"]
    assert 'value="rejected" disabled' in rejected.json()["html"]
    bad = client.post(
        f"/ui/changes/{change}/verdict",
        headers=fragment,
        data={"action": "correct", "csrf": csrf, "kind": "removed", "return_to": REVIEW},
    )
    assert bad.status_code == 422 and "cannot be removed" in bad.json()["detail"]
    assert (
        client.post(
            "/ui/mappings/999999/review", headers=fragment, data={"state": "accepted", "csrf": csrf}
        ).status_code
        == 404
    )

    decisions = client.get("/v1/orgs/acme/review/decisions", headers=world.auth("acme:read")).json()["items"]
    assert [(d["subject"], d["action"], d["reviewer"]) for d in decisions] == [
        ("verdict", "correct", "Rita"),
        ("mapping", "rejected", "Rita"),
    ]
    assert (
        client.get("/v1/orgs/globex/review/decisions", headers=world.auth("globex:read")).json()["items"]
        == []
    )
    assert client.get("/v1/orgs/acme/review/decisions", headers=world.auth("globex:admin")).status_code == 404
    page = client.get("/ui/decisions").text
    assert "only wording" in page and "wrong" in page


def test_decisions_json_api(client: TestClient, world: World) -> None:
    change = _ids(client.get(REVIEW).text)[0]
    url = f"/v1/orgs/acme/review/changes/{change}/verdict"
    assert client.post(url, json={"action": "confirm"}).status_code == 401
    assert client.post(url, json={"action": "confirm"}, headers=world.auth("acme:read")).status_code == 403
    invalid = client.post(url, json={"action": "correct"}, headers=world.auth("acme:write"))
    assert invalid.status_code == 422 and invalid.headers["content-type"] == "application/problem+json"
    extra = client.post(url, json={"action": "confirm", "bogus": 1}, headers=world.auth("acme:write"))
    assert extra.status_code == 422
    made = client.post(
        url,
        json={
            "action": "correct",
            "kind": "modified",
            "substantive": True,
            "tags": ["scope_changed"],
            "reason": "r",
        },
        headers=world.auth("acme:write"),
    )
    assert made.status_code == 201 and made.json()["after"]["tags"] == ["scope_changed"]
    assert made.json()["reviewer"] == "acme write"  # the key's name when none is given
    one = client.get(f"/v1/orgs/acme/review/decisions/{made.json()['id']}", headers=world.auth("acme:read"))
    assert one.status_code == 200
    assert (
        client.get(
            f"/v1/orgs/globex/review/decisions/{made.json()['id']}", headers=world.auth("globex:read")
        ).status_code
        == 404
    )
    mapping = MappingStore(world.engine).mappings("globex")[0]
    foreign = client.post(
        f"/v1/orgs/acme/review/mappings/{mapping.id}",
        json={"review": "accepted"},
        headers=world.auth("acme:write"),
    )
    assert foreign.status_code == 404
    mine = client.post(
        f"/v1/orgs/globex/review/mappings/{mapping.id}",
        json={"review": "accepted"},
        headers=world.auth("globex:write"),
    )
    assert mine.status_code == 201 and mine.json()["after"]["review"] == "accepted"
    assert "/v1/orgs/{org}/review/decisions" in client.get("/openapi.json").json()["paths"]
    assert not any(p.startswith("/ui") for p in client.get("/openapi.json").json()["paths"])


def test_compute_a_missing_diff(client: TestClient, world: World) -> None:
    csrf = sign_in(client, world.keys["acme:write"])
    target = "/ui/sources/demo-std/review/v2/v3-draft"
    assert "have not been diffed yet" in client.get(target).text
    response = client.post(
        "/ui/sources/demo-std/diffs",
        data={"csrf": csrf, "old": "v2", "new": "v3-draft"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == target
    page = client.get(target).text
    assert "Diffed v2 → v3-draft with the lexical engine" in page and len(_ids(page)) >= 1
    again = client.post("/ui/sources/demo-std/diffs", data={"csrf": csrf, "old": "v2", "new": "v3-draft"})
    assert "was already diffed" in again.text
    assert (
        client.post("/ui/sources/demo-std/diffs", data={"csrf": csrf, "old": "v2", "new": "v9"}).status_code
        == 404
    )


def test_document_text_is_escaped(world: World) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    Archive(world.engine).add_version(
        SOURCE,
        "v4",
        [("v4.md", b"v4")],
        parsed(req("R-1", "Operators must log " + hostile, hostile), req("R-9", hostile, "T")),
        published=date(2025, 9, 1),
    )
    diff_archived(Archive(world.engine), DiffStore(world.engine), "demo-std", "v2", "v4", None)
    client = client_for(world.engine)
    sign_in(client, world.keys["acme:write"])
    page = client.get("/ui/sources/demo-std/review/v2/v4?kind=all").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_static_files(client: TestClient) -> None:
    css = client.get("/ui/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/ui/static/app.css", headers={"if-none-match": css.headers["etag"]}).status_code == 304
    assert client.get("/ui/static/review.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/..%2Fpages%2Fsession.py").status_code == 404
    assert client.get("/ui/static/nothing.css").status_code == 404


def test_a_change_the_operator_decided_renders_as_the_shared_verdict(
    client: TestClient, world: World
) -> None:
    """The operator's decision is stored on the change without an organisation scope; the page
    must still render it (as the shared verdict) rather than fail on the missing scope."""
    from tracker.review.decisions import review_verdict
    from tracker.storage.decisions import Reviewer

    change_id = _ids(client.get(REVIEW).text)[0]
    review_verdict(world.engine, change_id, Reviewer(name="Olive", key_id="op"), action="confirm")
    page = client.get(REVIEW)
    assert page.status_code == 200
    assert "confirmed (shared verdict)" in " ".join(page.text.split())


def test_review_page_groups_guidance_only_and_marks_an_older_engine(world: World, client: TestClient) -> None:
    from tracker.diff import ENGINE_VERSION, Change, DiffResult, Kind, Tag

    guidance = Change(
        kind=Kind.MODIFIED,
        old_ids=("R-1",),
        new_ids=("R-1",),
        substantive=False,
        tags=(Tag.GUIDANCE_ONLY,),
        reasons=("guidance reworded (similarity 0.40)",),
        old_keys=("R-1",),
        new_keys=("R-1",),
    )
    older = DiffResult("demo-std", "v2", "v3-draft", "0.9.0", None, (guidance,))
    DiffStore(world.engine).save(older)
    page = client.get("/ui/sources/demo-std/review/v2/v3-draft").text
    assert "Made by an older engine (0.9.0)" in page and f"running engine is {ENGINE_VERSION}" in page
    assert "Guidance only (what is required did not change)" in page and "tag=guidance_only" in page
    current = client.get(REVIEW).text  # the v1 -> v2 diff was made by the running engine
    assert "Made by an older engine" not in current and "Guidance only (" not in current
    assert "(older engine)" in client.get("/ui/sources/demo-std").text


def test_lineage_suggestions_are_shown_for_confirmation(world: World) -> None:
    from tracker.diff import Change, DiffResult, Kind, Suggestion
    from tracker.diff.types import ENGINE_VERSION

    Archive(world.engine).add_version(
        SOURCE,
        "v5",
        [("v5.md", b"v5")],
        parsed(req("R-50", "Operators must log access")),
        published=date(2025, 10, 1),
    )
    hint = Suggestion(new_id="R-50", score=0.81, reason="meaning 0.62, it has no predecessor", old_id="R-1")
    removed = Change(
        kind=Kind.REMOVED,
        old_ids=("R-1",),
        new_ids=(),
        confidence=0.6,
        reasons=("possible successors suggested for review (below the confidence to link)",),
        suggestions=(hint,),
    )
    stored = DiffStore(world.engine).save(
        DiffResult("demo-std", "v2", "v5", ENGINE_VERSION, None, (removed,))
    )
    client = client_for(world.engine)
    api = client.get(f"/v1/changes?diff_id={stored.id}", headers=world.auth("acme:read")).json()
    assert api["items"][0]["suggestions"] == [
        {"old_id": "R-1", "new_id": "R-50", "score": 0.81, "reason": "meaning 0.62, it has no predecessor"}
    ]
    page = client.get("/ui/sources/demo-std/review/v2/v5?kind=all").text
    assert "Possible successors, to confirm" in page
    assert "R-1 → R-50" in page and "score 0.81: meaning 0.62, it has no predecessor" in page
