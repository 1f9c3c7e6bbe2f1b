"""The Twisted-free half of crawling: archiving fetched bytes, run records, validators, launcher, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tests.support.loopback import make_world
from tracker import pipeline
from tracker.cli.main import cli
from tracker.crawl.archiving import FetchedVersion, archive_fetched, choose_label, parse_as, version_key
from tracker.crawl.launcher import run_crawl
from tracker.domain.errors import ParseError, TrackerError
from tracker.sources.registry import Schedule, SourceSpec
from tracker.storage.archive import Archive
from tracker.storage.crawls import RunStore, Validator, ValidatorStore

SPEC = SourceSpec(
    slug="atlas",
    title="ATLAS",
    publisher="MITRE",
    homepage="https://atlas.mitre.org/",
    kind="github-release-file",
    format="mitre-atlas",
    schedule=Schedule(cron="0 6 * * *"),
    repo="mitre-atlas/atlas-data",
    path="dist/ATLAS.yaml",
)


def fetched(fixtures: Path, layout: str, label: str, **kw: Any) -> FetchedVersion:
    data = (fixtures / "atlas" / f"ATLAS-{layout}-layout.yaml").read_bytes()
    return FetchedVersion(
        label=label, files=(("ATLAS.yaml", data),), url="https://x/ATLAS.yaml", format="mitre-atlas", **kw
    )


def test_new_bytes_are_archived_once_and_announced(
    engine: Engine, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    monkeypatch.setattr(pipeline, "announce", lambda archive, source, version: seen.append(version.label))
    archive = Archive(engine)
    first = archive_fetched(archive, SPEC, fetched(fixtures_dir, "v3", "v4.9.0"), 10**8)
    assert first.created and first.version.parser == "mitre-atlas"
    again = archive_fetched(
        archive, SPEC, fetched(fixtures_dir, "v3", "v4.9.1"), 10**8
    )  # same bytes, new tag
    assert not again.created and again.version.label == "v4.9.0"
    assert seen == ["v4.9.0"]

    def broken(*_: Any) -> None:
        raise RuntimeError("diff engine down")

    monkeypatch.setattr(pipeline, "announce", broken)
    failed_hook = archive_fetched(archive, SPEC, fetched(fixtures_dir, "v5", "v5.0.0"), 10**8)
    assert failed_hook.created and "diff engine down" in failed_hook.hook_error
    assert [v.label for v in archive.versions("atlas")] == ["v4.9.0", "v5.0.0"]


def test_labels_taken_by_other_bytes(engine: Engine, fixtures_dir: Path) -> None:
    archive = Archive(engine)
    archive_fetched(archive, SPEC, fetched(fixtures_dir, "v3", "2025-01-31"), 10**8)
    item = fetched(fixtures_dir, "v5", "2025-01-31", numbered=True)
    assert choose_label(archive, "atlas", item) == "2025-01-31-2"
    hinted = fetched(fixtures_dir, "v5", "2025-01-31", fallback_label="2025-01-31-abc1234")
    assert choose_label(archive, "atlas", hinted) == "2025-01-31-abc1234"
    with pytest.raises(TrackerError, match="already archived with different content"):
        archive_fetched(archive, SPEC, fetched(fixtures_dir, "v5", "2025-01-31"), 10**8)


def test_parse_as_insists_on_the_registry_format(fixtures_dir: Path) -> None:
    pdf = (fixtures_dir / "etsi" / "etsi_ts_104223_V111.pdf").read_bytes()
    assert parse_as([("a.pdf", pdf)], "etsi-pdf", "x", 10**8, "t").parser == "etsi-pdf"
    with pytest.raises(ParseError, match="expected etsi-pdf but got an HTML page"):
        parse_as(
            [("a.pdf", b"<!DOCTYPE html><html><body>error</body></html>")], "etsi-pdf", "src V1", 10**8, "t"
        )
    with pytest.raises(TrackerError, match="unknown format 'nope'"):
        parse_as([("a.pdf", pdf)], "nope", "x", 10**8, "t")
    # a generic page with numbered headings: detection would take it for a GOV.UK code of
    # practice; the registry's html-outline is what it is read as
    page = (fixtures_dir / "outline" / "guide-v1.html").read_bytes()
    assert parse_as([("index.html", page)], "auto", "x", 10**8, "t").parser == "govuk-html"
    outline = parse_as([("index.html", page)], "html-outline", "x", 10**8, "t")
    assert outline.parser == "html-outline" and outline.requirements[1].ident == "1"
    raw = parse_as([("a.html", b"<p>anything</p>")], "raw", "x", 10**8, "Title")
    assert (raw.parser, raw.requirements, raw.title) == ("raw", (), "Title")
    with pytest.raises(ParseError, match="over the 10-byte limit"):
        parse_as([("a.html", b"<p>anything</p>")], "raw", "x", 10, "t")


def test_version_key_orders_tags_numerically() -> None:
    tags = ["v5.10.0", "v4.9.1", "v5.9.0", "v5.0.0"]
    assert sorted(tags, key=version_key) == ["v4.9.1", "v5.0.0", "v5.9.0", "v5.10.0"]


def test_run_and_validator_stores(engine: Engine) -> None:
    runs = RunStore(engine)
    a = runs.start("src", "schedule")
    b = runs.start("src")
    runs.finish(a, "ok", "archived v1", bytes_fetched=10, requests=2, new_version="v1")
    assert runs.fail_running("src", "abandoned") == 1
    listed = runs.history("src")
    assert [(r.id, r.outcome) for r in listed] == [(b, "failed"), (a, "ok")]
    assert listed[1].to_dict()["new_version"] == "v1" and listed[1].to_dict()["seconds"] >= 0
    with pytest.raises(ValueError):
        runs.finish(a, "running", "")

    store = ValidatorStore(engine)
    store.put([Validator("https://x/a", etag='"1"', sha256="s1")])
    store.put([Validator("https://x/a", etag='"2"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")])
    assert store.get("https://x/a") == Validator("https://x/a", '"2"', "Mon, 01 Jan 2024 00:00:00 GMT", None)
    assert store.get("https://x/b") is None


def test_launcher_reports_unknown_sources_and_unreachable_databases(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_MIRROR_URL", "http://127.0.0.1:9")  # should anything be fetched: nowhere
    unknown = run_crawl(sqlite_engine, "nope", registry=Path("data/sources.toml"))
    assert unknown.outcome == "error" and "no source 'nope'" in unknown.message
    monkeypatch.setenv("TRACKER_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    crashed = run_crawl(sqlite_engine, "mitre-atlas")
    assert crashed.outcome == "error" and crashed.message.startswith("database error: OperationalError")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_crawl_and_runs_commands(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with make_world(db_env, tmp_path, monkeypatch) as world:
        url = "https://nvlpubs.nist.gov/nistpubs/ai/NIST.AI.100-1.pdf"
        world.sources(
            {"slug": "ai-100-1", "title": "AI 100-1", "kind": "nist-pdf", "url": url, "format": "raw"}
        )
        world.publisher.put(url, b"%PDF-1.4\n% a tiny stand-in\n")
        runner = CliRunner()
        crawled = runner.invoke(
            cli, ["crawl", "ai-100-1", "--registry", str(world.registry), "--format", "json"]
        )
        assert crawled.exit_code == 0, crawled.output
        result = json.loads(crawled.output)["results"][0]
        assert result["outcome"] == "ok" and result["bytes_fetched"] > 20
        history = json.loads(runner.invoke(cli, ["runs", "--source", "ai-100-1", "--format", "json"]).output)
        assert [(r["outcome"], r["trigger"]) for r in history] == [("ok", "manual")]
        bad = runner.invoke(cli, ["crawl", "--registry", str(world.registry)])
        assert bad.exit_code != 0 and "name the sources to crawl, or pass --all" in str(bad.exception)
