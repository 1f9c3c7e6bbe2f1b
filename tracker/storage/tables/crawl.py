"""Crawl bookkeeping: run history, HTTP validators and per-source locks (migration 0002).

Sources are referred to by slug, not by foreign key: a source is in the registry before its
first version is archived, and a failed first crawl must still be recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Integer, LargeBinary, String, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables.base import Base


class CrawlRunRow(Base):
    """One crawl of one source. ``outcome`` is running, ok, unchanged or failed."""

    __tablename__ = "crawl_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(128), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    bytes_fetched: Mapped[int] = mapped_column(BigInteger, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    new_version: Mapped[str | None] = mapped_column(Text, nullable=True)
    trigger: Mapped[str] = mapped_column(String(32), default="manual")
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)


class HttpValidatorRow(Base):
    """What we last saw at a URL, for conditional GET: keyed by the SHA-256 of the URL."""

    __tablename__ = "http_validators"
    url_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_modified: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CrawlLockRow(Base):
    """At most one crawl per source: the holder heartbeats ``expires_at`` forward.

    ``token`` is fresh per acquisition, so a take-over is a compare-and-set on it.
    """

    __tablename__ = "crawl_locks"
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SchedulerJobRow(Base):
    """APScheduler's job store, declared here so that migrations create it with everything else.

    The columns are APScheduler 3's own (``SQLAlchemyJobStore``), which only creates the table
    when it is missing: so ``tracker`` can run under a database role without DDL rights, and
    the table is part of the schema that the migration tests check.
    """

    __tablename__ = "apscheduler_jobs"
    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True, nullable=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
