"""`tracker demo --once`: two crawl cycles on a mirror of the corpus; the diff and the impact appear."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_two_cycles(tmp_path: Path, corpus_dir: Path) -> None:
    env = dict(
        os.environ,
        TRACKER_DATA_DIR=str(tmp_path / "var"),
        TRACKER_CORPUS_DIR=str(corpus_dir),
        TRACKER_USE_MODEL="0",  # the lexical engine keeps the test short; the model runs in `make demo`
    )
    env.pop("TRACKER_DATABASE_URL", None)
    env.pop("TRACKER_MIRROR_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tracker.cli.main", "demo", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    cycle1, cycle2 = out.split("cycle 2:", 1)
    assert "archived v5.5.0" in cycle1 and "v5.6.0" not in cycle1
    assert "archived v5.6.0" in cycle2
    assert "mitre-atlas v5.5.0 -> v5.6.0" in out
    report = out.split("what changed", 1)[1]
    atlas = report.split("mitre-atlas v5.5.0 -> v5.6.0", 1)[1].splitlines()
    assert "'added'" in atlas[0]
    assert "impact on demo-org: {" in atlas[1]  # a stored impact, not "none stored"
