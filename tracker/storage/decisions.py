"""Repository of reviewer decisions: append, and read back by organisation, diff or change.

Decisions belong to the organisation whose reviewer took them (``org_id``; ``None`` for the
operator); reads are always filtered by organisation, so no tenant sees another's
reviewers, reasons or history. :meth:`DecisionStore.add` takes a session so a decision is
written in the same transaction as its effect (see :mod:`tracker.review.decisions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.storage.tables.review import ReviewBatchRow, ReviewDecisionRow

VERDICT = "verdict"
MAPPING = "mapping"
VERDICT_ACTIONS = ("confirm", "correct", "undo")  # undo: a bulk action taken back
MAPPING_ACTIONS = ("accepted", "rejected", "proposed")


@dataclass(frozen=True)
class Reviewer:
    """Who takes a decision: a display name, the API key it signed in with, its organisation."""

    name: str
    key_id: str = ""
    org: str | None = None
    org_id: int | None = None


@dataclass(frozen=True)
class Decision:
    id: int
    org_id: int | None
    diff_id: int | None
    change_id: int | None
    mapping_id: int | None
    subject: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]
    reviewer: str
    key_id: str
    reason: str
    created_at: datetime
    batch_id: int | None = None  # the bulk action that wrote it (or, for ``undo``, undid it)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "diff_id": self.diff_id,
            "change_id": self.change_id,
            "mapping_id": self.mapping_id,
            "subject": self.subject,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "reviewer": self.reviewer,
            "reason": self.reason,
            "created_at": self.created_at,
            "batch_id": self.batch_id,
        }


def _decision(row: ReviewDecisionRow) -> Decision:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Decision(
        id=row.id,
        org_id=row.org_id,
        diff_id=row.diff_id,
        change_id=row.change_id,
        mapping_id=row.mapping_id,
        subject=row.subject,
        action=row.action,
        before=dict(row.before or {}),
        after=dict(row.after or {}),
        reviewer=row.reviewer,
        key_id=row.key_id,
        reason=row.reason,
        created_at=created,
        batch_id=row.batch_id,
    )


class DecisionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def add(
        session: Session,
        reviewer: Reviewer,
        *,
        subject: str,
        action: str,
        before: dict[str, Any],
        after: dict[str, Any],
        reason: str = "",
        diff_id: int | None = None,
        change_id: int | None = None,
        mapping_id: int | None = None,
        at: datetime | None = None,
        batch_id: int | None = None,
        flush: bool = True,
    ) -> ReviewDecisionRow:
        """Append one decision inside the caller's transaction (a bulk action flushes its
        decisions once, not one by one: ``flush=False``)."""
        allowed = VERDICT_ACTIONS if subject == VERDICT else MAPPING_ACTIONS
        if subject not in (VERDICT, MAPPING) or action not in allowed:
            raise ValueError(f"no {subject!r} decision {action!r}")
        row = ReviewDecisionRow(
            org_id=reviewer.org_id,
            diff_id=diff_id,
            change_id=change_id,
            mapping_id=mapping_id,
            subject=subject,
            action=action,
            before=before,
            after=after,
            reviewer=reviewer.name[:200],
            key_id=reviewer.key_id[:32],
            reason=reason,
            created_at=at or datetime.now(UTC),
            batch_id=batch_id,
        )
        session.add(row)
        if flush:
            session.flush()
        return row

    def get(self, decision_id: int, org_id: int | None) -> Decision | None:
        with Session(self.engine) as session:
            row = session.get(ReviewDecisionRow, decision_id)
            return None if row is None or row.org_id != org_id else _decision(row)

    def find(
        self,
        org_id: int | None,
        *,
        diff_id: int | None = None,
        change_id: int | None = None,
        subject: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[Decision]:
        """One organisation's decisions in id (time) order, filtered."""
        where = [
            ReviewDecisionRow.org_id.is_(None) if org_id is None else ReviewDecisionRow.org_id == org_id,
            ReviewDecisionRow.id > after_id,
        ]
        if diff_id is not None:
            where.append(ReviewDecisionRow.diff_id == diff_id)
        if change_id is not None:
            where.append(ReviewDecisionRow.change_id == change_id)
        if subject is not None:
            where.append(ReviewDecisionRow.subject == subject)
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ReviewDecisionRow).where(*where).order_by(ReviewDecisionRow.id).limit(limit)
            )
            return [_decision(r) for r in rows]

    def latest_by_change(self, org_id: int | None, change_ids: Iterable[int]) -> dict[int, list[Decision]]:
        """Each change's decisions by this organisation, newest first (for the review page)."""
        ids = sorted(set(change_ids))
        out: dict[int, list[Decision]] = {}
        if not ids:
            return out
        owner = ReviewDecisionRow.org_id.is_(None) if org_id is None else ReviewDecisionRow.org_id == org_id
        with Session(self.engine) as session:
            for start in range(0, len(ids), 500):
                rows = session.scalars(
                    select(ReviewDecisionRow)
                    .where(owner, ReviewDecisionRow.change_id.in_(ids[start : start + 500]))
                    .order_by(ReviewDecisionRow.id.desc())
                )
                for row in rows:
                    assert row.change_id is not None
                    out.setdefault(row.change_id, []).append(_decision(row))
        return out

    def org_verdicts(self, org_id: int | None, *, diff_id: int) -> dict[int, OrgVerdict]:
        """The organisation's own verdicts on the diff's changes, by change id (see
        :func:`org_verdicts`; nothing for the operator)."""
        with Session(self.engine) as session:
            return org_verdicts(session, org_id, diff_id=diff_id)


