"""Mirror mode: URL rewriting, the loopback server's conditional GET, and the mirror builder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.support.loopback import write_registry
from tracker.cli.main import cli
from tracker.crawl.mirror import rewrite
from tracker.demo.mirror import MirrorServer, locate, store_path
from tracker.demo.mirror_build import build_mirror, default_samples
from tracker.domain.errors import InvalidInputError
from tracker.sources import registry as registry_mod


def test_rewrite() -> None:
    m = "http://127.0.0.1:8765"
    assert rewrite("https://www.etsi.org/deliver/x/", m) == f"{m}/www.etsi.org/deliver/x/"
    assert rewrite("https://api.github.com/repos/o/r/tags?per_page=100", m + "/") == (
        f"{m}/api.github.com/repos/o/r/tags?per_page=100"
    )
    assert rewrite("https://WWW.GOV.UK", m) == f"{m}/www.gov.uk/"
    assert rewrite(f"{m}/www.gov.uk/x", m) == f"{m}/www.gov.uk/x"
    assert rewrite("https://www.gov.uk/x", "") == "https://www.gov.uk/x"


@pytest.mark.parametrize(
    ("url", "ext", "expected"),
    [
        (
            "https://raw.githubusercontent.com/o/r/v1/dist/ATLAS.yaml",
            ".html",
            "raw.githubusercontent.com/o/r/v1/dist/ATLAS.yaml",
        ),
        (
            "https://www.etsi.org/deliver/etsi_ts/x/01.01.01_60/",
            ".html",
            "www.etsi.org/deliver/etsi_ts/x/01.01.01_60/index.html",
        ),
        ("https://www.gov.uk/api/content/a/b", ".json", "www.gov.uk/api/content/a/b/index.json"),
        (
            "https://api.github.com/repos/o/r/tags?per_page=100",
            ".json",
            "api.github.com/repos/o/r/tags/index@per_page=100.json",
        ),
        (
            "https://eur-lex.europa.eu/TXT/HTML/?uri=CELEX:32024R1689",
            ".html",
            "eur-lex.europa.eu/TXT/HTML/index@uri=CELEX%3A32024R1689.html",
        ),
    ],
)
def test_store_path_and_locate_agree(tmp_path: Path, url: str, ext: str, expected: str) -> None:
    path = store_path(tmp_path, url, ext)
    assert path == tmp_path / expected
    path.parent.mkdir(parents=True)
    path.write_text("x")
    mirrored = httpx.URL(rewrite(url, "http://127.0.0.1:1"))
    assert locate(tmp_path, mirrored.path, mirrored.query.decode()) == path


def test_locate_refuses_escapes(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    (tmp_path / "www.gov.uk").mkdir()
    assert locate(tmp_path / "www.gov.uk", "/../secret", "") is None
    assert locate(tmp_path, "/www.gov.uk/%2e%2e/secret", "") is None
    assert locate(tmp_path, "/", "") is None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[MirrorServer, httpx.Client]]:
    path = store_path(tmp_path, "https://www.etsi.org/deliver/a.pdf")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"%PDF-1.4 sample")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    with MirrorServer(tmp_path) as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        yield server, client


def test_server_conditional_get(served: tuple[MirrorServer, httpx.Client]) -> None:
    server, client = served
    first = client.get("/www.etsi.org/deliver/a.pdf")
    assert first.status_code == 200 and first.content == b"%PDF-1.4 sample"
    assert first.headers["content-type"] == "application/pdf"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert modified == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert client.get("/www.etsi.org/deliver/a.pdf", headers={"If-None-Match": etag}).status_code == 304
    assert (
        client.get("/www.etsi.org/deliver/a.pdf", headers={"If-Modified-Since": modified}).status_code == 304
    )
    stale = client.get(
        "/www.etsi.org/deliver/a.pdf", headers={"If-None-Match": '"other"', "If-Modified-Since": modified}
    )
    assert stale.status_code == 200  # If-None-Match decides when both are sent
    assert client.head("/www.etsi.org/deliver/a.pdf").content == b""
    assert client.get("/www.etsi.org/deliver/missing.pdf").status_code == 404
    assert client.get("/robots.txt").text.startswith("User-agent: *")
    stats = server.stats.snapshot()
    assert (
        stats["requests"] == 7
        and stats["not_modified"] == 2
        and stats["bytes_sent"] > 2 * len(b"%PDF-1.4 sample")
    )


# -- builder ---------------------------------------------------------------------------------
ATLAS = {
    "slug": "mitre-atlas",
    "title": "ATLAS",
    "kind": "github-release-file",
    "repo": "mitre-atlas/atlas-data",
    "path": "dist/ATLAS.yaml",
    "format": "mitre-atlas",
}
OWASP = {
    "slug": "owasp",
    "title": "OWASP",
    "kind": "github-folder",
    "repo": "OWASP/top10",
    "path": "2_0_vulns",
    "format": "owasp-top10-md",
}


def fake_corpus(root: Path) -> Path:
    """A corpus in the shared corpus's layout: <source>/<version>/<file> and a MANIFEST.json."""
    files = []
    for order, tag in enumerate(["v5.4.0", "v5.5.0", "v5.6.0"], start=1):
        (root / "mitre-atlas" / tag).mkdir(parents=True)
        (root / "mitre-atlas" / tag / "ATLAS.yaml").write_text(f"version: {tag}\n")
        files.append(
            {
                "file": f"mitre-atlas/{tag}/ATLAS.yaml",
                "source_slug": "mitre-atlas",
                "version": tag,
                "repository": "mitre-atlas/atlas-data",
                "commit": f"{order:040x}",
                "path_in_repo": "dist/ATLAS.yaml",
                "commit_date": f"2026-0{order}-01",
            }
        )
    for name in ("LLM01.md", "LLM02.md"):
        (root / "owasp" / "2025").mkdir(parents=True, exist_ok=True)
        (root / "owasp" / "2025" / name).write_text(f"# {name}\n")
        files.append(
            {
                "file": f"owasp/2025/{name}",
                "source_slug": "owasp",
                "version": "2025",
                "repository": "OWASP/top10",
                "commit": "c" * 40,
                "path_in_repo": f"2_0_vulns/{name}",
                "commit_date": "2024-11-17",
            }
        )
    sources = [
        {
            "source_slug": "mitre-atlas",
            "versions": [
                {"version": t, "order": i} for i, t in enumerate(["v5.4.0", "v5.5.0", "v5.6.0"], start=1)
            ],
        }
    ]
    (root / "MANIFEST.json").write_text(json.dumps({"sources": sources, "files": files}))
    return root


