"""GitHub tags + raw file (MITRE ATLAS) and a Markdown folder (OWASP Top 10) on loopback."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.loopback import (
    FAST,
    World,
    github_commit,
    github_contents,
    github_tags,
    make_world,
    wait_for,
)
from tracker.crawl.launcher import crawl_command

pytestmark = pytest.mark.slow  # crawl processes against a loopback publisher

REPO = "mitre-atlas/atlas-data"
TAGS = f"https://api.github.com/repos/{REPO}/tags?per_page=100"
ATLAS = {
    "slug": "mitre-atlas",
    "title": "MITRE ATLAS",
    "kind": "github-release-file",
    "repo": REPO,
    "path": "dist/ATLAS.yaml",
    "format": "mitre-atlas",
    "backfill": 1,
}
OWASP_REPO = "OWASP/www-project-top-10-for-large-language-model-applications"
OWASP = {
    "slug": "owasp-top10-llm",
    "title": "OWASP Top 10 for LLM Applications",
    "kind": "github-folder",
    "repo": OWASP_REPO,
    "ref": "main",
    "path": "2_0_vulns",
    "glob": "LLM*.md",
    "format": "owasp-top10-md",
}
COMMITS = f"https://api.github.com/repos/{OWASP_REPO}/commits?path=2_0_vulns&sha=main&per_page=1"


def raw(tag: str) -> str:
    return f"https://raw.githubusercontent.com/{REPO}/{tag}/dist/ATLAS.yaml"


@pytest.fixture
def world(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(db_env, tmp_path, monkeypatch) as w:
        w.sources(ATLAS, OWASP)
        yield w


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_new_tags_are_archived_once_and_a_truncated_download_is_retried_next_run(
    world: World, fixtures_dir: Path
) -> None:
    pub = world.publisher
    v3, v5 = (fixtures_dir / "atlas" / f"ATLAS-{n}-layout.yaml" for n in ("v3", "v5"))
    pub.put(raw("v4.8.0"), b"tactics: []\n")  # an old tag: a first crawl takes only the newest (backfill 1)
    pub.put(raw("v4.9.0"), v3.read_bytes())
    pub.put(TAGS, github_tags(REPO, ["v4.8.0", "v4.9.0"]))

    first = world.crawl("mitre-atlas")
    assert (first.outcome, first.new_version) == ("ok", "v4.9.0"), first.message
    assert pub.hits(raw("v4.8.0")) == 0

    pub.put(raw("v4.10.0"), v5.read_bytes())  # numeric order: v4.10.0 is newer than v4.9.0
    pub.put(TAGS, github_tags(REPO, ["v4.8.0", "v4.9.0", "v4.10.0"]))
    pub.fault(raw("v4.10.0"), "truncate")
    failed = world.crawl("mitre-atlas")
    assert failed.outcome == "failed" and "truncated body" in failed.message, failed.message
    assert world.labels("mitre-atlas") == ["v4.9.0"]

    pub.clear()
    recovered = world.crawl("mitre-atlas")
    assert (recovered.outcome, recovered.new_version) == ("ok", "v4.10.0"), recovered.message
    unchanged = world.crawl("mitre-atlas")
    assert unchanged.outcome == "unchanged"
    assert world.labels("mitre-atlas") == ["v4.9.0", "v4.10.0"]
    assert pub.hits(raw("v4.10.0")) == 1 + 2  # once to archive, twice truncated (first try + one retry)
    assert world.archive.version("mitre-atlas", "v4.10.0").requirement_count > 0


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_folder_is_one_version_and_a_redirect_loop_fails_cleanly(world: World, fixtures_dir: Path) -> None:
    pub = world.publisher
    files = {p.name: p.read_bytes() for p in sorted((fixtures_dir / "owasp_top10" / "2025").glob("LLM*.md"))}

    def publish(sha: str, date: str, content: dict[str, bytes]) -> str:
        pub.put(COMMITS, github_commit(sha, date))
        contents = f"https://api.github.com/repos/{OWASP_REPO}/contents/2_0_vulns?ref={sha}"
        pub.put(contents, github_contents(OWASP_REPO, sha, "2_0_vulns", content))
        for name, data in content.items():
            pub.put(f"https://raw.githubusercontent.com/{OWASP_REPO}/{sha}/2_0_vulns/{name}", data)
        return contents

    publish("a" * 40, "2024-11-17T10:00:00Z", files)
    first = world.crawl("owasp-top10-llm")
    # labelled with the edition the entries name ("LLM01:2025"), the commit date kept as revision
    assert (first.outcome, first.new_version) == ("ok", "2025"), first.message
    version = world.archive.version("owasp-top10-llm", "2025")
    assert sorted(a.filename for a in version.artefacts) == sorted(files)
    assert version.revision == "2024-11-17"

    edited = {
        **files,
        "LLM01_PromptInjection.md": files["LLM01_PromptInjection.md"] + b"\nA maintenance edit.\n",
    }
    contents = publish("b" * 40, "2025-11-10T09:00:00Z", edited)
    pub.fault(contents, "redirect-loop")
    failed = world.crawl("owasp-top10-llm")
    assert failed.outcome == "failed" and "redirect loop" in failed.message, failed.message
    assert world.labels("owasp-top10-llm") == ["2025"]

    pub.clear()
    recovered = world.crawl("owasp-top10-llm")
    assert (recovered.outcome, recovered.new_version) == ("ok", "2025-2025-11-10"), recovered.message


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_crawl_killed_mid_download_leaves_no_partial_version_and_the_next_takes_over(
    world: World, fixtures_dir: Path
) -> None:
    pub = world.publisher
    pub.put(raw("v5.0.0"), (fixtures_dir / "atlas" / "ATLAS-v5-layout.yaml").read_bytes())
    pub.put(TAGS, github_tags(REPO, ["v5.0.0"]))
    pub.fault(raw("v5.0.0"), "stall", 30)  # half the body, then nothing for 30 s

    slow = subprocess.Popen(
        crawl_command("mitre-atlas", registry=world.registry, overrides={**FAST, "DOWNLOAD_TIMEOUT": "60"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: pub.hits(raw("v5.0.0")) == 1), "the crawl never reached the file"
        busy = world.crawl("mitre-atlas")  # a second crawl of the same source must not start
        assert busy.outcome == "skipped" and f":{slow.pid} since" in busy.message
        slow.send_signal(signal.SIGKILL)
        slow.wait(timeout=10)
    finally:
        if slow.poll() is None:
            slow.kill()
        slow.communicate()

    assert world.labels("mitre-atlas") == []
    assert [r.outcome for r in world.runs("mitre-atlas")] == ["running"]  # left behind by the dead process

    pub.clear()
    recovered = world.crawl("mitre-atlas")  # takes over the dead process's lock
    assert (recovered.outcome, recovered.new_version) == ("ok", "v5.0.0"), recovered.message
    runs = world.runs("mitre-atlas")
    assert [r.outcome for r in runs] == ["failed", "ok"]
    assert "abandoned" in runs[0].message and str(slow.pid) in runs[0].message
