"""Repositories for crawl runs, HTTP validators and per-source crawl locks.

The lock is a row, not an OS lock, so it works across machines sharing PostgreSQL and
survives a restart. Its holder heartbeats ``expires_at`` forward; a lock whose time ran out,
or whose owner process on this host is gone, is taken over with a compare-and-set on the
token, so two contenders cannot both win.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.storage.tables.crawl import CrawlLockRow, CrawlRunRow, HttpValidatorRow

OUTCOMES = ("running", "ok", "unchanged", "failed")


def now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host is running (zombies count as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# -- runs ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CrawlRun:
    id: int
    source: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    message: str
    bytes_fetched: int
    requests: int
    new_version: str | None
    trigger: str
    pid: int

    def to_dict(self) -> dict[str, Any]:
        seconds = (self.ended_at - self.started_at).total_seconds() if self.ended_at else None
        return {
            "id": self.id,
            "source": self.source,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "seconds": round(seconds, 3) if seconds is not None else None,
            "outcome": self.outcome,
            "message": self.message,
            "bytes_fetched": self.bytes_fetched,
            "requests": self.requests,
            "new_version": self.new_version,
            "trigger": self.trigger,
            "pid": self.pid,
        }


def _run(row: CrawlRunRow) -> CrawlRun:
    return CrawlRun(
        id=row.id,
        source=row.source,
        started_at=_utc(row.started_at),
        ended_at=_utc(row.ended_at) if row.ended_at else None,
        outcome=row.outcome,
        message=row.message,
        bytes_fetched=row.bytes_fetched,
        requests=row.requests,
        new_version=row.new_version,
        trigger=row.trigger,
        pid=row.pid,
    )


class RunStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, source: str, trigger: str = "manual") -> int:
        with Session(self.engine) as session, session.begin():
            row = CrawlRunRow(
                source=source,
                started_at=now(),
                outcome="running",
                message="",
                bytes_fetched=0,
                requests=0,
                trigger=trigger,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
            session.add(row)
            session.flush()
            return row.id

    def finish(
        self,
        run_id: int,
        outcome: str,
        message: str,
        *,
        bytes_fetched: int = 0,
        requests: int = 0,
        new_version: str | None = None,
    ) -> None:
        if outcome not in OUTCOMES[1:]:
            raise ValueError(f"unknown outcome {outcome!r}")
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(CrawlRunRow)
                .where(CrawlRunRow.id == run_id)
                .values(
                    ended_at=now(),
                    outcome=outcome,
                    message=message[:4000],
                    bytes_fetched=bytes_fetched,
                    requests=requests,
                    new_version=new_version,
                )
            )

    def fail_running(self, source: str, message: str, pid: int | None = None) -> int:
        """Mark runs of ``source`` still 'running' as failed (their process died). Returns how many."""
        query = update(CrawlRunRow).where(CrawlRunRow.source == source, CrawlRunRow.outcome == "running")
        if pid is not None:
            query = query.where(CrawlRunRow.pid == pid)
        with Session(self.engine) as session, session.begin():
            result = session.execute(query.values(ended_at=now(), outcome="failed", message=message))
            return int(getattr(result, "rowcount", 0) or 0)

    def get(self, run_id: int) -> CrawlRun | None:
        with Session(self.engine) as session:
            row = session.get(CrawlRunRow, run_id)
            return _run(row) if row else None

    def page(
        self, *, after_id: int, limit: int, source: str | None = None, outcome: str | None = None
    ) -> list[CrawlRun]:
        """Runs with ``id > after_id``, oldest first, of one source and one outcome if given."""
        query = select(CrawlRunRow).where(CrawlRunRow.id > after_id)
        if source:
            query = query.where(CrawlRunRow.source == source)
        if outcome:
            query = query.where(CrawlRunRow.outcome == outcome)
        with Session(self.engine) as session:
            return [_run(r) for r in session.scalars(query.order_by(CrawlRunRow.id).limit(limit))]

    def history(self, source: str | None = None, limit: int = 50) -> list[CrawlRun]:
        query = select(CrawlRunRow).order_by(CrawlRunRow.id.desc()).limit(limit)
        if source:
            query = query.where(CrawlRunRow.source == source)
        with Session(self.engine) as session:
            return [_run(r) for r in session.scalars(query)]


# -- validators ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Validator:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None


def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class ValidatorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, url: str) -> Validator | None:
        with Session(self.engine) as session:
            row = session.get(HttpValidatorRow, _url_hash(url))
            return Validator(row.url, row.etag, row.last_modified, row.sha256) if row else None

    def put(self, validators: Iterable[Validator]) -> None:
        with Session(self.engine) as session, session.begin():
            for v in validators:
                session.merge(
                    HttpValidatorRow(
                        url_hash=_url_hash(v.url),
                        url=v.url,
                        etag=v.etag,
                        last_modified=v.last_modified,
                        sha256=v.sha256,
                        updated_at=now(),
                    )
                )


# -- locks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LockInfo:
    source: str
    host: str
    pid: int
    acquired_at: datetime
    expires_at: datetime

    def describe(self) -> str:
        return f"{self.host}:{self.pid} since {self.acquired_at.isoformat(timespec='seconds')}"


class CrawlLock:
    """The right to crawl one source. ``acquire`` never blocks; it returns whether we hold it."""

    def __init__(self, engine: Engine, source: str, ttl: float = 120.0) -> None:
        self.engine = engine
        self.source = source
        self.ttl = timedelta(seconds=ttl)
        self.token = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.holder: LockInfo | None = None  # who had it when we could not get it
        self.took_over: LockInfo | None = None  # whose stale lock we took

    def acquire(self) -> bool:
        for _ in range(3):  # a lock released between our insert and our read: try again
            if self._insert():
                return True
            with Session(self.engine) as session:
                row = session.get(CrawlLockRow, self.source)
                if row is None:
                    continue
                info = LockInfo(row.source, row.host, row.pid, _utc(row.acquired_at), _utc(row.expires_at))
                old_token = row.token
            if not self._stale(info):
                self.holder = info
                return False
            if self._swap(old_token):
                self.took_over = info
                return True
        return False

    def _insert(self) -> bool:
        stamp = now()
        try:
            with Session(self.engine) as session, session.begin():
                session.add(
                    CrawlLockRow(
                        source=self.source,
                        token=self.token,
                        host=self.host,
                        pid=self.pid,
                        acquired_at=stamp,
                        heartbeat_at=stamp,
                        expires_at=stamp + self.ttl,
                    )
                )
        except IntegrityError:
            return False
        return True

    def _stale(self, info: LockInfo) -> bool:
        if info.expires_at < now():
            return True
        return info.host == self.host and not pid_alive(info.pid)

    def _swap(self, old_token: str) -> bool:
        stamp = now()
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(CrawlLockRow)
                .where(CrawlLockRow.source == self.source, CrawlLockRow.token == old_token)
                .values(
                    token=self.token,
                    host=self.host,
                    pid=self.pid,
                    acquired_at=stamp,
                    heartbeat_at=stamp,
                    expires_at=stamp + self.ttl,
                )
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1

    def heartbeat(self) -> bool:
        """Push the expiry forward; False means the lock was lost (taken over as stale)."""
        stamp = now()
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(CrawlLockRow)
                .where(CrawlLockRow.source == self.source, CrawlLockRow.token == self.token)
                .values(heartbeat_at=stamp, expires_at=stamp + self.ttl)
            )
            return int(getattr(result, "rowcount", 0) or 0) == 1

    def release(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(CrawlLockRow).where(
                    CrawlLockRow.source == self.source, CrawlLockRow.token == self.token
                )
            )


def current_locks(engine: Engine) -> list[LockInfo]:
    with Session(engine) as session:
        return [
            LockInfo(r.source, r.host, r.pid, _utc(r.acquired_at), _utc(r.expires_at))
            for r in session.scalars(select(CrawlLockRow).order_by(CrawlLockRow.source))
        ]
