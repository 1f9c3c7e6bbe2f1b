"""Source slugs and version labels follow one rule at every entry point (CLI ingest, crawl
archiving, the API), so whatever is archived can be reached again through the API's paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tests.support.api_world import client_for, seed
from tests.test_spider_core import SPEC, fetched
from tracker.cli.main import cli
from tracker.crawl.archiving import archive_fetched
from tracker.domain.errors import InvalidInputError
from tracker.domain.inputs import check_label, check_slug
from tracker.storage.archive import Archive

BAD_SLUGS = ["../../etc", "NIST-CSF", "<b>x</b>", "a/b", "", "-lead", "a b", "x" * 200]
BAD_LABELS = ["v1/2", "v1?x", "v1#frag", "../up", ".hidden", "a b", "v1%2F", "<i>v1</i>", "", "x" * 200]


@pytest.mark.parametrize("slug", BAD_SLUGS)
def test_bad_slugs(slug: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_slug(slug)
    assert "slug" in str(caught.value)


@pytest.mark.parametrize("label", BAD_LABELS)
def test_bad_labels(label: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_label(label)
    assert "label" in str(caught.value)


@pytest.mark.parametrize("slug", ["nist-sp-800-53", "owasp-top10-llm", "eu.ai_act", "a"])
@pytest.mark.parametrize(
    "label", ["rev5", "v4.9.1", "2023-v0.1-draft", "rev5.1-2020-12-errata", "5.1.1+b2", "Rev5"]
)
def test_good_names(slug: str, label: str) -> None:
    check_slug(slug)
    check_label(label)


def _ingest(fixtures_dir: Path, *names: str) -> tuple[int, str]:
    target = str(fixtures_dir / "oscal" / "catalog.json")
    result = CliRunner().invoke(cli, ["ingest", target, *names])
    return result.exit_code, result.output + str(result.exception or "")


@pytest.mark.parametrize(
    ("slug", "label"),
    [("../../etc", "v1"), ("UPPER", "v1"), ("<script>", "v1"), ("ok", "v1/x"), ("ok", "v1?x")],
)
def test_cli_ingest_refuses_and_stores_nothing(
    db_env: Engine, fixtures_dir: Path, slug: str, label: str
) -> None:
    code, output = _ingest(fixtures_dir, "--source", slug, "--version", label)
    assert code != 0
    assert "slug" in output or "label" in output
    assert Archive(db_env).sources() == []


def test_crawl_archiving_refuses_a_label_the_api_could_not_reach(engine: Engine, fixtures_dir: Path) -> None:
    archive = Archive(engine)
    with pytest.raises(InvalidInputError) as caught:
        archive_fetched(archive, SPEC, fetched(fixtures_dir, "v3", "v4.9.0/../x"), 10**8)
    assert "label" in str(caught.value)
    assert archive.sources() == []


def test_api_refuses_bad_slugs(engine: Engine) -> None:
    world = seed(engine)
    with client_for(engine) as client:
        for slug in ("UPPER", "a%20b", "%3Cb%3E"):
            response = client.put(f"/v1/sources/{slug}", headers=world.auth("operator"), json={"slug": slug})
            assert response.status_code == 422, response.text


def test_help_lists_exit_codes_and_the_commands_without_json() -> None:
    """The --help epilog names every exit status and exactly the commands lacking --format."""
    import click

    from tracker.cli.main import EPILOG, cli
    from tracker.domain.errors import ExitCode

    for name, code in vars(ExitCode).items():
        if not name.startswith("_"):
            assert f"\n  {code} " in EPILOG, name
    lacking: list[str] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for sub, child in cmd.commands.items():
                walk(child, [*path, sub])
        elif not any(p.name == "fmt" for p in cmd.params):
            lacking.append(" ".join(path))

    walk(cli, [])
    named = " ".join(EPILOG.split("--format json:", 1)[1].split())
    assert lacking and all(command in named for command in lacking), lacking
    listed = named.split("; ", 1)[1].split(" do not", 1)[0].replace(" and ", ", ").split(", ")
    assert sorted(listed) == sorted(lacking)  # and no command named that does take --format
