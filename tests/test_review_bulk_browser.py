"""Bulk review in real headless Chromium against the app on loopback: on the OWASP Top 10
for LLM 2023 v1.1 -> 2025 review page, filtered to the moved requirements, confirm all shown in
one action, see every change confirmed with the bulk action in its history, then undo it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.pages_world import CorpusWorld
from tests.test_pages_browser import base_url, page, shot, world  # noqa: F401  (fixtures)
from tracker.review.readings import reading_of
from tracker.storage.batches import BatchStore
from tracker.storage.decisions import DecisionStore
from tracker.storage.orgs import OrgStore

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_confirm_all_shown_then_undo(page: Any, world: CorpusWorld) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"/ui/sign-in?next={world.review_path}")
    page.get_by_label("API key").fill(world.keys["acme:write"])
    page.get_by_role("button", name="Sign in").click()
    page.goto(world.review_path + "?kind=moved")
    articles = page.locator("article.change")
    count = articles.count()
    assert count >= 2
    ids = [int(str(articles.nth(i).get_attribute("id")).removeprefix("change-")) for i in range(count)]
    expect(page.locator("article.change .verdict .review-none")).to_have_count(count)

    page.get_by_label("Note for every decision (optional)").fill("moves checked against the 2025 index")
    page.get_by_role("button", name=f"Confirm all {count} shown").click()
    expect(page.locator("#live")).to_contain_text(f"Confirmed {count} verdicts in bulk action")
    assert page.url.split("#")[0].endswith(world.review_path + "?kind=moved")  # same filtered page
    expect(page.locator("article.change", has_text="confirmed by your organisation")).to_have_count(count)
    notice = page.get_by_role("region", name="Last bulk action")
    expect(notice).to_contain_text(f"{count} verdicts (moved)")
    notice.scroll_into_view_if_needed()
    shot(page, "20-bulk-confirmed", full=False)
    history = articles.first.locator("details.history")
    history.locator("summary").click()
    expect(history).to_contain_text("bulk action")
    expect(history).to_contain_text("filter: moved")
    shot(page, "21-bulk-in-history", full=False)

    acme = OrgStore(world.engine).get("acme").id
    decisions = DecisionStore(world.engine).find(acme)
    assert sorted(d.change_id for d in decisions if d.change_id) == sorted(ids)
    (batch_id,) = {d.batch_id for d in decisions}
    assert batch_id is not None and {d.reason for d in decisions} == {"moves checked against the 2025 index"}

    notice.get_by_role("button", name=re.compile("^Undo")).click()
    expect(page.locator("#live")).to_contain_text(f"Undid bulk action {batch_id}: {count} changes back")
    expect(page.locator("article.change .verdict .review-none")).to_have_count(count)
    expect(page.get_by_role("region", name="Last bulk action")).to_have_count(0)
    shot(page, "22-bulk-undone", full=False)
    batch = BatchStore(world.engine).get(batch_id, acme)
    assert batch is not None and batch.undone_at is not None
    assert all(reading_of(world.engine, cid, acme)["review"]["status"] == "unreviewed" for cid in ids)
