"""``tracker worker``: a huey consumer running ledger jobs, with a heartbeat and the sweep.

At start the worker runs the recovery sweep (:func:`tracker.jobs.runner.recover`). While it
runs, a background thread renews the leases of the jobs it holds (so a long impact is not
taken over by another worker) and sweeps again every ``sweep`` seconds, which wakes jobs
whose wake-up was lost or whose worker died on another machine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from tracker.jobs.queue import Queue
from tracker.jobs.runner import execute, recover, store_for, worker_id
from tracker.settings import Settings
from tracker.storage.jobs import Job

log = logging.getLogger("tracker.jobs")


def _housekeeping(
    engine: Engine, settings: Settings, queue: Queue, stop: threading.Event, sweep: float
) -> None:
    store, lease = store_for(engine, settings), timedelta(seconds=settings.job_lease)
    beat = max(min(settings.job_lease / 3, sweep), 0.5)
    since_sweep = 0.0
    while not stop.wait(beat):
        try:
            store.renew(worker_id(), lease)
            since_sweep += beat
            if since_sweep >= sweep:
                since_sweep = 0.0
                # a healthy queue runs a due job within seconds: only older ones need a new wake-up
                recover(engine, settings, _pusher(queue), grace=sweep)
        except Exception as exc:  # the database is briefly away: try again next beat
            log.warning("worker housekeeping failed: %s", exc)


def _pusher(queue: Queue) -> Callable[[int, Job | None], None]:
    def push(job_id: int, job: Job | None) -> None:
        queue.push(job_id, job.run_after if job is not None and job.status == "queued" else None)

    return push


def run_worker(engine: Engine, settings: Settings, concurrency: int = 1, sweep: float = 30.0) -> None:
    """Run jobs until SIGTERM or SIGINT; a job in progress then finishes (up to 30 s)."""
    holder: list[Queue] = []

    def handle(job_id: int) -> None:
        execute(engine, settings, job_id, _pusher(holder[0]))

    queue = Queue(settings, handle)
    holder.append(queue)
    found = recover(engine, settings, _pusher(queue))
    log.info(
        "worker %s: %d job(s) of dead workers released, %d missing diff(s) queued, %d job(s) woken",
        worker_id(),
        found.released,
        len(found.missing_diffs),
        found.woken,
    )
    stop = threading.Event()
    keeper = threading.Thread(
        target=_housekeeping, args=(engine, settings, queue, stop, sweep), name="housekeeping", daemon=True
    )
    keeper.start()
    consumer = queue.huey.create_consumer(
        workers=max(concurrency, 1),
        worker_type="thread",
        periodic=False,
        max_delay=1.0,
        graceful_signal="TERM",
        shutdown_timeout=30,
    )
    try:
        consumer.run()
    finally:
        stop.set()
