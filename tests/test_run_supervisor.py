"""`tracker run` as a real process tree: a worker killed with -9 is started again, and
SIGTERM to the supervisor stops the scheduler, the workers, the digest sender and the API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def children(pid: int) -> dict[int, str]:
    """The direct children of ``pid`` and their command lines (Linux /proc)."""
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found[int(child)] = cmd
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
    return " Z " not in stat  # a zombie has exited


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_run_restarts_a_dead_worker_and_stops_every_child_on_sigterm(tmp_path: Path) -> None:
    env = dict(os.environ, TRACKER_DATA_DIR=str(tmp_path / "var"), TRACKER_USE_MODEL="0", TRACKER_WORKERS="2")
    env.pop("TRACKER_DATABASE_URL", None)
    env.pop("TRACKER_QUEUE_URL", None)
    with (tmp_path / "run.log").open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "tracker.cli.main", "run", "--port", str(free_port())],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(children(run.pid)) < 5:
            time.sleep(0.2)
        first = children(run.pid)
        workers = [pid for pid, cmd in first.items() if " worker " in f"{cmd} "]
        assert len(first) == 5 and len(workers) == 2, (first, (tmp_path / "run.log").read_text())
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = children(run.pid)
            # a child just forked shows its parent's command line until it execs
            restarted = [p for p, c in now.items() if " worker " in f"{c} "]
            if len(now) == 5 and workers[0] not in now and len(restarted) == 2:
                break
            time.sleep(0.2)
        again = children(run.pid)
        assert len([p for p, c in again.items() if " worker " in f"{c} "]) == 2 and workers[0] not in again
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0
        time.sleep(0.5)
        assert [pid for pid in again if alive(pid)] == []  # no child left behind with parent 1
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