@dataclass(frozen=True)
class OrgVerdict:
    """An organisation's own reading of one change: its latest verdict decision still in force
    (kind, substantive, tags, confidence; ``None`` when every one it took was in a bulk action
    since undone, so the shared verdict shows again), how many verdict decisions it has
    recorded on the change (undo records included, so the count only grows), and when the
    latest was recorded."""

    verdict: dict[str, Any] | None
    decisions: int
    decided_at: datetime
    decision_id: int | None = None  # the decision in force (None with ``verdict``)


def org_verdicts(
    session: Session, org_id: int | None, *, diff_id: int | None = None, change_ids: Iterable[int] = ()
) -> dict[int, OrgVerdict]:
    """The organisation's verdicts on a diff's changes (or on the changes named), by change id.

    Verdict decisions taken with an organisation's key apply to that organisation only (see
    :mod:`tracker.review.decisions`); the operator's (``org_id`` None) are written onto the shared
    change instead, so this returns nothing for the operator. A decision written by a bulk
    action that was undone no longer counts as a reading (see :mod:`tracker.review.bulk`): the
    latest decision still in force does, whether taken before the bulk action or after it.
    """
    if org_id is None:
        return {}
    query = (
        select(ReviewDecisionRow, ReviewBatchRow.undone_at)
        .outerjoin(ReviewBatchRow, ReviewBatchRow.id == ReviewDecisionRow.batch_id)
        .where(ReviewDecisionRow.org_id == org_id, ReviewDecisionRow.subject == VERDICT)
    )
    if diff_id is not None:
        query = query.where(ReviewDecisionRow.diff_id == diff_id)
    ids = sorted(set(change_ids))
    if ids:
        query = query.where(ReviewDecisionRow.change_id.in_(ids))
    elif diff_id is None:
        return {}
    counts: dict[int, int] = {}
    last: dict[int, ReviewDecisionRow] = {}
    latest: dict[int, ReviewDecisionRow] = {}
    for row, undone_at in session.execute(query.order_by(ReviewDecisionRow.id)):
        if row.change_id is None:
            continue
        counts[row.change_id] = counts.get(row.change_id, 0) + 1
        last[row.change_id] = row
        if row.action != "undo" and undone_at is None:
            latest[row.change_id] = row
    out = {}
    for cid, row in last.items():
        held = latest.get(cid)
        verdict = dict(held.after or {}) if held is not None else None
        at = _decision(held or row).created_at
        out[cid] = OrgVerdict(verdict, counts[cid], at, held.id if held is not None else None)
    return out