def test_build_reveals_versions_up_to_a_label_then_more(tmp_path: Path) -> None:
    reg = registry_mod.load(write_registry(tmp_path / "sources.toml", [ATLAS, OWASP]))
    corpus = fake_corpus(tmp_path / "corpus")
    out = tmp_path / "mirror"
    report = build_mirror(out, reg, corpus, samples=None, upto={"mitre-atlas": "v5.5.0"})
    assert report.revealed == {"mitre-atlas": ["v5.4.0", "v5.5.0"], "owasp": ["2025"]}
    tags_file = store_path(out, reg.get("mitre-atlas").entry_url, ".json")
    assert [t["name"] for t in json.loads(tags_file.read_text())] == ["v5.5.0", "v5.4.0"]
    raw = out / "raw.githubusercontent.com/mitre-atlas/atlas-data/v5.5.0/dist/ATLAS.yaml"
    assert raw.read_text() == "version: v5.5.0\n"
    commits = json.loads(store_path(out, reg.get("owasp").entry_url, ".json").read_text())
    assert commits[0]["sha"] == "c" * 40 and commits[0]["commit"]["committer"]["date"].startswith(
        "2024-11-17"
    )
    listing = json.loads(
        store_path(
            out, f"https://api.github.com/repos/OWASP/top10/contents/2_0_vulns?ref={'c' * 40}", ".json"
        ).read_text()
    )
    assert [e["name"] for e in listing] == ["LLM01.md", "LLM02.md"]

    os.utime(raw, (1_000_000, 1_000_000))
    again = build_mirror(out, reg, corpus, samples=None)  # reveal v5.6.0; v5.5.0's file is left alone
    assert (
        again.revealed["mitre-atlas"][-1] == "v5.6.0" and again.written == 2
    )  # the new file + the tags list
    assert raw.stat().st_mtime == 1_000_000
    with pytest.raises(InvalidInputError, match="no corpus version 'v9'"):
        build_mirror(out, reg, corpus, upto={"mitre-atlas": "v9"})


def test_samples_and_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "mirror"
    result = CliRunner().invoke(cli, ["mirror", "build", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["written"] >= 10
    listing = out / "www.etsi.org/deliver/etsi_ts/104200_104299/104223/index.html"
    assert b"01.01.01_60" in listing.read_bytes()
    assert not (out / "make_samples.py").exists()
    assert all((out / p.relative_to(default_samples())).is_file() for p in default_samples().rglob("*.pdf"))


def test_build_from_the_shared_corpus(corpus_dir: Path, tmp_path: Path) -> None:
    report = build_mirror(
        tmp_path / "m", registry_mod.load(), corpus_dir, samples=None, upto={"mitre-atlas": "v5.5.0"}
    )
    assert report.revealed["mitre-atlas"][-1] == "v5.5.0" and len(report.revealed["mitre-atlas"]) == 21
    assert {"nist-sp-800-53", "nist-csf", "owasp-top10-llm"} <= set(report.revealed)
