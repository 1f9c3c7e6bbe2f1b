"""`tracker diff` through the CLI: JSON shape, stored once, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.cli.main import cli
from tracker.storage.tables.archive import DiffRow


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _error(*args: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli.main", *args], capture_output=True, text=True, check=False
    )
    return proc.returncode, proc.stderr


def test_diff_json_html_and_errors(db_env: Engine, corpus_dir: Path) -> None:
    top10 = corpus_dir / "owasp-top10-llm"
    for label in ("2025-rc-2024-11-08", "2025-release"):
        _cli("ingest", str(top10 / label), "--source", "owasp-top10-llm", "--version", label)
    _cli("ingest", str(corpus_dir / "nist-csf" / "1.1"), "--source", "nist-csf", "--version", "1.1")

    args = ("diff", "owasp-top10-llm", "2025-rc-2024-11-08", "2025-release", "--lexical-only")
    data = json.loads(_cli(*args, "--format", "json"))
    assert set(data) >= {"source", "old_version", "new_version", "engine", "summary", "changes"}
    assert data["engine"]["model"] is None  # --lexical-only
    assert sum(data["summary"].values()) == len(data["changes"]) == 10
    for change in data["changes"]:
        assert set(change) >= {
            "kind",
            "old_ids",
            "new_ids",
            "substantive",
            "tags",
            "confidence",
            "reasons",
            "redline",
        }
        assert change["substantive"] is not True  # RC -> release is editorial
    assert data["changes"][0]["old_ids"][0].startswith("LLM")  # identifiers as printed

    html = _cli(*args, "--format", "html")
    assert html.startswith("<!DOCTYPE html>") and "LLM01" in html
    again = json.loads(_cli(*args, "--format", "json"))
    assert again["diff_id"] == data["diff_id"]  # the stored diff is reused, not recomputed
    with Session(db_env) as session:
        assert session.scalar(select(func.count()).select_from(DiffRow)) == 1

    code, err = _error("diff", "owasp-top10-llm", "2025-release", "nist-csf@1.1", "--lexical-only")
    assert code != 0 and "different sources" in err and "tracker map" in err
    code, err = _error("diff", "owasp-top10-llm", "2024", "2025-release", "--lexical-only")
    assert code != 0 and "no version '2024'" in err and "2025-rc-2024-11-08" in err
    code, err = _error("diff", "nope", "a", "b", "--lexical-only")
    assert code != 0 and "unknown source 'nope'" in err
