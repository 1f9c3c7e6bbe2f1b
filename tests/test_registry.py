"""The source registry: the shipped data/sources.toml and validation errors."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracker.cli.main import cli
from tracker.domain.errors import InvalidInputError
from tracker.sources import registry
from tracker.sources.formats import parsers

BASE: dict[str, Any] = {
    "slug": "x-source",
    "title": "X",
    "publisher": "P",
    "homepage": "https://example.org/",
    "kind": "nist-pdf",
    "url": "https://example.org/x.pdf",
    "format": "raw",
    "schedule": "every 6h",
}


def parse(**changes: Any) -> registry.Registry:
    entry = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    return registry.parse({"source": [entry]}, "test.toml")


def test_shipped_registry_covers_the_tracked_documents() -> None:
    reg = registry.load()
    by_slug = {s.slug: s for s in reg.sources}
    assert set(by_slug) == {
        "uk-ai-cyber-code-of-practice", "uk-ai-cyber-code-implementation-guide", "ncsc-secure-ai-guidelines",
        "etsi-ts-104-223", "etsi-en-304-223", "nist-sp-800-53", "nist-csf", "nist-ai-100-1", "nist-ai-600-1",
        "mitre-atlas", "owasp-top10-llm", "eu-ai-act-eurlex",
    }  # fmt: skip
    assert {s.kind for s in reg.sources} == set(registry.KINDS)
    known = {p.name for p in parsers()} | {"raw", "auto"}
    assert all(s.format in known for s in reg.sources), [
        s.format for s in reg.sources if s.format not in known
    ]
    assert all(s.entry_url.startswith("https://") for s in reg.sources)
    assert (
        by_slug["mitre-atlas"].entry_url
        == "https://api.github.com/repos/mitre-atlas/atlas-data/tags?per_page=100"
    )
    assert by_slug["uk-ai-cyber-code-of-practice"].entry_url.startswith(
        "https://www.gov.uk/api/content/government/publications/ai-cyber-security-code-of-practice/"
    )
    assert by_slug["mitre-atlas"].schedule.interval == timedelta(hours=6)
    assert by_slug["etsi-ts-104-223"].schedule.cron == "32 5 * * *"


def test_registry_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[[source]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in BASE.items()))
    monkeypatch.setenv("TRACKER_REGISTRY", str(path))
    assert registry.load().slugs == ("x-source",)
    assert registry.load().get("x-source").to_source().kind == "nist-pdf"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "ftp-site"}, "unknown kind 'ftp-site'"),
        ({"kind": "github-release-file", "url": None}, "needs 'repo'"),
        ({"kind": "github-release-file", "repo": "no-slash", "path": "x"}, "is not 'owner/name'"),
        ({"slug": "Bad Slug"}, "bad slug"),
        ({"title": ""}, "missing or empty 'title'"),
        ({"schedule": "61 * * * *"}, "bad cron expression"),
        ({"schedule": "every week"}, "neither a five-field cron"),
        ({"schedule": "every 0h"}, "interval must be positive"),
        ({"url": "ftp://example.org/x.pdf"}, "is not an http(s) URL"),
        ({"kind": "generic"}, "exactly one of 'select'"),
        ({"kind": "generic", "select": "main", "json_path": "a"}, "exactly one of 'select'"),
        ({"kind": "etsi-deliver-folder", "url": "https://www.etsi.org/deliver/x"}, "ends with '/'"),
        ({"backfill": 0}, "backfill must be a positive int"),
        ({"colour": "blue"}, "unknown field(s) ['colour']"),
    ],
)
def test_validation_names_the_entry_and_the_problem(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse(**changes)
    assert message in str(err.value) and "test.toml: source #1" in str(err.value)


def test_duplicate_slugs_and_broken_toml_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="appears twice"):
        registry.parse({"source": [BASE, BASE]}, "dup.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[source]\nslug = 1\n")
    with pytest.raises(InvalidInputError, match="not valid TOML"):
        registry.load(bad)
    with pytest.raises(InvalidInputError, match="registry not found"):
        registry.load(tmp_path / "missing.toml")
    with pytest.raises(InvalidInputError, match=r"no \[\[source\]\] entries"):
        registry.parse({}, "empty.toml")


def test_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(Exception, match="registered sources: x-source"):
        parse().get("nope")


def test_registry_command_json() -> None:
    result = CliRunner().invoke(cli, ["registry", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {d["slug"] for d in data} >= {"mitre-atlas", "etsi-ts-104-223"}
    assert all({"kind", "format", "schedule", "url"} <= set(d) for d in data)
