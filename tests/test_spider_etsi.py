"""ETSI deliver folders against a loopback publisher, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.loopback import World, etsi_folder, etsi_listing, make_world

pytestmark = pytest.mark.slow  # crawl processes against a loopback publisher

FOLDER = "/deliver/etsi_ts/104200_104299/104223/"
LISTING = f"https://www.etsi.org{FOLDER}"
SOURCE = {
    "slug": "etsi-ts-104-223",
    "title": "ETSI TS 104 223",
    "kind": "etsi-deliver-folder",
    "url": LISTING,
    "format": "etsi-pdf",
}


@pytest.fixture
def world(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(db_env, tmp_path, monkeypatch) as w:
        w.sources(SOURCE)
        yield w


def publish_version(world: World, fixtures: Path, folder: str, pdf_fixture: str) -> str:
    pdf_name = f"ts_104223v{folder[:8].replace('.', '')}p.pdf"
    data = (fixtures / "etsi" / pdf_fixture).read_bytes()
    world.publisher.put(f"{LISTING}{folder}/", etsi_folder(f"{FOLDER}{folder}/", pdf_name, len(data)))
    world.publisher.put(f"{LISTING}{folder}/{pdf_name}", data)
    return f"{LISTING}{folder}/{pdf_name}"


def test_versions_are_discovered_once_and_failures_leave_the_archive_intact(
    world: World, fixtures_dir: Path
) -> None:
    pub = world.publisher
    publish_version(world, fixtures_dir, "01.01.01_60", "etsi_ts_104223_V111.pdf")
    pub.put(LISTING, etsi_listing(FOLDER, ["01.01.01_60"]))

    first = world.crawl("etsi-ts-104-223")
    assert (first.outcome, first.new_version) == ("ok", "V1.1.1"), first.message
    version = world.archive.version("etsi-ts-104-223", "V1.1.1")
    assert version.parser == "etsi-pdf" and version.requirement_count > 5

    again = world.crawl("etsi-ts-104-223")  # the listing answers 304: nothing else is fetched
    assert again.outcome == "unchanged" and "not modified" in again.message
    assert pub.hits(f"{LISTING}01.01.01_60/") == 1

    # V1.2.1 appears, but its PDF link serves an HTML error page
    pdf_url = publish_version(world, fixtures_dir, "01.02.01_60", "etsi_ts_104223_V121.pdf")
    pub.put(LISTING, etsi_listing(FOLDER, ["01.01.01_60", "01.02.01_60"]))
    pub.fault(pdf_url, "html")
    failed = world.crawl("etsi-ts-104-223")
    assert failed.outcome == "failed"
    assert "expected a PDF" in failed.message and "HTML page" in failed.message
    assert world.labels("etsi-ts-104-223") == ["V1.1.1"]

    pub.clear()  # the next run recovers: the listing was not remembered, so it is read again
    recovered = world.crawl("etsi-ts-104-223")
    assert (recovered.outcome, recovered.new_version) == ("ok", "V1.2.1"), recovered.message
    assert world.labels("etsi-ts-104-223") == ["V1.1.1", "V1.2.1"]
    assert pub.hits(f"{LISTING}01.01.01_60/") == 1  # archived folders are never reopened

    runs = world.runs("etsi-ts-104-223")
    assert [r.outcome for r in runs] == ["ok", "unchanged", "failed", "ok"]
    assert all(r.ended_at is not None and r.bytes_fetched > 0 for r in runs)
    assert runs[1].bytes_fetched < 100  # robots.txt and a 304
