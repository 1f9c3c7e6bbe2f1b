"""A reviewer's walk through a real diff in real headless Chromium (Debian's, driven by
Playwright; no browser download) against the app served by uvicorn on loopback.

OWASP Top 10 for LLM 2023 v1.1 -> 2025 release from the corpus, diffed by the lexical engine:
read the pages signed out, sign in, move with the keyboard, confirm one verdict (from the
keyboard), correct another, reject a mapping suggestion, diff a consultation draft against
its final; then check the stored decisions, the corrected change, both organisations'
stored impacts and what the API serves. Screenshots of every page go to
``artefacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from tests.support.pages_world import NEW, OLD, OWASP, RC, CorpusWorld, build_world
from tracker.review.decisions import review_verdict
from tracker.review.readings import reading_of
from tracker.settings import Settings
from tracker.storage.decisions import DecisionStore, Reviewer
from tracker.storage.impacts import ImpactStore
from tracker.storage.orgs import OrgStore
from tracker.storage.tables.archive import ChangeRow

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent.parent / "artefacts" / "screenshots"


@pytest.fixture
def world(sqlite_engine: Engine, corpus_dir: Path) -> CorpusWorld:
    return build_world(sqlite_engine, corpus_dir)


@pytest.fixture
def base_url(world: CorpusWorld) -> Iterator[str]:
    """The real app under a real uvicorn on a free loopback port, in a thread."""
    app = create_app(
        Settings(public_url="http://127.0.0.1", session_secret="browser-test"), engine=world.engine
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(params=[True], ids=["script"])
def page(request: pytest.FixtureRequest, base_url: str) -> Iterator[Any]:
    """A Chromium tab on the live server; ``request.param`` says whether script runs."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing; `.ci/run` installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} missing")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, base_url=base_url, java_script_enabled=request.param
        )
        tab = context.new_page()
        errors: list[str] = []
        tab.expected_errors = []  # type: ignore[attr-defined]  # console errors a test provokes (substrings)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()
        expected: list[str] = tab.expected_errors  # type: ignore[attr-defined]
        unexpected = [e for e in errors if not any(x in e for x in expected)]
        assert unexpected == [], unexpected  # no script error, no CSP violation, no failed request


