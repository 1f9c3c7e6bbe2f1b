"""Crawl locks, the APScheduler job store, and two scheduled cycles against a loopback publisher."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.loopback import World, github_tags, make_world, wait_for, write_registry
from tracker.crawl.scheduler import build_scheduler, serve, sync_jobs
from tracker.sources import registry as registry_mod
from tracker.storage.crawls import CrawlLock, current_locks


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- locks -----------------------------------------------------------------------------------
def test_one_holder_at_a_time_and_release(engine: Engine) -> None:
    first, second = CrawlLock(engine, "src"), CrawlLock(engine, "src")
    assert first.acquire()
    assert not second.acquire()
    assert second.holder is not None and second.holder.pid == os.getpid()
    assert CrawlLock(engine, "other-source").acquire()  # locks are per source
    first.release()
    assert second.acquire() and second.took_over is None


def test_an_expired_lock_is_taken_over_and_its_holder_learns_it(engine: Engine) -> None:
    # long enough that a loaded machine cannot let it expire before the second attempt
    stale = CrawlLock(engine, "src", ttl=1.5)
    stale.host = "another-machine"  # a live pid elsewhere: only the expiry can free it
    assert stale.acquire()
    assert not CrawlLock(engine, "src").acquire()
    time.sleep(1.6)
    fresh = CrawlLock(engine, "src")
    assert fresh.acquire()
    assert fresh.took_over is not None and fresh.took_over.host == "another-machine"
    assert not stale.heartbeat()  # it lost the lock
    stale.release()  # and cannot release someone else's
    assert [lock.pid for lock in current_locks(engine)] == [os.getpid()]


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(engine: Engine) -> None:
    crashed = CrawlLock(engine, "src", ttl=3600)
    crashed.pid = dead_pid()  # as if a crawl had been SIGKILLed while holding it
    assert crashed.acquire()
    restarted = CrawlLock(engine, "src")
    assert restarted.acquire()
    assert restarted.took_over is not None and restarted.took_over.pid == crashed.pid


def test_racing_for_a_stale_lock_has_exactly_one_winner(engine: Engine) -> None:
    crashed = CrawlLock(engine, "src", ttl=3600)
    crashed.pid = dead_pid()
    assert crashed.acquire()
    contenders = [CrawlLock(engine, "src") for _ in range(6)]
    barrier = threading.Barrier(len(contenders))

    def race(lock: CrawlLock) -> bool:
        barrier.wait()
        return lock.acquire()

    with ThreadPoolExecutor(len(contenders)) as pool:
        assert sorted(pool.map(race, contenders)) == [False] * 5 + [True]


# -- job store -------------------------------------------------------------------------------
def _registry(path: Path, schedule: str, *slugs: str) -> registry_mod.Registry:
    entries = [
        {
            "slug": s,
            "title": s,
            "kind": "nist-pdf",
            "url": f"https://example.org/{s}.pdf",
            "format": "raw",
            "schedule": schedule,
        }
        for s in slugs
    ]
    return registry_mod.load(write_registry(path, entries))


def test_jobs_persist_across_restarts_and_follow_the_registry(engine: Engine, tmp_path: Path) -> None:
    reg = _registry(tmp_path / "a.toml", "17 6 * * *", "alpha", "beta")
    first = build_scheduler(engine)
    first.start(paused=True)
    jobs = {row["source"]: row for row in sync_jobs(first, reg)}
    assert set(jobs) == {"alpha", "beta"} and "cron" in jobs["alpha"]["trigger"]
    first.shutdown()

    second = build_scheduler(engine)  # a restart: the jobs come back from the database
    second.start(paused=True)
    assert {job.id for job in second.get_jobs()} == {"alpha", "beta"}
    alpha = second.get_job("alpha")
    assert alpha.next_run_time.isoformat() == jobs["alpha"]["next_run_time"]
    assert (alpha.coalesce, alpha.max_instances, alpha.misfire_grace_time) == (True, 1, 3600)

    changed = _registry(tmp_path / "b.toml", "every 2h", "alpha")
    rows = sync_jobs(second, changed, tmp_path / "b.toml")
    assert [row["source"] for row in rows] == ["alpha"] and "interval" in rows[0]["trigger"]
    assert second.get_job("alpha").args == ("alpha", str(tmp_path / "b.toml"))
    second.shutdown()


# -- two scheduled cycles ----------------------------------------------------------------------
REPO = "mitre-atlas/atlas-data"
TAGS = f"https://api.github.com/repos/{REPO}/tags?per_page=100"


@pytest.fixture
def world(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(db_env, tmp_path, monkeypatch) as w:
        w.sources(
            {
                "slug": "mitre-atlas",
                "title": "ATLAS",
                "kind": "github-release-file",
                "repo": REPO,
                "path": "dist/ATLAS.yaml",
                "format": "mitre-atlas",
            }
        )
        yield w


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_two_scheduled_cycles_discover_successive_versions(world: World, fixtures_dir: Path) -> None:
    pub = world.publisher
    atlas = fixtures_dir / "atlas"
    pub.put(
        f"https://raw.githubusercontent.com/{REPO}/v5.5.0/dist/ATLAS.yaml",
        (atlas / "ATLAS-v3-layout.yaml").read_bytes(),
    )
    pub.put(TAGS, github_tags(REPO, ["v5.5.0"]))
    stop = threading.Event()
    service = threading.Thread(
        target=serve,
        args=(world.engine, world.registry),
        kwargs={"interval": 1.0, "run_now": True, "stop": stop},
    )
    service.start()
    try:
        assert wait_for(lambda: world.labels("mitre-atlas") == ["v5.5.0"], timeout=60)
        pub.put(
            f"https://raw.githubusercontent.com/{REPO}/v5.6.0/dist/ATLAS.yaml",
            (atlas / "ATLAS-v5-layout.yaml").read_bytes(),
        )
        pub.put(TAGS, github_tags(REPO, ["v5.5.0", "v5.6.0"]))
        assert wait_for(lambda: world.labels("mitre-atlas") == ["v5.5.0", "v5.6.0"], timeout=60)
    finally:
        stop.set()
        service.join(timeout=60)
    runs = world.runs("mitre-atlas")
    assert [r.new_version for r in runs if r.outcome == "ok"] == ["v5.5.0", "v5.6.0"]
    assert all(r.trigger == "schedule" and r.outcome in ("ok", "unchanged") for r in runs)
    assert current_locks(world.engine) == []
