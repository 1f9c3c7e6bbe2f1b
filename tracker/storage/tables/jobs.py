"""The job ledger (migration ``0007_jobs``): one row per unit of work after archiving.

The task queue (huey) carries only wake-ups naming a row of this table; the row is the
truth. Its unique ``key`` (``diff:<source>:<label>``, ``impact:<diff>:<org>``,
``digest:<diff>:<org>``, ``deliver:<subscription>:<channel>:<event>``) makes every job
idempotent, ``lease_until`` lets another worker take over a job whose worker died, and a job
that keeps failing stays here as ``dead`` with its error until an operator replays it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables.base import Base


class JobRow(Base):
    """One durable job. ``status`` is queued, running, done or dead."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_run_after", "status", "run_after"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker: Mapped[str] = mapped_column(String(128), default="")