def shot(page: Any, name: str, *, full: bool = True) -> None:
    """Short pages whole; review pages (very tall) as the viewport the reviewer sees."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _controls(engine: Engine, org: str, diff_id: int, ident: str) -> tuple[list[str], list[str]]:
    result = ImpactStore(engine).impact(org, diff_id)
    assert result is not None
    item = next(i for i in result.items if i.change.old_ids == (ident,))
    return [c.control_id for c in item.controls], [t.value for t in item.change.tags]


def test_reviewer_walks_through_owasp_llm_2023_to_2025(page: Any, world: CorpusWorld, base_url: str) -> None:
    from playwright.sync_api import expect

    engine = world.engine
    assert _controls(engine, "acme", world.diff_id, "LLM01") == (
        ["AI-01", "AI-04"],
        ["scope_changed"],
    )

    # -- signed out: read-only pages, reachable from the keyboard ----------------------------
    page.goto("/ui")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    shot(page, "01-sources")
    page.get_by_role("link", name=re.compile("OWASP Top 10 for Large Language")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("OWASP Top 10")
    shot(page, "02-source-versions")
    page.get_by_role("link", name="Timeline").click()
    expect(page.locator("svg[role=img]")).to_have_count(2)
    shot(page, "03-timeline-before")
    page.goto(world.review_path)
    expect(page.locator("article.change")).to_have_count(14)
    assert page.locator("form[method=post][data-enhance]").count() == 0  # read-only
    shot(page, "04-review-signed-out", full=False)

    # -- sign in ------------------------------------------------------------------------------
    page.get_by_role("banner").get_by_role("link", name="Sign in").click()
    page.get_by_label("API key").fill(world.keys["acme:write"])
    page.get_by_label("Your name").fill("Rita Reviewer")
    shot(page, "05-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live")).to_contain_text("Signed in as Rita Reviewer")
    assert page.url.endswith(world.review_path)
    llm01 = page.locator("article.change", has=page.locator("h2", has_text=re.compile(r"\bLLM01\b")))
    expect(llm01.locator("aside ul.controls")).to_contain_text("AI-04")
    shot(page, "06-review-signed-in", full=False)

    # -- keyboard navigation: j, k, n with visible focus ------------------------------------
    ids = page.eval_on_selector_all("article.change", "els => els.map(e => e.id)")
    page.locator("h1").click()
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == ids[0]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.id") == ids[1]
    # the shortcuts can be switched off (WCAG 2.1.4), and the choice survives a reload
    page.get_by_label("Single-key shortcuts").uncheck()
    expect(page.locator("#live")).to_contain_text("Single-key shortcuts off")
    page.locator("h1").click()
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.closest('article.change') === null")  # j did nothing
    page.reload()
    expect(page.get_by_label("Single-key shortcuts")).not_to_be_checked()
    page.get_by_label("Single-key shortcuts").check()
    page.locator("h1").click()
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == ids[0]

    # -- confirm a verdict, from the keyboard: LLM05 moved to LLM03 (supply chain) ------------
    moved = page.locator("article.change", has=page.locator("h2", has_text="LLM05 → LLM03"))
    note = moved.get_by_label("Note (optional)")
    note.focus()
    note.fill("Supply chain moved to LLM03: verdict right")
    note.press("Enter")
    expect(page.locator("#live")).to_contain_text("Verdict confirmed: moved, substantive")
    expect(moved).to_contain_text("confirmed by your organisation")
    expect(page.locator("label[for=progress]")).to_have_text("Reviewed 1 of 14 changed requirements")
    page.keyboard.press("n")  # from the confirmed change, on to the next unreviewed one
    focused = page.evaluate("document.activeElement.id")
    assert focused != moved.get_attribute("id")
    assert page.evaluate("document.activeElement.dataset.reviewed") == "false"
    shot(page, "07-verdict-confirmed", full=False)

    # -- correct a verdict: LLM01's "scope changed" is the engine reading reshuffled words -----
    summary = llm01.locator("summary", has_text="Correct the verdict")
    summary.focus()
    page.keyboard.press("Enter")
    llm01.get_by_label("scope changed").focus()
    page.keyboard.press("Space")  # keyboard only: untick, type, submit
    assert not llm01.get_by_label("scope changed").is_checked()
    llm01.get_by_label("Why (required)").focus()
    page.keyboard.type("Scope words moved around; who and what it applies to did not change")
    save = llm01.get_by_role("button", name=re.compile("^Save correction"))
    save.focus()
    shot(page, "08-correct-form", full=False)
    page.keyboard.press("Enter")
    expect(page.locator("#live")).to_contain_text("Verdict corrected: modified, substantive")
    expect(llm01).to_contain_text("Engine's verdict: modified, substantive, scope changed")

    # -- reject a mapping suggestion: LLM01 -> AI-04 (weights access control) ---------------
    suggestion = llm01.locator("li.mapping", has_text="AI-04")
    suggestion.get_by_label(re.compile("^Why")).fill("Prompt injection is not about weight access")
    suggestion.get_by_role("button", name=re.compile("^Reject")).click()
    expect(page.locator("#live")).to_contain_text("Mapping suggestion rejected")
    expect(llm01.locator("aside ul.controls")).not_to_contain_text("AI-04")
    expect(llm01.locator("li.mapping", has_text="AI-04")).to_contain_text("rejected")
    shot(page, "09-after-decisions", full=False)
    llm01.screenshot(path=str(SHOTS / "09-after-decisions-llm01.png"))

    # -- consultation: diff the 2025 release candidate against the release --------------------
    page.goto(f"/ui/sources/{OWASP}/consultation")
    shot(page, "10-consultations")
    page.get_by_role("button", name=f"Diff {RC} → {NEW} now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Consultation: release candidate {RC} → final {NEW}"
    )
    expect(page.locator("#live")).to_contain_text("with the lexical engine")
    shot(page, "11-consultation-review", full=False)
    page.goto(f"/ui/sources/{OWASP}/timeline")
    expect(page.locator("table.data")).to_contain_text(f"{RC} → {NEW}")
    shot(page, "12-timeline-after")
    page.get_by_role("link", name="Decisions").click()
    expect(page.locator("table.data tbody tr")).to_have_count(3)
    shot(page, "13-decisions")

    # -- what was stored ---------------------------------------------------------------------
    decisions = DecisionStore(engine).find(OrgStore(engine).get("acme").id)
    assert [(d.subject, d.action) for d in decisions] == [
        ("verdict", "confirm"),
        ("verdict", "correct"),
        ("mapping", "rejected"),
    ]
    assert {d.reviewer for d in decisions} == {"Rita Reviewer"}
    assert decisions[1].reason == "Scope words moved around; who and what it applies to did not change"
    assert decisions[2].mapping_id == world.mapping_ids[("LLM01", "AI-04")]
    assert all(d.created_at.timestamp() > time.time() - 600 for d in decisions)
    with Session(engine) as session:
        rows = session.scalars(select(ChangeRow).where(ChangeRow.diff_id == world.diff_id)).all()
        corrected = next(r for r in rows if r.old_ids == ["LLM01"])
        confirmed = next(r for r in rows if r.old_ids == ["LLM05"])
    # acme's reviewer decided for acme: the shared change and globex's worklist are untouched
    assert corrected.tags == ["scope_changed"] and "review" not in (corrected.data or {})
    acme_id = OrgStore(engine).get("acme").id
    mine = reading_of(engine, corrected.id, acme_id)
    assert mine["tags"] == [] and mine["review"]["status"] == "corrected"
    assert mine["review"]["original"]["tags"] == ["scope_changed"]
    confirmed_reading = reading_of(engine, confirmed.id, acme_id)
    assert confirmed_reading["review"]["status"] == "confirmed" and confirmed_reading["confidence"] == 1.0
    assert _controls(engine, "acme", world.diff_id, "LLM01") == (["AI-01"], [])
    assert _controls(engine, "globex", world.diff_id, "LLM01") == (["AI-01", "AI-04"], ["scope_changed"])

    # -- and what the API serves, from the same running server --------------------------------
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {world.keys['acme:read']}"}
    ) as api:
        changes = api.get("/v1/changes", params={"diff_id": world.diff_id, "limit": 100}).json()["items"]
        served = next(c for c in changes if c["old_ids"] == ["LLM01"])
        assert served["tags"] == ["scope_changed"]  # the shared verdict
        reading = api.get(f"/v1/orgs/acme/review/changes/{served['id']}").json()
        assert (reading["tags"], reading["confidence"], reading["review"]["scope"]) == (
            [],
            1.0,
            "organisation",
        )
        lines = api.get("/v1/orgs/acme/impact", params={"diff_id": world.diff_id, "limit": 100}).json()[
            "items"
        ]
        assert {ln["control_id"] for ln in lines if ln["change"]["old_ids"] == ["LLM01"]} == {"AI-01"}
        assert "AI-04" in {ln["control_id"] for ln in lines if ln["change"]["old_ids"] == ["LLM10"]}
        mine = api.get("/v1/orgs/acme/review/decisions").json()["items"]
        assert [d["action"] for d in mine] == ["confirm", "correct", "rejected"]
    assert OLD in world.review_path


@pytest.mark.parametrize("page", [False], ids=["no-script"], indirect=True)
def test_decisions_work_without_script(page: Any, world: CorpusWorld) -> None:
    """Forms post and redirect back to the same filtered page and change, with the notice."""
    from playwright.sync_api import expect

    page.goto(f"/ui/sign-in?next={world.review_path}")
    page.get_by_label("API key").fill(world.keys["acme:write"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(world.review_path + "?kind=moved")
    expect(page.locator("article.change")).to_have_count(3)
    first = page.locator("article.change").first
    first.get_by_label("Note (optional)").fill("fine")
    first.get_by_role("button", name=re.compile("^Confirm verdict")).click()
    expect(page.locator("#live")).to_contain_text("Verdict confirmed: moved")
    assert page.url.split("#")[0].endswith(world.review_path + "?kind=moved")
    expect(page.locator("article.change").first).to_contain_text("confirmed by your organisation")
    shot(page, "14-no-script-confirmed", full=False)
    (decision,) = DecisionStore(world.engine).find(OrgStore(world.engine).get("acme").id)
    assert (decision.action, decision.reason, decision.reviewer) == ("confirm", "fine", "acme write key")


def test_a_stale_decision_is_refused_and_the_current_verdict_shown(page: Any, world: CorpusWorld) -> None:
    """Another reviewer decides while this one has the page open: the page's decision is not
    recorded, the article is replaced by the current verdict, and deciding again works."""
    from playwright.sync_api import expect

    page.expected_errors.append("409")  # the refused fetch is logged by Chromium
    page.goto(f"/ui/sign-in?next={world.review_path}")
    page.get_by_label("API key").fill(world.keys["acme:write"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(world.review_path + "?kind=moved")
    first = page.locator("article.change").first
    change_id = int(str(first.get_attribute("id")).removeprefix("change-"))
    acme = OrgStore(world.engine).get("acme")
    review_verdict(
        world.engine,
        change_id,
        Reviewer(name="Olga", key_id="other", org="acme", org_id=acme.id),
        action="confirm",
        reason="looked first",
    )

    first.get_by_role("button", name=re.compile("^Confirm verdict")).click()
    expect(page.locator("#live")).to_contain_text("Not recorded")
    expect(page.locator("#live")).to_contain_text("'Olga'")
    fresh = page.locator(f"#change-{change_id}")
    expect(fresh).to_contain_text("confirmed by your organisation")
    expect(fresh.locator("input[name=revision]").first).to_have_value("1")
    shot(page, "15-stale-decision-refused", full=False)
    decisions = DecisionStore(world.engine).find(acme.id)
    assert [d.reviewer for d in decisions] == ["Olga"]

    fresh.get_by_role("button", name=re.compile("^Confirm verdict")).click()
    expect(page.locator("#live")).to_contain_text("Verdict confirmed")
    assert [d.reviewer for d in DecisionStore(world.engine).find(acme.id)] == ["Olga", "acme write key"]
