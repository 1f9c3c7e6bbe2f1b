"""NIST OSCAL catalogs (raw GitHub) and publication PDFs against a loopback publisher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spiders.nist import oscal_metadata
from tests.support.loopback import World, make_world

pytestmark = pytest.mark.slow  # crawl processes against a loopback publisher

CATALOG = (
    "https://raw.githubusercontent.com/usnistgov/oscal-content/main/nist.gov/SP800-53/rev5/json/catalog.json"
)
PDF = "https://nvlpubs.nist.gov/nistpubs/ai/NIST.AI.600-1.pdf"
OSCAL = {
    "slug": "nist-sp-800-53",
    "title": "NIST SP 800-53",
    "kind": "nist-oscal",
    "repo": "usnistgov/oscal-content",
    "ref": "main",
    "path": "nist.gov/SP800-53/rev5/json/catalog.json",
    "format": "oscal",
}
AI_600_1 = {
    "slug": "nist-ai-600-1",
    "title": "NIST AI 600-1",
    "kind": "nist-pdf",
    "url": PDF,
    "format": "raw",
}


@pytest.fixture
def world(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(db_env, tmp_path, monkeypatch) as w:
        w.sources(OSCAL, AI_600_1)
        yield w


def test_oscal_metadata_from_json_and_xml(fixtures_dir: Path) -> None:
    assert oscal_metadata((fixtures_dir / "oscal" / "catalog.json").read_bytes())[:2] == (
        "1.0",
        "2024-05-01T00:00:00Z",
    )
    assert oscal_metadata((fixtures_dir / "oscal" / "catalog.xml").read_bytes())[0] == "1.0"
    assert oscal_metadata(b"{not json") == ("", "", "")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_oscal_versions_follow_metadata_and_a_broken_catalog_changes_nothing(
    world: World, fixtures_dir: Path
) -> None:
    pub = world.publisher
    v1 = (fixtures_dir / "oscal" / "catalog.json").read_bytes()
    pub.put(CATALOG, v1)
    first = world.crawl("nist-sp-800-53")
    assert (first.outcome, first.new_version) == ("ok", "1.0"), first.message

    truncated = v1[: len(v1) // 2]  # served complete at the HTTP level, but not valid JSON
    pub.put(CATALOG, truncated)
    broken = world.crawl("nist-sp-800-53")
    assert broken.outcome == "failed" and "invalid JSON" in broken.message, broken.message
    assert world.labels("nist-sp-800-53") == ["1.0"]

    catalog = json.loads(v1)
    catalog["catalog"]["metadata"].update({"version": "1.1", "last-modified": "2024-09-01T00:00:00Z"})
    catalog["catalog"]["groups"][0]["controls"][0]["title"] = "Policy, Procedures and Review"
    pub.put(CATALOG, json.dumps(catalog, indent=2).encode())
    second = world.crawl("nist-sp-800-53")
    assert (second.outcome, second.new_version) == ("ok", "1.1"), second.message
    assert world.labels("nist-sp-800-53") == ["1.0", "1.1"]
    assert world.archive.version("nist-sp-800-53", "1.1").published is not None


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_pdf_404_then_html_then_the_pdf(world: World, fixtures_dir: Path) -> None:
    pub = world.publisher
    missing = world.crawl("nist-ai-600-1")
    assert missing.outcome == "failed" and missing.message.startswith(f"HTTP 404 from {PDF}"), missing.message

    pub.put(PDF, b"<!DOCTYPE html><html><body>Moved to the new site</body></html>")
    html = world.crawl("nist-ai-600-1")
    assert html.outcome == "failed" and "expected a PDF" in html.message
    assert world.labels("nist-ai-600-1") == []

    pub.put(PDF, (fixtures_dir / "etsi" / "etsi_ts_104223_V111.pdf").read_bytes())
    ok = world.crawl("nist-ai-600-1")
    assert ok.outcome == "ok" and ok.new_version is not None, ok.message
    version = world.archive.version("nist-ai-600-1", ok.new_version)
    assert version.parser == "raw" and version.artefacts[0].filename == "NIST.AI.600-1.pdf"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_user_agent_names_the_operators_contact(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.crawl("nist-ai-600-1")
    assert world.publisher.agents and all(
        a.startswith("ai-standards-tracker/") and "+https://github.com/" in a for a in world.publisher.agents
    )
    monkeypatch.setenv("TRACKER_CRAWL_CONTACT", "mailto:standards-ops@example.org")
    world.publisher.agents.clear()
    world.crawl("nist-ai-600-1")
    assert world.publisher.agents and all(
        a.startswith("ai-standards-tracker/")
        and a.endswith("(standards change monitor; +mailto:standards-ops@example.org)")
        for a in world.publisher.agents
    )
