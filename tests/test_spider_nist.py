"""NIST OSCAL catalogs (raw GitHub) and publication PDFs against a loopback publisher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spiders.nist import oscal_metadata, publisher_version
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


CSF_XML = (
    "https://raw.githubusercontent.com/usnistgov/oscal-content/develop/"
    "src/nist.gov/CSF/v2.0/xml/NIST_CSF_v2.0_catalog.xml"
)
CSF = {
    "slug": "nist-csf",
    "title": "NIST CSF",
    "kind": "nist-oscal",
    "repo": "usnistgov/oscal-content",
    "ref": "develop",
    "path": "src/nist.gov/CSF/v2.0/xml/NIST_CSF_v2.0_catalog.xml",
    "format": "oscal",
}


def test_publisher_version_of_a_cprt_catalog(corpus_dir: Path, fixtures_dir: Path) -> None:
    xml = (corpus_dir / "nist-csf" / "2.0-oscal" / "NIST_CSF_v2.0_catalog.xml").read_bytes()
    assert publisher_version(xml) == "2.0"  # CSF_2_0_0, where metadata.version says 1.0.0
    assert oscal_metadata(xml)[0] == "1.0.0"
    assert publisher_version((fixtures_dir / "oscal" / "catalog.json").read_bytes()) == ""


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_crawled_csf_catalog_meets_the_imported_2_0_as_its_rendition(
    db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus_dir: Path
) -> None:
    from tracker.domain.model import Source, VersionRole
    from tracker.sources.ingest import ingest_files

    with make_world(db_env, tmp_path, monkeypatch) as world:
        world.sources(CSF)
        ingest_files(
            world.archive,
            Source(slug="nist-csf"),
            "2.0",
            [corpus_dir / "nist-csf" / "2.0"],
            max_bytes=1 << 26,
        )
        world.publisher.put(
            CSF_XML, (corpus_dir / "nist-csf" / "2.0-oscal" / "NIST_CSF_v2.0_catalog.xml").read_bytes()
        )
        crawled = world.crawl("nist-csf")
        assert (crawled.outcome, crawled.new_version) == ("ok", "2.0-oscal"), crawled.message
        rendition = world.archive.version("nist-csf", "2.0-oscal")
        assert rendition.role is VersionRole.RENDITION and rendition.rendition_of == "2.0"
        assert rendition.revision == "1.0.0"
        assert str(world.archive.version("nist-csf", "2.0").status) == "final"
        again = world.crawl("nist-csf")
        assert again.outcome == "unchanged", again.message
