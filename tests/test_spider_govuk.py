"""GOV.UK Content API with the HTML page as fallback, against a loopback publisher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.loopback import World, make_world
from tracker.domain.model import Lifecycle

pytestmark = pytest.mark.slow  # crawl processes against a loopback publisher

PAGE = (
    "https://www.gov.uk/government/publications/ai-cyber-security-code-of-practice/"
    "code-of-practice-for-the-cyber-security-of-ai"
)
API = PAGE.replace("www.gov.uk/", "www.gov.uk/api/content/", 1)
SOURCE = {
    "slug": "uk-ai-cyber-code-of-practice",
    "title": "Code of Practice for the Cyber Security of AI",
    "kind": "govuk-content-api",
    "url": PAGE,
    "format": "govuk-content-api",
}
SLUG = SOURCE["slug"]


@pytest.fixture
def world(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(db_env, tmp_path, monkeypatch) as w:
        w.sources(SOURCE)
        yield w


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_api_then_html_fallback_then_failures_then_recovery(world: World, fixtures_dir: Path) -> None:
    pub = world.publisher
    govuk = fixtures_dir / "govuk"
    # The consultation draft is only on the website (the API answers 404): the HTML fallback.
    pub.put(PAGE, (govuk / "draft_2024.html").read_bytes())
    draft = world.crawl(SLUG)
    assert (draft.outcome, draft.new_version) == ("ok", "2024-05-15"), draft.message
    assert "Content API: HTTP 404" in draft.message and "used the HTML page" in draft.message
    version = world.archive.version(SLUG, "2024-05-15")
    assert (version.parser, version.status) == ("govuk-html", Lifecycle.DRAFT)

    # The final Code appears in the Content API: archived as fetched, labelled public_updated_at.
    pub.put(API, (govuk / "content_api_final_2025.json").read_bytes(), ext=".json")
    final = world.crawl(SLUG)
    assert (final.outcome, final.new_version) == ("ok", "2025-01-31"), final.message
    assert world.archive.version(SLUG, "2025-01-31").parser == "govuk-content-api"

    # GOV.UK re-renders the item (links, updated_at) without a new public_updated_at: not news.
    item = json.loads((govuk / "content_api_final_2025.json").read_text())
    item["updated_at"] = "2025-03-01T08:00:00.000+00:00"
    pub.put(API, json.dumps(item).encode(), ext=".json")
    rerendered = world.crawl(SLUG)
    assert rerendered.outcome == "unchanged" and "already archived" in rerendered.message

    # The API times out and the page fails with a 500: a failed run naming both.
    pub.fault(API, "sleep", 3)
    pub.fault(PAGE, "status", 500)
    failed = world.crawl(SLUG)
    assert failed.outcome == "failed", failed.message
    assert "Content API: timed out after 1s" in failed.message and "HTML page: HTTP 500" in failed.message
    assert world.labels(SLUG) == ["2024-05-15", "2025-01-31"]

    pub.clear()
    recovered = world.crawl(SLUG)
    assert recovered.outcome == "unchanged", recovered.message  # a 304: nothing changed meanwhile
    assert [r.outcome for r in world.runs(SLUG)] == ["ok", "ok", "unchanged", "failed", "unchanged"]
