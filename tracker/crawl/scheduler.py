"""The crawl scheduler: APScheduler 3 in its own process, jobs stored in the tracker's database.

One job per registered source, triggered by the source's cron or interval (UTC). Jobs live
in the ``apscheduler_jobs`` table (made by migration 0006 with the rest of the schema), so
next run times survive a restart; a run missed while the scheduler was down starts late if within the source's
``misfire_grace`` and several missed runs coalesce into one. Each job crawls in a child
process, and the crawl's database lock (:class:`tracker.storage.crawls.CrawlLock`)
guarantees one crawl per source at a time, across processes and machines; APScheduler's
``max_instances=1`` only covers this process. Several ``tracker schedule`` processes may
run (a standby for failover); a leadership lease in the same lock table lets only one of
them run jobs at a time.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tracker.crawl.launcher import CrawlResult, run_crawl
from tracker.settings import Settings
from tracker.sources import registry as registry_mod
from tracker.sources.registry import Registry, SourceSpec
from tracker.storage.crawls import CrawlLock

JOB_FUNC = "tracker.crawl.scheduler:scheduled_crawl"
log = logging.getLogger("tracker.crawl.scheduler")


@cache
def _engine(url: str) -> Engine:
    from tracker.storage.db import make_engine

    return make_engine(url)


def scheduled_crawl(slug: str, registry: str | None = None) -> dict[str, Any]:
    """Job body: crawl one source in a child process and log the outcome."""
    engine = _engine(Settings.from_env().effective_database_url)
    result: CrawlResult = run_crawl(
        engine, slug, registry=Path(registry) if registry else None, trigger="schedule"
    )
    level = logging.WARNING if result.outcome == "failed" else logging.INFO
    log.log(level, "crawl %s: %s (%s)", slug, result.outcome, result.message)
    return result.to_dict()


def trigger_for(spec: SourceSpec, interval: float | None = None) -> Any:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if interval:
        return IntervalTrigger(seconds=interval, timezone=UTC)
    if spec.schedule.interval is not None:
        return IntervalTrigger(seconds=spec.schedule.interval.total_seconds(), timezone=UTC)
    return CronTrigger.from_crontab(spec.schedule.cron, timezone=UTC)


def build_scheduler(engine: Engine, workers: int = 4) -> Any:
    """A background scheduler with its job store in ``engine``'s database (not started)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
        executors={"default": ThreadPoolExecutor(max_workers=workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=UTC,
    )


def sync_jobs(
    scheduler: Any,
    registry: Registry,
    registry_path: Path | None = None,
    *,
    interval: float | None = None,
    run_now: bool = False,
) -> list[dict[str, Any]]:
    """Make the stored jobs match the registry; call on a started (paused) scheduler.

    A job whose trigger and arguments are unchanged is left as stored, so its next run time
    survives a restart; changed ones are replaced; jobs of removed or disabled sources go.
    """
    wanted = {spec.slug: spec for spec in registry.sources if spec.enabled}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    now = datetime.now(UTC)
    for slug, spec in wanted.items():
        trigger = trigger_for(spec, interval)
        args = [slug, str(registry_path) if registry_path else None]
        job = scheduler.get_job(slug)
        same = (
            job is not None
            and str(job.trigger) == str(trigger)
            and list(job.args) == args
            and job.misfire_grace_time == spec.misfire_grace
        )
        if same:
            if run_now:
                job.modify(next_run_time=now)
            continue
        options: dict[str, Any] = {"next_run_time": now} if run_now else {}
        scheduler.add_job(
            JOB_FUNC,
            trigger=trigger,
            args=args,
            id=slug,
            name=f"crawl {slug}",
            replace_existing=True,
            misfire_grace_time=spec.misfire_grace,
            coalesce=True,
            max_instances=1,
            **options,
        )
    return jobs_table(scheduler)


def jobs_table(scheduler: Any) -> list[dict[str, Any]]:
    return [
        {
            "source": job.id,
            "trigger": str(job.trigger),
            "next_run_time": job.next_run_time.isoformat() if job.next_run_time else None,
        }
        for job in sorted(scheduler.get_jobs(), key=lambda j: j.id)
    ]


# The scheduler's leadership lease lives in the crawl lock table under a name no source slug
# can take (slugs have no ':'). Only the holder runs jobs; others stand by and take over
# when it stops or its lease expires, so a second ``tracker schedule`` never doubles crawls.
LEADER_LEASE = "scheduler:leader"


def wait_to_lead(lease: CrawlLock, stop: threading.Event) -> bool:
    """Block until ``lease`` is ours (True) or ``stop`` is set (False), logging who leads."""
    announced = ""
    while not stop.is_set():
        if lease.acquire():
            log.info("leading: this scheduler runs the crawl jobs")
            return True
        holder = lease.holder.describe() if lease.holder else "another process"
        if holder != announced:
            log.info("standing by: the scheduler of %s leads", holder)
            announced = holder
        stop.wait(max(lease.ttl.total_seconds() / 3, 0.2))
    return False


def serve(
    engine: Engine,
    registry_path: Path | None = None,
    *,
    interval: float | None = None,
    run_now: bool = False,
    workers: int = 4,
    stop: threading.Event | None = None,
    lease_ttl: float = 60.0,
) -> None:
    """Run the scheduler until SIGTERM/SIGINT (or ``stop`` is set); running jobs finish first.

    Only one scheduler leads at a time (see :data:`LEADER_LEASE`); this one stands by until
    it holds the lease, and steps back if it ever loses it.
    """
    registry = registry_mod.load(registry_path)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    lease = CrawlLock(engine, LEADER_LEASE, ttl=lease_ttl)
    while wait_to_lead(lease, stop):
        try:
            _lead(engine, registry, registry_path, lease, stop, interval, run_now, workers)
        finally:
            lease.release()


def _lead(
    engine: Engine,
    registry: Registry,
    registry_path: Path | None,
    lease: CrawlLock,
    stop: threading.Event,
    interval: float | None,
    run_now: bool,
    workers: int,
) -> None:
    """Run the jobs while the lease is ours, renewing it; return when stopped or deposed."""
    scheduler = build_scheduler(engine, workers)
    scheduler.start(paused=True)
    try:
        for row in sync_jobs(scheduler, registry, registry_path, interval=interval, run_now=run_now):
            log.info("scheduled %s: %s, next run %s", row["source"], row["trigger"], row["next_run_time"])
        scheduler.resume()
        while not stop.wait(max(lease.ttl.total_seconds() / 3, 0.2)):
            if not lease.heartbeat():
                log.error("lost the scheduler lease (taken over as stale): standing by")
                return
    finally:
        scheduler.shutdown(wait=True)


def api_available() -> bool:
    try:
        return importlib.util.find_spec("api.app") is not None
    except ModuleNotFoundError:
        return False


def run_service(
    schedule_args: list[str],
    host: str,
    port: int,
    echo: Any = print,
    env: Mapping[str, str] | None = None,
    *,
    job_workers: int | None = None,
    concurrency: int = 1,
) -> int:
    """``tracker run``: the scheduler, the job workers, the digest sender and the API, each in
    a child process under one supervisor (see :mod:`tracker.jobs.supervisor`). ``env`` is the
    children's environment (``Settings.child_env()``), this process's by default."""
    from tracker.jobs.supervisor import Supervisor, service_children

    workers = Settings.from_env().workers if job_workers is None else job_workers
    api = api_available()
    if not api:
        echo("api.app not found: running the scheduler and the workers only")
    else:
        echo(f"API on http://{host}:{port}")
    children = service_children(schedule_args, host, port, workers, concurrency, api, env=env)
    return Supervisor(children, echo=echo).run()
