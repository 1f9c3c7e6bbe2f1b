"""Fault tests with real processes: `kill -9` a crawl after archiving and a worker in the
middle of each job kind, start again, and find every effect exactly once.

Embedded mode: one worker process at a time on the SQLite queue next to the database.
Scale-out mode: two worker processes sharing one Redis or PostgreSQL queue (a key prefix or
tables of its own per test);
one is killed while it holds a job and the other takes the job over.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.jobs_world import build_world, counts
from tests.support.webhook_receiver import Receiver
from tracker.settings import Settings
from tracker.storage.db import make_engine, upgrade
from tracker.storage.tables.archive import VersionRow
from tracker.storage.tables.jobs import JobRow

pytestmark = pytest.mark.slow

ARCHIVE_CSF_2 = """
import dataclasses, sys
from pathlib import Path
from tracker.crawl.archiving import FetchedVersion, archive_fetched
from tracker.sources.registry import load
from tracker.storage.archive import Archive
from tracker.storage.db import make_engine
spec = dataclasses.replace(load().get("nist-csf"), format="auto")
path = Path(sys.argv[2])
item = FetchedVersion("2.0", ((path.name, path.read_bytes()),), "https://x/csf.yaml", "auto")
archive_fetched(Archive(make_engine(sys.argv[1])), spec, item, 64 * 1024 * 1024)
"""


class Processes:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env, self.procs = tmp, env, list[subprocess.Popen[bytes]]()

    def start(self, argv: list[str], fault: str = "", name: str = "proc") -> subprocess.Popen[bytes]:
        env = dict(self.env, TRACKER_FAULT_PAUSE=fault)
        with (self.tmp / f"{name}-{len(self.procs)}.log").open("wb") as log:
            proc = subprocess.Popen([sys.executable, *argv], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def worker(self, fault: str = "") -> subprocess.Popen[bytes]:
        return self.start(["-m", "tracker.cli.main", "worker", "--sweep", "1"], fault, "worker")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.tmp.glob("*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_for(what: str, check: Callable[[], bool], procs: Processes, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{procs.logs()}")


def jobs(engine: Engine, **where: str) -> list[JobRow]:
    with Session(engine) as session:
        query = select(JobRow)
        for column, value in where.items():
            query = query.where(getattr(JobRow, column) == value)
        return list(session.scalars(query))


def running(engine: Engine, kind: str, pid: int | None = None) -> bool:
    return any(pid is None or j.worker.endswith(f":{pid}") for j in jobs(engine, kind=kind, status="running"))


def settled(engine: Engine) -> bool:
    return bool(jobs(engine)) and not [j for j in jobs(engine) if j.status in ("queued", "running")]


@pytest.fixture
def setup(tmp_path: Path, corpus_dir: Path, receiver: Receiver) -> Iterator[tuple[Engine, Processes, str]]:
    url = f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    env = dict(
        os.environ,
        TRACKER_DATABASE_URL=url,
        TRACKER_DATA_DIR=str(tmp_path / "var"),
        TRACKER_USE_MODEL="0",
        TRACKER_WEBHOOK_ALLOW_PRIVATE="1",
        TRACKER_WEBHOOK_ALLOW_HTTP="1",  # the poison URL is dead for being unparseable, not for http
        TRACKER_JOB_BACKOFF="0.2",
        TRACKER_JOB_MAX_ATTEMPTS="3",
        TRACKER_QUEUE_URL="",
    )
    procs = Processes(tmp_path, env)
    try:
        yield engine, procs, url
    finally:
        procs.stop_all()
        engine.dispose()


def assert_exactly_once(engine: Engine, world_subs: tuple[int, int, int], receiver: Receiver) -> None:
    webhook_sub, atom_sub, poison_sub = world_subs
    stored = counts(engine)
    assert stored["diffs"] == 1
    assert stored["impacts_per_org"] == [1, 1]  # acme and beta, once each
    assert stored["outbox"] == sorted(
        [(webhook_sub, "webhook", "sent"), (atom_sub, "atom", "sent"), (poison_sub, "webhook", "dead")]
    )
    assert stored["sent_per_sub"] == {webhook_sub: 1, atom_sub: 1}
    assert stored["feed_entries"] == 1
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
    kinds = sorted(j.kind for j in jobs(engine))
    assert kinds == ["deliver"] * 3 + ["diff"] + ["digest"] * 2 + ["impact"] * 2
    [dead] = jobs(engine, status="dead")
    assert dead.key.startswith(f"deliver:{poison_sub}:webhook:") and "InvalidURL" in dead.last_error


def test_kill_9_at_every_stage_loses_and_duplicates_nothing(
    setup: tuple[Engine, Processes, str], corpus_dir: Path, receiver: Receiver
) -> None:
    engine, procs, url = setup
    world = build_world(engine, corpus_dir, receiver.url)
    csf2 = corpus_dir / "nist-csf" / "2.0" / "nist-csf-2.0.yaml"

    # a crawl killed right after the new version commits: the diff job committed with it
    crawl = procs.start(["-c", ARCHIVE_CSF_2, url, str(csf2)], "archived:120", "crawl")
    wait_for("the archived version", lambda: bool(jobs(engine, kind="diff")), procs)
    kill9(crawl)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(VersionRow)) == 3
    assert counts(engine)["diffs"] == 0 and jobs(engine, kind="diff")[0].status == "queued"

    # a worker killed in the middle of each job kind, restarted each time
    stages: list[tuple[str, Callable[[], bool]]] = [
        ("diff:120", lambda: running(engine, "diff")),
        ("impact.done:120", lambda: running(engine, "impact") and counts(engine)["impacts_per_org"] != []),
        ("digest.done:120", lambda: running(engine, "digest") and counts(engine)["outbox"] != []),
        ("deliver.done:120", lambda: running(engine, "deliver")),
    ]
    for fault, held in stages:
        worker = procs.worker(fault)
        wait_for(f"a worker holding {fault}", held, procs)
        kill9(worker)

    last = procs.worker()
    wait_for("every job done or dead", lambda: settled(engine), procs)
    last.send_signal(signal.SIGTERM)
    assert last.wait(timeout=40) == 0
    assert_exactly_once(engine, (world.webhook_sub, world.atom_sub, world.poison_sub), receiver)

    shown = subprocess.run(
        [sys.executable, "-m", "tracker.cli.main", "jobs", "dead", "--format", "json"],
        env=procs.env,
        capture_output=True,
        text=True,
        check=True,
    )
    [dead] = json.loads(shown.stdout)
    assert dead["status"] == "dead" and "InvalidURL" in dead["last_error"]


def _redis_url() -> str:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable on 127.0.0.1:6379: {exc}")
    return f"redis://127.0.0.1:6379/0?name=tracker-test-{uuid.uuid4().hex[:12]}"


def _postgres_queue_url() -> str:
    from tests.conftest import POSTGRES_URL

    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}name=tq_{uuid.uuid4().hex[:12]}"


def _drop_queue(url: str) -> None:
    from tracker.jobs.queue import make_huey

    if url.startswith("redis"):
        make_huey(Settings(queue_url=url)).storage.flush_all()
    else:  # the queue's own tables go with the test
        import psycopg

        from tests.conftest import POSTGRES_URL

        prefix = url.rsplit("name=", 1)[1]
        with psycopg.connect(POSTGRES_URL) as conn:
            for table in ("kv", "schedule", "task", "counter"):
                conn.execute(f"DROP TABLE IF EXISTS {prefix}_{table}")


@pytest.mark.parametrize("queue", ["redis", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_workers_share_a_queue_and_one_takes_over_from_a_killed_one(
    setup: tuple[Engine, Processes, str], corpus_dir: Path, receiver: Receiver, queue: str
) -> None:
    engine, procs, url = setup
    procs.env["TRACKER_QUEUE_URL"] = _redis_url() if queue == "redis" else _postgres_queue_url()
    world = build_world(engine, corpus_dir, receiver.url)
    csf2 = corpus_dir / "nist-csf" / "2.0" / "nist-csf-2.0.yaml"
    procs.start(["-c", ARCHIVE_CSF_2, url, str(csf2)], "", "crawl").wait(timeout=120)
    try:
        doomed = procs.worker("impact.done:120")
        survivor = procs.worker("impact.done:2")
        wait_for("the doomed worker holding an impact", lambda: running(engine, "impact", doomed.pid), procs)
        kill9(doomed)
        # the survivor's sweep sees the dead process's lease and runs its job: no restart needed
        wait_for("every job done or dead", lambda: settled(engine), procs)
        holders = {j.worker for j in jobs(engine) if j.kind == "impact"}
        assert holders == {f"{socket.gethostname()}:{survivor.pid}"}  # it ran the doomed one's job too
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=40) == 0
        assert_exactly_once(engine, (world.webhook_sub, world.atom_sub, world.poison_sub), receiver)
        # the doomed worker did run: its diff or impact attempt shows in the attempt counts
        assert max(j.attempts for j in jobs(engine, kind="impact")) == 2
    finally:
        _drop_queue(procs.env["TRACKER_QUEUE_URL"])
