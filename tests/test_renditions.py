"""Versions as their publishers write them: editions, renditions (one text in several formats),
companion documents, and partial versions, on the real corpus."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tests.support.api_world import client_for
from tracker.cli.main import cli
from tracker.diff.service import diff_archived
from tracker.domain.model import Lifecycle, ParsedVersion, Requirement, Source, Version, VersionRole
from tracker.sources.ingest import ingest_files
from tracker.sources.renditions import base_label, format_word, partial_reason, place
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.archive import Archive
from tracker.storage.diffs import DiffStore

MAX = 64 * 1024 * 1024


def run(*args: str) -> tuple[int, object, str]:
    result = CliRunner().invoke(cli, [*args], catch_exceptions=False)
    out = result.output
    data = (
        json.loads(out[out.index("[") if out.lstrip().startswith("[") else out.index("{") :])
        if ("--format" in args)
        else None
    )
    return result.exit_code, data, out


def _subset(tmp_path: Path, corpus_dir: Path, *slugs: str) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(corpus_dir / "MANIFEST.json", root / "MANIFEST.json")
    for slug in slugs:
        (root / slug).symlink_to(corpus_dir / slug)
    return root


def test_csf_is_one_version_2_0_with_two_renditions(db_env: Engine, corpus_dir: Path, tmp_path: Path) -> None:
    root = _subset(tmp_path, corpus_dir, "nist-csf", "nist-ai-rmf")
    code, _, out = run("ingest-corpus", str(root), "--lexical-only")
    assert code == 0, out
    assert "rendition of 2.0" in out and "companion" in out
    code, data, _ = run("versions", "nist-csf", "--format", "json")
    assert code == 0 and isinstance(data, list)
    assert [d["version"] for d in data] == ["1.1", "2.0"]
    v2 = data[1]
    assert v2["status"] == "final" and data[0]["status"] == "superseded"
    assert [(r["label"], r["format"]) for r in v2["renditions"]] == [
        ("2.0", "framework-library"),
        ("2.0-oscal", "oscal"),
    ]
    _, _, text = run("versions", "nist-csf")
    assert "framework-library, oscal (2.0-oscal)" in text
    # the AI RMF Playbook accompanies 1.0: it neither supersedes it nor is it a step after it
    _, rmf, _ = run("versions", "nist-ai-rmf", "--format", "json")
    assert isinstance(rmf, list)
    assert [(d["version"], d["role"], d["status"]) for d in rmf] == [
        ("1.0", "edition", "final"),
        ("playbook-json-2026-05", "companion", "final"),
    ]
    # the source pages show the same: one 2.0 row with both formats, the Playbook apart
    client = client_for(db_env)
    page = client.get("/ui/sources/nist-csf").text
    assert page.count('<th scope="row">2.0') == 1 and "2.0-oscal" in page and "oscal" in page
    assert '<th scope="row">2.0-oscal' not in page
    timeline = client.get("/ui/sources/nist-csf/timeline").text
    assert "1.1 → 2.0" in timeline and "2.0 → 2.0-oscal" not in timeline
    assert "Not diffed yet." not in timeline  # the step's row: filled in by ingest-corpus
    rmf_page = client.get("/ui/sources/nist-ai-rmf").text
    assert "Companion documents" in rmf_page and "playbook-json-2026-05" in rmf_page


def test_a_rendition_arriving_first_or_under_the_edition_label_finds_its_edition(
    engine: Engine, corpus_dir: Path, tmp_path: Path
) -> None:
    archive = Archive(engine)
    csf = Source(slug="nist-csf")
    oscal = corpus_dir / "nist-csf" / "2.0-oscal"
    yaml_20 = corpus_dir / "nist-csf" / "2.0"
    first = ingest_files(archive, csf, "2.0-oscal", [oscal], max_bytes=MAX)
    assert first.version.role is VersionRole.EDITION  # nothing to be a rendition of yet
    ingest_files(archive, csf, "2.0", [yaml_20], max_bytes=MAX)
    by_label = {v.label: v for v in archive.versions("nist-csf")}
    assert by_label["2.0-oscal"].role is VersionRole.RENDITION
    assert by_label["2.0-oscal"].rendition_of == "2.0"
    assert by_label["2.0-oscal"].ordinal == by_label["2.0"].ordinal

    # the OSCAL file imported under the edition's own label becomes its rendition too
    other = Source(slug="nist-csf-b")
    ingest_files(archive, other, "2.0", [yaml_20], max_bytes=MAX)
    result = ingest_files(archive, other, "2.0", [oscal], max_bytes=MAX)
    assert result.created and result.version.label == "2.0-oscal"
    assert result.version.role is VersionRole.RENDITION and result.version.rendition_of == "2.0"
    # ... and never supersedes it
    assert archive.version("nist-csf-b", "2.0").status is Lifecycle.FINAL
    # a revised OSCAL file under the same label is a further rendition, not a refusal
    revised = tmp_path / "revised"
    revised.mkdir()
    [catalog] = sorted(oscal.iterdir())
    (revised / catalog.name).write_bytes(catalog.read_bytes().replace(b"</catalog>", b"</catalog>\n"))
    again = ingest_files(archive, other, "2.0", [revised], max_bytes=MAX)
    assert again.created and again.version.label == "2.0-oscal-2"
    assert again.version.role is VersionRole.RENDITION and again.version.rendition_of == "2.0"


def test_placement_rules() -> None:
    yaml = Version(source="s", label="2.0", parser="framework-library")
    oscal = ParsedVersion(parser="oscal", parser_version="1", title="t", requirements=())
    same = ParsedVersion(parser="framework-library", parser_version="1", title="t", requirements=())
    assert place([yaml], "2.0-oscal", oscal).role is VersionRole.RENDITION
    assert place([yaml], "2.0", oscal).label == "2.0-oscal"
    # a revised OSCAL file under the same publisher label: another rendition, not a conflict
    first = Version(source="s", label="2.0-oscal", parser="oscal", role=VersionRole.RENDITION)
    revised = place([yaml, first], "2.0", oscal)
    assert (revised.label, revised.role, revised.rendition_of) == (
        "2.0-oscal-2",
        VersionRole.RENDITION,
        "2.0",
    )
    assert place([yaml], "2.0-oscal", same).role is VersionRole.EDITION  # same format: not a rendition
    assert place([yaml], "2.1", oscal).role is VersionRole.EDITION
    assert base_label("rev5-json") == "rev5" and base_label("2025-release") == "2025-release"
    assert format_word("nist-ai-pdf") == "pdf" and format_word("oscal+oscal") == "oscal"


def _req(key: str) -> Requirement:
    return Requirement(ident=key.upper(), key=key)


def test_partial_by_numbers_needs_a_real_subset() -> None:
    previous = Version(source="s", label="v1")
    keys = {f"r-{i}" for i in range(40)}
    subset = ParsedVersion("p", "1", "t", tuple(_req(f"r-{i}") for i in range(10)))
    assert "10 of the 40 requirements of v1" in partial_reason(subset, previous, keys)
    # one requirement v1 did not hold makes it a (short) new edition, not a part
    new_text = ParsedVersion("p", "1", "t", (*subset.requirements, _req("new-1")))
    assert partial_reason(new_text, previous, keys) == ""
    # a small document that shrinks is an edition: too few requirements to tell
    assert partial_reason(subset, previous, {f"r-{i}" for i in range(12)}) == ""


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_800_53_baselines_only_release_is_partial_and_diffed_over_what_it_holds(
    engine: Engine, corpus_dir: Path
) -> None:
    archive = Archive(engine)
    src = Source(slug="nist-sp-800-53")
    old, new = "rev5-oscal-5.0.1-2021-06", "rev5.1.1-2024-02"
    ingest_files(archive, src, old, [corpus_dir / src.slug / old], max_bytes=MAX, published=date(2021, 6, 8))
    ingest_files(archive, src, new, [corpus_dir / src.slug / new], max_bytes=MAX, published=date(2023, 11, 7))
    held_old = {r.key for r in archive.requirements(src.slug, old)}
    held_new = {r.key for r in archive.requirements(src.slug, new)}
    assert archive.version(src.slug, old).partial == ""
    assert "resolved profile" in archive.version(src.slug, new).partial
    assert len(held_new) < len(held_old) / 2

    stored = diff_archived(archive, DiffStore(engine), src.slug, old, new, None)
    assert stored.result.summary["removed"] == 0
    assert f"{new} is partial" in stored.result.scope
    touched = {k for c in stored.result.changes for k in c.old_ids}
    assert touched and len(touched) <= len(held_new)

    # time travel: a control outside the baselines, asked after the partial release, is read
    # from the last version that holds it, and the answer says so
    outside = next(r for r in archive.requirements(src.slug, old) if r.key not in held_new and r.statement)
    token = ApiKeys(engine).create(Scope.ADMIN)[1]
    client = client_for(engine)
    answer = client.get(
        f"/v1/sources/{src.slug}/requirements/{outside.ident}?at=2025-01-01",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"]["label"] == old and body["requirement"]["id"] == outside.ident
    assert new in body["fallback"] and old in body["fallback"]
    inside = next(iter(held_new - {outside.key}))
    held = client.get(
        f"/v1/sources/{src.slug}/requirements/{inside}?at=2025-01-01",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert held["version"]["label"] == new and held["fallback"] == ""


def test_ingest_corpus_fills_every_timeline(db_env: Engine, corpus_dir: Path, tmp_path: Path) -> None:
    from api.pages.data import source_view

    root = _subset(tmp_path, corpus_dir, "ncsc-caf", "owasp-llm-governance-checklist", "nist-csf")
    result = CliRunner().invoke(cli, ["ingest-corpus", str(root), "--lexical-only"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "diffing ncsc-caf 3.2 -> 4.0" in result.output  # the progress line (stderr, mixed in)
    for slug in ("ncsc-caf", "owasp-llm-governance-checklist", "nist-csf"):
        view = source_view(db_env, slug)
        assert view.steps and all(step.diff is not None for step in view.steps), slug
    # a second run finds nothing left to diff
    again = CliRunner().invoke(cli, ["ingest-corpus", str(root), "--lexical-only"], catch_exceptions=False)
    assert "0 timeline step(s) diffed" in again.output


def test_consultation_view_names_stages_as_the_publisher_did() -> None:
    from api.pages.data import stage_name

    assert stage_name("2025-rc-2024-11-08", "draft") == "release candidate"
    assert stage_name("rev5-fpd-2020-03", "draft") == "final public draft"
    assert stage_name("v0.5-draft", "draft") == "draft"
    assert stage_name("2024-12-01", "draft") == "pre-release"  # status set by hand, no word for it
    assert stage_name("v1.0", "final") == "final"


def test_registry_companions_are_slugs_and_link_both_pages(engine: Engine) -> None:
    from tracker.domain.errors import InvalidInputError
    from tracker.sources.ingest import registry_companions
    from tracker.sources.registry import parse

    entry = {
        "slug": "eu-ai-act-eurlex",
        "title": "AI Act",
        "publisher": "EU",
        "homepage": "https://eur-lex.europa.eu/",
        "kind": "eurlex",
        "url": "https://eur-lex.europa.eu/x",
        "format": "eurlex-html",
        "schedule": "every 6h",
    }
    spec = parse({"source": [{**entry, "companions": ["eu-ai-act"]}]}, "test").get("eu-ai-act-eurlex")
    assert spec.to_source().companions == ("eu-ai-act",)
    for bad in (["Not A Slug"], "eu-ai-act", ["eu-ai-act-eurlex"]):
        with pytest.raises(InvalidInputError, match="companion"):
            parse({"source": [{**entry, "companions": bad}]}, "test")
    # the project's registry names the corpus's EU AI Act packaging, and the link goes both ways
    assert "eu-ai-act-eurlex" in registry_companions()["eu-ai-act"]

    archive = Archive(engine)
    archive.ensure_source(Source(slug="eu-ai-act-eurlex", companions=("eu-ai-act",)))
    archive.ensure_source(Source(slug="eu-ai-act", companions=("eu-ai-act-eurlex", "eu-ai-act-other")))
    assert archive.source("eu-ai-act-eurlex").companions == ("eu-ai-act",)
    client = client_for(engine)
    page = client.get("/ui/sources/eu-ai-act").text
    assert '<a href="/ui/sources/eu-ai-act-eurlex">eu-ai-act-eurlex</a>' in page
    assert "eu-ai-act-other <span" in page and "not archived yet" in page
    back = client.get("/ui/sources/eu-ai-act-eurlex").text
    assert '<a href="/ui/sources/eu-ai-act">eu-ai-act</a>' in back


def test_a_crawl_labels_by_the_edition_the_documents_name() -> None:
    from tracker.crawl.archiving import FetchedVersion, publisher_labelled

    item = FetchedVersion("2024-11-17", (("a.md", b"x"),), "https://x", "owasp-top10-md", document_label=True)
    named = ParsedVersion("owasp-top10-md", "1", "t", (), version_hint="2025")
    labelled = publisher_labelled(item, named)
    assert (labelled.label, labelled.revision, labelled.fallback_label) == (
        "2025",
        "2024-11-17",
        "2025-2024-11-17",
    )
    # no edition in the files (the 2023 lists print "LLM01:"), or a label the publisher gave: kept
    assert publisher_labelled(item, ParsedVersion("owasp-top10-md", "1", "t", ())).label == "2024-11-17"
    tagged = FetchedVersion("v5.0.0", (("a", b"x"),), "https://x", "mitre-atlas")
    assert publisher_labelled(tagged, named).label == "v5.0.0"


def test_the_sweep_adds_diff_jobs_for_editions_only(engine: Engine, corpus_dir: Path) -> None:
    from tracker.jobs.runner import missing_diffs

    archive = Archive(engine)
    csf = Source(slug="nist-csf")
    for label in ("1.1", "2.0", "2.0-oscal"):
        ingest_files(archive, csf, label, [corpus_dir / "nist-csf" / label], max_bytes=MAX)
    assert [j.key for j in missing_diffs(engine)] == ["diff:nist-csf:2.0"]
    diff_archived(archive, DiffStore(engine), "nist-csf", "1.1", "2.0", None)
    assert missing_diffs(engine) == []  # the rendition after 2.0 is no step left undiffed


def test_a_crawl_first_then_the_corpus_import_meet_as_one_version(engine: Engine, corpus_dir: Path) -> None:
    from tracker.crawl.archiving import FetchedVersion, archive_fetched
    from tracker.sources.registry import load

    spec = load().get("nist-csf")
    xml = (corpus_dir / "nist-csf" / "2.0-oscal" / "NIST_CSF_v2.0_catalog.xml").read_bytes()
    archive = Archive(engine)
    crawled = archive_fetched(
        archive,
        spec,
        FetchedVersion("2.0", (("NIST_CSF_v2.0_catalog.xml", xml),), "https://x", "oscal", revision="1.0.0"),
        MAX,
    )
    assert crawled.created and crawled.version.label == "2.0" and crawled.version.revision == "1.0.0"
    src = Source(slug="nist-csf")
    yaml = ingest_files(archive, src, "2.0", [corpus_dir / "nist-csf" / "2.0"], max_bytes=MAX)
    assert yaml.version.label == "2.0-framework-library" and yaml.version.rendition_of == "2.0"
    again = ingest_files(archive, src, "2.0-oscal", [corpus_dir / "nist-csf" / "2.0-oscal"], max_bytes=MAX)
    assert not again.created and again.version.label == "2.0"  # the crawled bytes: one version
    assert [v.label for v in archive.versions("nist-csf") if v.role is VersionRole.EDITION] == ["2.0"]


def test_an_archive_made_before_versions_had_roles_is_placed_on_upgrade(
    db_env: Engine, corpus_dir: Path, tmp_path: Path
) -> None:
    """A database archived by the release before roles holds every version as an edition:
    CSF 2.0 superseded by its own OSCAL file, the AI RMF 1.0 by its Playbook. The migration's
    data step places them as ``ingest-corpus`` places them today."""
    import importlib.util

    from sqlalchemy import text

    from tracker.storage.db import MIGRATIONS

    root = _subset(tmp_path, corpus_dir, "nist-csf", "nist-ai-rmf")
    code, _, out = run("ingest-corpus", str(root), "--no-diff")
    assert code == 0, out
    with db_env.begin() as conn:  # as the older release left them
        conn.execute(text("UPDATE versions SET role = 'edition', rendition_of = ''"))
        conn.execute(text("UPDATE versions SET status = 'superseded' WHERE label IN ('1.0', '1.1', '2.0')"))
    spec = importlib.util.spec_from_file_location(
        "roles_step", MIGRATIONS / "versions" / "0011_version_roles.py"
    )
    assert spec is not None and spec.loader is not None
    step = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(step)
    with db_env.begin() as conn:
        step.place_archived(conn)
    _, csf, _ = run("versions", "nist-csf", "--format", "json")
    assert isinstance(csf, list)
    assert [(d["version"], d["status"]) for d in csf] == [("1.1", "superseded"), ("2.0", "final")]
    assert [r["label"] for r in csf[1]["renditions"]] == ["2.0", "2.0-oscal"]
    _, rmf, _ = run("versions", "nist-ai-rmf", "--format", "json")
    assert isinstance(rmf, list)
    assert [(d["version"], d["role"], d["status"]) for d in rmf] == [
        ("1.0", "edition", "final"),
        ("playbook-json-2026-05", "companion", "final"),
    ]
