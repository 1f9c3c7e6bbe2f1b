"""Running ledger jobs: claim, run the stage, record the outcome; the recovery sweep; drain.

A job's effect and its bookkeeping are ordered so that a crash anywhere loses nothing:
the stage stores its effect idempotently, then one transaction adds the follow-up jobs and
marks this one done. A worker killed before that transaction leaves the job ``running``
under a lease; the sweep hands it to a worker again (at once when the dead worker was a
process of this host, otherwise when the lease expires) and the rerun finds the effect
already stored.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.jobs.stages import STAGES, Outcome
from tracker.settings import Settings
from tracker.storage.crawls import pid_alive
from tracker.storage.jobs import DEAD, QUEUED, Job, JobSpec, JobStore, RetryPolicy, write_jobs

log = logging.getLogger("tracker.jobs")
Push = Callable[[int, Job | None], None]


def worker_id() -> str:
    """``host:pid``: a process of this host that is gone is seen as gone at once."""
    return f"{socket.gethostname()}:{os.getpid()}"


def store_for(engine: Engine, settings: Settings) -> JobStore:
    policy = RetryPolicy(base=timedelta(seconds=settings.job_backoff), max_attempts=settings.job_max_attempts)
    return JobStore(engine, policy)


def _fault_pause(settings: Settings, kind: str) -> None:
    if settings.fault_pause:
        wanted, _, seconds = settings.fault_pause.partition(":")
        if wanted == kind:
            log.warning("fault pause: holding %s for %ss", kind, seconds)
            time.sleep(float(seconds or "0"))


def execute(engine: Engine, settings: Settings, job_id: int, push: Push) -> str:
    """Run one job if it can be claimed; returns what became of it."""
    store, me = store_for(engine, settings), worker_id()
    job = store.claim(job_id, me, timedelta(seconds=settings.job_lease))
    if job is None:
        return "not due or held by another worker"
    _fault_pause(settings, job.kind)
    try:
        outcome: Outcome = STAGES[job.kind](engine, settings, job.args)
    except Exception as exc:
        failed = store.fail(job, me, f"{type(exc).__name__}: {exc}")
        level = logging.ERROR if failed.status == DEAD else logging.WARNING
        log.log(level, "job %s %s failed (attempt %d): %s", job.id, job.key, job.attempts, exc)
        if failed.status == QUEUED:
            push(failed.id, failed)
        return failed.status
    _fault_pause(settings, f"{job.kind}.done")  # the effect is stored, the job not yet marked
    if outcome.dead:
        store.fail(job, me, outcome.dead, final=True)
        log.error("job %s %s dead: %s", job.id, job.key, outcome.dead)
        return DEAD
    if outcome.later is not None:
        store.later(job, me, outcome.later, outcome.note)
        push(job.id, store.get(job.id))
        return "later"
    with Session(engine) as session, session.begin():
        ids = write_jobs(session, outcome.follow)
        store.finish(session, job, me)
    log.info("job %s %s done: %s", job.id, job.key, outcome.note)
    for new_id in ids:
        push(new_id, None)
    return "done"


@dataclass
class Recovery:
    released: int = 0  # jobs held by dead processes of this host
    missing_diffs: list[str] = field(default_factory=list)  # archived versions with no diff
    woken: int = 0


def missing_diffs(engine: Engine) -> list[JobSpec]:
    """Diff jobs for the newest archived version of each source if it has no stored diff
    with the version before it.

    A crawl commits the diff job with the version, so this is the backstop for versions
    archived otherwise (``tracker ingest``, or before the job ledger existed). Only the newest
    version counts: diffing a whole history loaded at once would send its old changes to
    subscribers as news (``tracker diff`` and ``tracker impact`` compute older pairs on
    demand). A diff by an older engine counts as done, for the same reason after an upgrade.
    """
    from tracker.pipeline import diff_job
    from tracker.storage.tables.archive import DiffRow, SourceRow, VersionRow

    with Session(engine) as session:
        done = {(o, n) for o, n in session.execute(select(DiffRow.old_version_id, DiffRow.new_version_id))}
        versions = session.execute(
            select(SourceRow.slug, VersionRow.id, VersionRow.label)
            .join(VersionRow, VersionRow.source_id == SourceRow.id)
            .where(VersionRow.role == "edition")  # renditions and companions are no timeline step
            .order_by(SourceRow.slug, VersionRow.ordinal, VersionRow.id)
        ).all()
    by_source: dict[str, list[tuple[int, str]]] = {}
    for slug, vid, label in versions:
        by_source.setdefault(slug, []).append((vid, label))
    out: list[JobSpec] = []
    for slug, held in by_source.items():
        if len(held) >= 2 and (held[-2][0], held[-1][0]) not in done:
            out.append(diff_job(slug, held[-1][1]))
    return out


def recover(engine: Engine, settings: Settings, push: Push, *, grace: float = 0.0) -> Recovery:
    """The sweep: free jobs of dead local workers, add diff jobs for versions archived
    without one, and wake a worker for every job that is due."""
    store = store_for(engine, settings)
    report = Recovery(released=store.release_dead_workers(socket.gethostname(), pid_alive))
    missing = missing_diffs(engine)
    if missing:
        # Keys already in the ledger are left alone: a dead diff job stays dead until replayed.
        store.add(missing)
        report.missing_diffs = [m.key for m in missing]
    for job_id in store.due(limit=10_000, grace=timedelta(seconds=grace)):
        push(job_id, None)
        report.woken += 1
    return report


def drain(engine: Engine, settings: Settings, *, max_jobs: int = 100_000) -> dict[str, int]:
    """Run every due job in this process until none is left (the demo, scripts, tests).

    Wake-ups for these jobs left in the queue find them done and do nothing.
    """
    counts: dict[str, int] = {}
    recover(engine, settings, lambda *_: None)
    store = store_for(engine, settings)
    for _ in range(max_jobs):
        due = store.due(limit=1)
        if not due:
            break
        result = execute(engine, settings, due[0], lambda *_: None)
        counts[result] = counts.get(result, 0) + 1
    return counts
