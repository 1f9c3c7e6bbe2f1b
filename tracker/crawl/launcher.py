"""Launch crawls, each in its own process: ``python -m spiders.crawl SOURCE``.

A Twisted reactor cannot restart, and a crawl that hangs or crashes must not take the
scheduler with it, so tracker code never imports Scrapy: it starts a child process, waits,
and reads the JSON summary the child prints last. When the child dies without one (killed,
out of memory, timed out) its run row is marked failed here, naming the signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tracker.storage.crawls import RunStore

DEFAULT_TIMEOUT = 30 * 60.0


@dataclass(frozen=True)
class CrawlResult:
    source: str
    outcome: str  # ok, unchanged, failed, skipped (lock held) or error (bad source)
    message: str
    run_id: int | None = None
    bytes_fetched: int = 0
    requests: int = 0
    new_version: str | None = None
    returncode: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "outcome": self.outcome,
            "message": self.message,
            "run_id": self.run_id,
            "bytes_fetched": self.bytes_fetched,
            "requests": self.requests,
            "new_version": self.new_version,
        }


def crawl_command(
    slug: str,
    *,
    registry: Path | None = None,
    trigger: str = "manual",
    force: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    cmd = [sys.executable, "-m", "spiders.crawl", slug, "--trigger", trigger, "--no-migrate"]
    if registry is not None:
        cmd += ["--registry", str(registry)]
    if force:
        cmd.append("--force")
    for key, value in (overrides or {}).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def _summaries(stdout: str) -> Iterator[dict[str, Any]]:
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict):
                yield data


def _died(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def run_crawl(
    engine: Engine,
    slug: str,
    *,
    registry: Path | None = None,
    trigger: str = "manual",
    force: bool = False,
    overrides: Mapping[str, Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> CrawlResult:
    """Crawl ``slug`` in a child process and wait for it. ``engine`` must be migrated."""
    cmd = crawl_command(slug, registry=registry, trigger=trigger, force=force, overrides=overrides)
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env) if env else None,
        start_new_session=True,  # a Ctrl-C at the terminal is ours to handle, not the child's
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        why = ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group we created: the child and its helpers
        stdout, stderr = proc.communicate()
        why = f"timed out after {timeout:g}s and was killed"
    summaries = list(_summaries(stdout))
    final = next((s for s in reversed(summaries) if "outcome" in s), None)
    if final is not None and not why:
        if final["outcome"] == "error":  # a run may have started before the database failed
            with suppress(SQLAlchemyError):
                RunStore(engine).fail_running(slug, str(final.get("message", "")), pid=proc.pid)
        return CrawlResult(
            source=slug,
            outcome=str(final["outcome"]),
            message=str(final.get("message", "")),
            run_id=final.get("run_id"),
            bytes_fetched=int(final.get("bytes_fetched", 0) or 0),
            requests=int(final.get("requests", 0) or 0),
            new_version=final.get("new_version"),
            returncode=proc.returncode,
        )
    tail = " | ".join(line for line in stderr.strip().splitlines()[-3:])
    message = f"crawl process {proc.pid} {why or _died(proc.returncode)} before finishing" + (
        f": {tail}" if tail else ""
    )
    RunStore(engine).fail_running(slug, message, pid=proc.pid)
    started = next((s for s in summaries if "run_id" in s), {})
    return CrawlResult(
        source=slug,
        outcome="failed",
        message=message,
        run_id=started.get("run_id"),
        returncode=proc.returncode,
    )


def run_many(engine: Engine, slugs: Iterable[str], *, jobs: int = 4, **kwargs: Any) -> list[CrawlResult]:
    """Crawl several sources, up to ``jobs`` processes at a time (different publishers in parallel)."""
    slugs = list(slugs)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda slug: run_crawl(engine, slug, **kwargs), slugs))
