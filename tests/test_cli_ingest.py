"""`tracker ingest` / `ingest-corpus` / `sources` / `versions` / `show` through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.cli.main import cli
from tracker.storage.tables.archive import VersionRow


def run(*args: str) -> tuple[int, object]:
    """Run in-process; JSON output parsed when ``--format json`` was asked for."""
    result = CliRunner().invoke(cli, [*args], catch_exceptions=False)
    wants_json = "--format" in args and result.output.strip().startswith(("{", "["))
    return result.exit_code, json.loads(result.output) if wants_json else None


def invoke(*args: str) -> tuple[int, str, str]:
    """Run through tracker.cli.main.main so errors are rendered as users see them."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "from tracker.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_ingest_show_versions(db_env: Engine, corpus_dir: Path) -> None:
    folder = corpus_dir / "owasp-top10-llm" / "2025-release"
    code, data = run(
        "ingest", str(folder), "--source", "owasp-top10-llm", "--version", "2025", "--format", "json"
    )
    assert code == 0 and isinstance(data, dict)
    assert data["created"] is True and data["requirements"] == 10
    code, again = run(
        "ingest", str(folder), "--source", "owasp-top10-llm", "--version", "2025", "--format", "json"
    )
    assert isinstance(again, dict) and again["created"] is False
    _, shown = run("show", "owasp-top10-llm", "2025", "--format", "json")
    assert isinstance(shown, dict)
    assert [r["id"] for r in shown["requirements"]][:2] == ["LLM01", "LLM02"]
    _, one = run("show", "owasp-top10-llm", "2025", "llm07", "--format", "json")
    assert isinstance(one, dict) and one["title"] == "System Prompt Leakage"
    _, versions = run("versions", "owasp-top10-llm", "--format", "json")
    assert isinstance(versions, list) and versions[0]["requirements"] == 10
    assert len(versions[0]["artefacts"]) == 11  # ten entries and the preface, all archived


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


BAD_INPUTS = {
    "truncated.json": (b'{"catalog": {"uuid": "x", "metadata": {"title": "T"', "truncated.json"),
    "invalid.yaml": (b"catalog:\n  metadata: [unclosed\n  groups: {\n", "invalid.yaml"),
    "unknown.bin": (b"\x00\x01\x02 this is no standard at all \xff\xfe", "not a recognised standards format"),
    "scan.pdf": (None, "no text layer"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_clear_error_nothing_stored(
    name: str, db_env: Engine, tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, expected = BAD_INPUTS[name]
    if data is None:
        scans = list((fixtures_dir / "etsi").glob("*no-text*.pdf")) + list(
            (fixtures_dir / "etsi").glob("*scan*.pdf")
        )
        assert scans, "the ETSI fixtures include a PDF without a text layer"
        target = _write(tmp_path / "in" / name, scans[0].read_bytes())
    else:
        target = _write(tmp_path / "in" / name, data)
    code, _, err = invoke("ingest", str(target), "--source", "bad", "--version", "v1")
    assert code != 0
    assert expected in err and name in err and "hint:" in err
    with Session(db_env) as session:
        assert session.scalar(select(func.count()).select_from(VersionRow)) == 0


def test_too_large_and_empty_folder(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = _write(tmp_path / "big" / "huge.json", b'{"catalog": {}}' + b" " * 5000)
    monkeypatch.setenv("TRACKER_MAX_DOCUMENT_BYTES", "1000")
    code, _, err = invoke("ingest", str(big), "--source", "bad", "--version", "v1")
    assert code != 0 and "larger than the 1000-byte limit" in err and "TRACKER_MAX_DOCUMENT_BYTES" in err
    (tmp_path / "empty").mkdir()
    code, _, err = invoke("ingest", str(tmp_path / "empty"), "--source", "bad", "--version", "v1")
    assert code != 0 and "no documents found" in err


def test_json_errors_are_json(db_env: Engine, tmp_path: Path) -> None:
    target = _write(tmp_path / "x.bin", b"\x00\x01 nothing")
    code, out, _ = invoke("ingest", str(target), "--source", "bad", "--version", "v1", "--format", "json")
    assert code != 0
    payload = json.loads(out)
    assert payload["error"] == "UnknownFormatError" and payload["hint"]


def test_corpus_folder_with_a_bad_file_stores_nothing_of_that_version(
    db_env: Engine, tmp_path: Path, corpus_dir: Path
) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(
        corpus_dir / "owasp-ml-security-top10" / "v0.1-draft", root / "owasp-ml-security-top10" / "v0.1-draft"
    )
    _write(root / "owasp-ml-security-top10" / "v0.2-draft" / "ML01_2023-Broken.md", b"\x00\xff\x00 binary")
    code, _, err = invoke("ingest-corpus", str(root))
    assert code != 0 and "ML01_2023-Broken.md" in err
    with Session(db_env) as session:
        labels = session.scalars(select(VersionRow.label)).all()
    assert labels == ["v0.1-draft"]


def test_ingest_with_a_named_parser(db_env: Engine, tmp_path: Path) -> None:
    page = Path(__file__).parent / "fixtures" / "outline" / "guide-v1.html"
    args = ("ingest", str(page), "--version", "v1", "--parser")
    code, out, _ = invoke(*args, "html-outline", "--source", "guide")
    assert code == 0 and "parser html-outline" in out
    code, _, err = invoke(*args, "nope", "--source", "guide2")
    assert code == 4 and "no parser named 'nope'" in err and "html-outline" in err
    code, out, _ = invoke("sources", "--format", "json")
    assert "guide2" not in out  # nothing stored
