"""Impact fan-out benchmark: CSF 1.1 -> 2.0 reaches N organisations, run by 1 and 2 workers.

Run: ``.venv/bin/python -m bench.bench_fanout [--orgs 100] [--controls 300] [--workers 1,2]``
(add ``--queue-url redis://127.0.0.1:6379/0 --postgres postgresql://postgres@127.0.0.1:5432/test``
for the scale-out set-up: workers on several machines share one Redis queue and one PostgreSQL).

Each organisation holds ``--controls`` SP 800-53 Rev 5 controls (a window over the catalog
that starts at a different control per organisation, so no two hold the same set) mapped
from CSF 1.1 by NIST's crosswalk. The diff job runs first (timed alone); then real
``tracker worker`` processes on the embedded queue run the impact job of every organisation
and its digest job, and the wall time runs from the workers' start until the ledger shows
every one done (worker start-up included). The queue's own overhead per job is measured in
this process with a job that does nothing: add to the ledger, push to huey, pop, claim,
mark done. The lexical engine is used unless ``--model``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.jobs import stages
from tracker.jobs.queue import Queue
from tracker.jobs.runner import execute, store_for
from tracker.mapping.crosswalks.files import read_csv
from tracker.mapping.documents import controls_from_requirements
from tracker.settings import Settings
from tracker.storage.jobs import JobSpec
from tracker.storage.tables.jobs import JobRow

LIMIT = 64 * 1024 * 1024


def build(engine: Engine, corpus: Path, orgs: int, per_org: int) -> None:
    from tracker.domain.model import Source
    from tracker.sources.ingest import ingest_files
    from tracker.storage.archive import Archive
    from tracker.storage.controls import ControlStore
    from tracker.storage.mappings import MappingStore
    from tracker.storage.orgs import OrgStore

    archive = Archive(engine)
    csf = Source(slug="nist-csf", title="NIST CSF")
    ingest_files(archive, csf, "1.1", [corpus / "nist-csf" / "1.1"], max_bytes=LIMIT)
    sp = Source(slug="nist-sp-800-53")
    ingest_files(
        archive, sp, "rev5", [corpus / "nist-sp-800-53" / "rev5-oscal-5.0.1-2021-06"], max_bytes=LIMIT
    )
    catalog = controls_from_requirements(archive.requirements("nist-sp-800-53", "rev5"))
    for n in range(orgs):
        OrgStore(engine).create(f"org-{n:05d}")
        start = (n * 37) % len(catalog)
        window = (catalog + catalog)[start : start + per_org]
        ControlStore(engine).import_controls(f"org-{n:05d}", window, "catalog")
    crosswalk = (corpus.parent / "eval" / "csf1.1_to_sp800-53r5.csv").read_bytes()
    MappingStore(engine).add_mappings(
        None, read_csv(crosswalk, source_set="nist-csf@1.1", target_set="nist-sp-800-53@rev5"), "eval"
    )
    ingest_files(archive, csf, "2.0", [corpus / "nist-csf" / "2.0"], max_bytes=LIMIT)


def _pending(engine: Engine) -> int:
    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(JobRow).where(JobRow.status.in_(("queued", "running")))
            )
            or 0
        )


def _running(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.scalar(select(JobRow.id).where(JobRow.status == "running").limit(1)) is not None


def fan_out(engine: Engine, settings: Settings, env: dict[str, str], workers: int) -> dict[str, Any]:
    """Run the diff job here, then the impact and digest jobs in ``workers`` processes."""
    queue = Queue(settings)
    store = store_for(engine, settings)
    with Session(engine) as session:
        session.query(JobRow).delete()
        session.commit()
    from tracker.storage.tables.orgs import ImpactItemRow, ImpactRow

    with Session(engine) as session:  # a fresh fan-out: every organisation's impact computed again
        session.query(ImpactItemRow).delete()
        session.query(ImpactRow).delete()
        session.commit()
    [diff_id] = store.add([JobSpec("diff", "diff:nist-csf:2.0", {"source": "nist-csf", "label": "2.0"})])
    started = time.perf_counter()
    execute(engine, settings, diff_id, lambda job_id, job: queue.push(job_id, None))
    diff_s = time.perf_counter() - started
    impacts = len(store.find(kind="impact", limit=1_000_000))
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker.cli.main", "worker", "--sweep", "5"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    first: float | None = None
    try:
        while _pending(engine):
            if first is None and _running(engine):
                first = time.perf_counter()
            time.sleep(0.1)
        ended = time.perf_counter()
        wall, run = ended - started, ended - (first or started)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)
    jobs = len(store.find(limit=1_000_000)) - 1
    return {
        "workers": workers,
        "diff_s": diff_s,
        "impact_jobs": impacts,
        "jobs": jobs,
        "wall_s": wall,
        "run_s": run,
        "jobs_per_s": jobs / run,
        "per_org_s": run * workers / max(impacts, 1),
    }


def queue_overhead(engine: Engine, settings: Settings, n: int = 500) -> float:
    """Seconds per job of the machinery alone: ledger add, huey push and pop, claim, done."""
    stages.STAGES["noop"] = lambda *_: stages.Outcome()
    store = store_for(engine, settings)
    queue = Queue(settings, lambda job_id: execute(engine, settings, job_id, lambda *_: None))
    started = time.perf_counter()
    for i in range(n):
        [job_id] = store.add([JobSpec("noop", f"noop:{i}")])
        queue.push(job_id)
    for _ in range(n):
        task = queue.huey.dequeue()
        assert task is not None
        queue.huey.execute(task)
    return (time.perf_counter() - started) / n


@contextlib.contextmanager
def _database(postgres: str, tmp: Path) -> Iterator[str]:
    """The database URL to run on: a SQLite file in ``tmp``, or a fresh schema in ``postgres``."""
    if not postgres:
        yield f"sqlite:///{tmp / 'tracker.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in postgres else "?"
        yield f"{postgres}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--controls", type=int, default=300)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument(
        "--model", action="store_true", help="the embedding model instead of the lexical engine"
    )
    parser.add_argument("--queue-url", default="", help="TRACKER_QUEUE_URL (default: the embedded queue)")
    parser.add_argument("--overhead-only", action="store_true", help="measure only the queue's overhead")
    parser.add_argument(
        "--postgres",
        default="",
        metavar="URL",
        help="the scale-out set-up: this PostgreSQL database (a schema of its own, dropped after)",
    )
    args = parser.parse_args(argv)
    corpus = Path(os.environ.get("TRACKER_CORPUS_DIR", "../shared/corpus"))
    with tempfile.TemporaryDirectory() as tmp, _database(args.postgres, Path(tmp)) as url:
        database = "PostgreSQL" if args.postgres else "SQLite"
        env = dict(
            os.environ,
            TRACKER_DATABASE_URL=url,
            TRACKER_DATA_DIR=tmp,
            TRACKER_QUEUE_URL=args.queue_url,
            TRACKER_USE_MODEL="1" if args.model else "0",
        )
        os.environ.update(env)
        settings = Settings.from_env()
        from tracker.storage.db import open_engine

        engine = open_engine(settings)
        queue_name = args.queue_url.split("?")[0] or "embedded SQLite"
        if args.overhead_only:
            overhead = queue_overhead(engine, settings)
            print(f"queue {queue_name}, database {database}: {overhead * 1000:.1f} ms of overhead per job")
            engine.dispose()
            return
        started = time.perf_counter()
        build(engine, corpus, args.orgs, args.controls)
        took = time.perf_counter() - started
        print(f"set-up: {args.orgs} organisations x {args.controls} controls in {took:.1f} s", flush=True)
        engine_name = "model" if args.model else "lexical"
        print(f"engine: {engine_name}; queue: {queue_name} (huey); database: {database}", flush=True)
        print("wall: from the workers' start (start-up included); run: from the first job claimed")
        print("workers  impact jobs  jobs  wall s  run s  jobs/s (run)  per-org worker-s (run)  diff s")
        for workers in (int(w) for w in args.workers.split(",")):
            r = fan_out(engine, settings, env, workers)
            print(
                f"{r['workers']:>7}  {r['impact_jobs']:>11}  {r['jobs']:>4}  {r['wall_s']:>6.1f}  "
                f"{r['run_s']:>5.1f}  {r['jobs_per_s']:>12.1f}  {r['per_org_s']:>22.3f}  {r['diff_s']:>6.2f}",
                flush=True,
            )
        overhead = queue_overhead(engine, settings)
        what = "ledger add, push, pop, claim, done; no work"
        print(f"queue overhead per job ({what}): {overhead * 1000:.1f} ms")
        print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
        engine.dispose()


if __name__ == "__main__":
    main()
