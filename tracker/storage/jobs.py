"""The job ledger: add jobs idempotently, claim one under a lease, finish, fail, replay.

Every state change is one conditional ``UPDATE``, so two workers (threads, processes or
machines) racing for the same job cannot both win: the claim succeeds for the one whose
update matched a row still queued and due, or running under an expired lease.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.storage.tables.jobs import JobRow

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
STATUSES = (QUEUED, RUNNING, DONE, DEAD)


def _now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class JobSpec:
    """A job to add: its kind, its idempotency key, its arguments and when it may run."""

    kind: str
    key: str
    args: dict[str, Any] = field(default_factory=dict)
    run_after: datetime | None = None


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    kind: str
    args: dict[str, Any]
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    updated_at: datetime
    run_after: datetime
    lease_until: datetime | None
    worker: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "args": self.args,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "run_after": self.run_after.isoformat(),
            "lease_until": self.lease_until.isoformat() if self.lease_until else None,
            "worker": self.worker,
        }


def _job(row: JobRow) -> Job:
    return Job(
        row.id,
        row.key,
        row.kind,
        dict(row.args or {}),
        row.status,
        row.attempts,
        row.last_error,
        utc(row.created_at),
        utc(row.updated_at),
        utc(row.run_after),
        utc(row.lease_until) if row.lease_until else None,
        row.worker,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base * 2**(n-1), capped, times a
    random factor in [0.5, 1) so jobs that failed together do not all retry together."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 6

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        raw: timedelta = min(self.base * (2 ** max(attempts - 1, 0)), self.cap)
        factor: float = (rng or random).uniform(0.5, 1.0)
        return raw * factor


def write_jobs(session: Session, specs: Sequence[JobSpec], now: datetime | None = None) -> list[int]:
    """Add ``specs`` inside the caller's transaction; an existing key is kept as it is.

    ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL alike) makes a concurrent
    writer of the same key a no-op rather than an error. Returns the ids of the rows, new or
    existing, so the caller can wake workers for them.
    """
    if not specs:
        return []
    now = now or _now()
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = [
        {
            "key": spec.key,
            "kind": spec.kind,
            "args": spec.args,
            "status": QUEUED,
            "attempts": 0,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
            "run_after": spec.run_after or now,
            "lease_until": None,
            "worker": "",
        }
        for spec in specs
    ]
    session.execute(insert(JobRow).on_conflict_do_nothing(index_elements=["key"]), values)
    keys = [spec.key for spec in specs]
    found = {k: i for k, i in session.execute(select(JobRow.key, JobRow.id).where(JobRow.key.in_(keys)))}
    return [found[k] for k in keys]


class JobStore:
    def __init__(self, engine: Engine, policy: RetryPolicy | None = None) -> None:
        self.engine = engine
        self.policy = policy or RetryPolicy()

    def add(self, specs: Sequence[JobSpec]) -> list[int]:
        with Session(self.engine) as session, session.begin():
            return write_jobs(session, specs)

    def get(self, job_id: int) -> Job:
        with Session(self.engine) as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise NotFoundError(f"no job {job_id}", "list jobs with `tracker jobs list`")
            return _job(row)

    def by_key(self, key: str) -> Job | None:
        with Session(self.engine) as session:
            row = session.scalar(select(JobRow).where(JobRow.key == key))
            return _job(row) if row is not None else None

    def find(self, status: str | None = None, kind: str | None = None, limit: int = 200) -> list[Job]:
        query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
        if status:
            query = query.where(JobRow.status == status)
        if kind:
            query = query.where(JobRow.kind == kind)
        with Session(self.engine) as session:
            return [_job(r) for r in session.scalars(query)]

    def page(
        self, *, after_id: int, limit: int, status: str | None = None, kind: str | None = None
    ) -> list[Job]:
        """Jobs with ``id > after_id`` in id order, of one status or kind if given."""
        query = select(JobRow).where(JobRow.id > after_id)
        if status:
            query = query.where(JobRow.status == status)
        if kind:
            query = query.where(JobRow.kind == kind)
        with Session(self.engine) as session:
            return [_job(r) for r in session.scalars(query.order_by(JobRow.id).limit(limit))]

    def claimable(self, now: datetime | None = None) -> Any:
        now = now or _now()
        return or_(
            (JobRow.status == QUEUED) & (JobRow.run_after <= now),
            (JobRow.status == RUNNING) & (JobRow.lease_until < now),
        )

    def claim(self, job_id: int, worker: str, lease: timedelta) -> Job | None:
        """Take the job if it is due and nobody holds it; counts the attempt."""
        now = _now()
        with Session(self.engine) as session, session.begin():
            done = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, self.claimable(now))
                .values(
                    status=RUNNING,
                    worker=worker,
                    lease_until=now + lease,
                    attempts=JobRow.attempts + 1,
                    updated_at=now,
                )
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(JobRow, job_id)
            assert row is not None
            return _job(row)

    def due(self, limit: int = 100, grace: timedelta = timedelta(0)) -> list[int]:
        """Jobs a worker could claim now (queued and due for ``grace`` or lease expired)."""
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(JobRow.id).where(self.claimable(_now() - grace)).order_by(JobRow.id).limit(limit)
                )
            )

    def finish(self, session: Session, job: Job, worker: str) -> bool:
        """Mark the job done inside the caller's transaction (with the jobs it spawned)."""
        now = _now()
        done = session.execute(
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.status == RUNNING, JobRow.worker == worker)
            .values(status=DONE, lease_until=None, last_error="", updated_at=now)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    def later(self, job: Job, worker: str, when: datetime, note: str = "") -> None:
        """Put the job back to wait (a digest not yet due), without counting an attempt."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job.id, JobRow.status == RUNNING, JobRow.worker == worker)
                .values(
                    status=QUEUED,
                    run_after=when,
                    lease_until=None,
                    attempts=JobRow.attempts - 1,
                    last_error=note[:2000],
                    updated_at=_now(),
                )
            )

    def fail(self, job: Job, worker: str, error: str, *, final: bool = False) -> Job:
        """Record a failed attempt: retry after the policy's delay, or park the job as dead."""
        now = _now()
        dead = final or job.attempts >= self.policy.max_attempts
        values: dict[str, Any] = {
            "status": DEAD if dead else QUEUED,
            "lease_until": None,
            "last_error": error[:2000],
            "updated_at": now,
        }
        if not dead:
            values["run_after"] = now + self.policy.delay(job.attempts)
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job.id, JobRow.status == RUNNING, JobRow.worker == worker)
                .values(**values)
            )
        return self.get(job.id)

    def replay(self, job_id: int) -> Job:
        """Queue a dead (or done) job again with a fresh attempt count."""
        job = self.get(job_id)
        if job.status not in (DEAD, DONE):
            raise InvalidInputError(
                f"job {job_id} is {job.status}", "only dead or done jobs are replayed; it will run anyway"
            )
        now = _now()
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == job.status)
                .values(status=QUEUED, attempts=0, run_after=now, lease_until=None, updated_at=now)
            )
        return self.get(job_id)

    def renew(self, worker: str, lease: timedelta) -> int:
        """Extend the lease of every job ``worker`` is running (its heartbeat)."""
        with Session(self.engine) as session, session.begin():
            done = session.execute(
                update(JobRow)
                .where(JobRow.status == RUNNING, JobRow.worker == worker)
                .values(lease_until=_now() + lease)
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    def release_dead_workers(self, host: str, alive: Any) -> int:
        """Expire at once the leases held by processes of this host that no longer run."""
        released = 0
        with Session(self.engine) as session, session.begin():
            rows = session.scalars(
                select(JobRow).where(JobRow.status == RUNNING, JobRow.worker.like(f"{host}:%"))
            ).all()
            for row in rows:
                where, _, pid = row.worker.rpartition(":")
                if where == host and pid.isdigit() and not alive(int(pid)):
                    row.lease_until = _now() - timedelta(seconds=1)
                    released += 1
        return released

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with Session(self.engine) as session:
            rows = session.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
        return {status: int(n) for status, n in rows}
