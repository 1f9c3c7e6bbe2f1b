"""``tracker run``: one supervisor process over the scheduler, the API, the job workers and
the digest sender, each a child process.

The supervisor only watches: a child that exits while the service is up is started again
(after a short pause, so a child that cannot start does not spin), and SIGTERM or SIGINT
stops every child (SIGTERM, then SIGKILL after a grace period) before the supervisor exits.
On Linux each child also asks the kernel for SIGTERM should the supervisor itself die
(``PR_SET_PDEATHSIG``), so a ``kill -9`` of the supervisor leaves no orphan behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # not Linux: no libc.so.6, and the supervisor's own handlers still stop the children
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: Mapping[str, str] | None = None  # the child's environment; this process's when None

    def start(self) -> None:
        env = dict(self.env) if self.env is not None else None
        self.proc = subprocess.Popen(self.argv, preexec_fn=_die_with_parent, env=env)
        self.starts += 1


@dataclass
class Supervisor:
    children: list[Child]
    echo: Callable[[str], Any] = print
    grace: float = 30.0
    pause: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop.set())
        try:
            for child in self.children:
                child.start()
                self.echo(f"started {child.name} (pid {child.proc.pid if child.proc else '?'})")
            while not self.stop.wait(self.pause):
                for child in self.children:
                    if child.proc is not None and child.proc.poll() is not None and not self.stop.is_set():
                        self.echo(f"{child.name} exited with {child.proc.returncode}: starting it again")
                        child.start()
            return 0
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in running:
            assert child.proc is not None
            child.proc.terminate()  # SIGTERM: the scheduler and workers finish what they hold
        deadline = time.monotonic() + self.grace
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()


def service_children(
    schedule_args: list[str],
    host: str,
    port: int,
    workers: int,
    concurrency: int,
    api: bool,
    *,
    env: Mapping[str, str] | None = None,
) -> list[Child]:
    tracker = [sys.executable, "-m", "tracker.cli.main"]
    children = [Child("scheduler", [*tracker, "schedule", *schedule_args])]
    children += [
        Child(f"worker {n + 1}", [*tracker, "worker", "--concurrency", str(concurrency)])
        for n in range(max(workers, 0))
    ]
    # events of impacts recomputed outside the pipeline (a reviewer's decision) and digests
    # whose delivery job was lost are picked up here; the outbox claim keeps it from racing
    # the delivery jobs
    children.append(Child("digest sender", [*tracker, "digests", "send", "--loop", "60"]))
    if api:
        children.append(
            Child(
                "api",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "api.app:create_app",
                    "--factory",
                    "--host",
                    host,
                    "--port",
                    str(port),
                ],
            )
        )
    for child in children:
        child.env = env
    return children
