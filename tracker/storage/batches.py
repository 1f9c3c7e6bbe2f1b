"""Repository of bulk review actions (batches): record one, read it back, mark it undone.

A batch belongs to the organisation whose reviewer took it; reads are filtered by
organisation like decisions (:mod:`tracker.storage.decisions`), so no tenant sees another's.
Writes take the caller's session: a batch, its decisions and the refreshed impacts are one
transaction (see :mod:`tracker.review.bulk`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.storage.decisions import Reviewer
from tracker.storage.tables.review import ReviewBatchRow


@dataclass(frozen=True)
class Batch:
    id: int
    org_id: int | None
    diff_id: int
    action: str
    filter: dict[str, Any]
    verdict: dict[str, Any] | None
    reviewer: str
    reason: str
    decided: int
    created_at: datetime
    undone_at: datetime | None = None
    undone_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "diff_id": self.diff_id,
            "action": self.action,
            "filter": self.filter,
            "verdict": self.verdict,
            "reviewer": self.reviewer,
            "reason": self.reason,
            "decided": self.decided,
            "created_at": self.created_at,
            "undone_at": self.undone_at,
            "undone_by": self.undone_by,
        }


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at if at.tzinfo else at.replace(tzinfo=UTC)


def batch_of(row: ReviewBatchRow) -> Batch:
    created = _utc(row.created_at)
    assert created is not None
    return Batch(
        id=row.id,
        org_id=row.org_id,
        diff_id=row.diff_id,
        action=row.action,
        filter=dict(row.filter or {}),
        verdict=dict(row.verdict) if row.verdict is not None else None,
        reviewer=row.reviewer,
        reason=row.reason,
        decided=row.decided,
        created_at=created,
        undone_at=_utc(row.undone_at),
        undone_by=row.undone_by,
    )


class BatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def add(
        session: Session,
        reviewer: Reviewer,
        *,
        diff_id: int,
        action: str,
        filter: dict[str, Any],
        verdict: dict[str, Any] | None,
        reason: str,
        at: datetime,
    ) -> ReviewBatchRow:
        """Open a batch inside the caller's transaction (``decided`` is set once its decisions are)."""
        row = ReviewBatchRow(
            org_id=reviewer.org_id,
            diff_id=diff_id,
            action=action,
            filter=filter,
            verdict=verdict,
            reviewer=reviewer.name[:200],
            key_id=reviewer.key_id[:32],
            reason=reason,
            decided=0,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row

    @staticmethod
    def locked(session: Session, batch_id: int, org_id: int | None) -> ReviewBatchRow | None:
        """The organisation's batch, locked for the caller's transaction (an undo)."""
        row = session.get(ReviewBatchRow, batch_id, with_for_update=True)
        return None if row is None or row.org_id != org_id else row

    def get(self, batch_id: int, org_id: int | None) -> Batch | None:
        with Session(self.engine) as session:
            row = session.get(ReviewBatchRow, batch_id)
            return None if row is None or row.org_id != org_id else batch_of(row)

    def of_ids(self, batch_ids: Iterable[int], org_id: int | None) -> dict[int, Batch]:
        """The organisation's batches named (for a decision history), by id."""
        ids = sorted(set(batch_ids))
        if not ids:
            return {}
        owner = ReviewBatchRow.org_id.is_(None) if org_id is None else ReviewBatchRow.org_id == org_id
        with Session(self.engine) as session:
            rows = session.scalars(select(ReviewBatchRow).where(owner, ReviewBatchRow.id.in_(ids)))
            return {row.id: batch_of(row) for row in rows}

    def for_diff(self, org_id: int | None, diff_id: int, limit: int = 100) -> list[Batch]:
        """The organisation's batches on one diff, newest first."""
        owner = ReviewBatchRow.org_id.is_(None) if org_id is None else ReviewBatchRow.org_id == org_id
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ReviewBatchRow)
                .where(owner, ReviewBatchRow.diff_id == diff_id)
                .order_by(ReviewBatchRow.id.desc())
                .limit(limit)
            )
            return [batch_of(row) for row in rows]
