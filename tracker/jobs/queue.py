"""The task-queue engine: huey, on a SQLite file (embedded) or Redis/PostgreSQL (scale-out).

huey carries *wake-ups*: a message naming a row of the job ledger (``tracker.storage.jobs``),
delivered to one of the workers now or at a given time (retries, daily digests). The ledger,
in the tracker's own database, holds what must survive: the job, its key, attempts, lease
and error. A wake-up that is lost (a crash between a commit and the push, a worker killed
while it held the message) costs only latency: the workers' sweep pushes every due job
again, and a duplicate wake-up is a no-op because claiming a job is a conditional update.

``TRACKER_QUEUE_URL``:

- empty: ``SqliteHuey`` in ``<database file>.queue`` next to the SQLite database (or in the
  data directory when the database is PostgreSQL): no extra server;
- ``sqlite:///path``: ``SqliteHuey`` at that path;
- ``redis://host:port/db[?name=prefix]``: ``RedisHuey``, shared by workers on any machine;
- ``postgresql://...[?name=prefix]``: ``PostgresHuey`` (tables ``<prefix>_task`` and so on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from sqlalchemy import Engine

from tracker.domain.errors import InvalidInputError
from tracker.settings import Settings

TASK_NAME = "tracker.run_job"
log = logging.getLogger(__name__)


def embedded_path(settings: Settings) -> Path:
    """Where the embedded queue lives: beside the SQLite database, or in the data directory."""
    url = settings.effective_database_url
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + ".queue")
    return settings.data_dir / "queue.sqlite3"


def make_huey(settings: Settings) -> Huey:
    url = settings.queue_url
    # results are never read (the ledger is the record), so huey stores none
    if not url or url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///")) if url else embedded_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("tracker", filename=str(path), results=False, timeout=30)
    parts = urlsplit(url)
    name = parse_qs(parts.query).get("name", ["tracker"])[0]
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    if parts.scheme in ("redis", "rediss"):
        return RedisHuey(name, url=bare, results=False)
    if parts.scheme in ("postgresql", "postgres"):
        return PostgresHuey(name, dsn=bare, table_prefix=name, results=False)
    raise InvalidInputError(
        f"unsupported TRACKER_QUEUE_URL scheme {parts.scheme!r}",
        "leave it empty for the embedded queue, or use redis://host:6379/0 or postgresql://...",
    )


class Queue:
    """A huey instance with the one task the tracker uses: run ledger job ``job_id``."""

    def __init__(self, settings: Settings, handler: Callable[[int], object] | None = None) -> None:
        self.huey = make_huey(settings)

        def run_job(job_id: int) -> None:
            if handler is None:  # an enqueuing-only process (a crawl) never runs jobs
                raise RuntimeError("this process only enqueues jobs")
            handler(job_id)

        self.task: TaskWrapper = self.huey.task(name=TASK_NAME)(run_job)

    def push(self, job_id: int, eta: datetime | None = None) -> None:
        if eta is not None and eta > datetime.now(UTC):
            self.task.schedule(args=(job_id,), eta=eta)
        else:
            self.task(job_id)

    def pending(self) -> int:
        return int(self.huey.pending_count()) + int(self.huey.scheduled_count())


def wake(engine: Engine, settings: Settings, key: str) -> None:
    """Push a wake-up for the ledger job ``key``; the sweep covers a failure here."""
    from tracker.storage.jobs import JobStore

    job = JobStore(engine).by_key(key)
    if job is None:
        return
    try:
        Queue(settings).push(job.id, job.run_after)
    except Exception as exc:  # the queue is down: the job is in the ledger, the sweep finds it
        log.warning("could not wake a worker for %s: %s", key, exc)
