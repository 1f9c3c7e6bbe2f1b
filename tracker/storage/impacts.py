"""Stored impact worklists, queryable by organisation, date, action and control."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.domain.keys import normalise_key
from tracker.storage.orgs import org_row
from tracker.storage.tables.orgs import ImpactItemRow, ImpactRow


@dataclass(frozen=True)
class ImpactLine:
    id: int
    impact_id: int
    created_at: datetime
    change_seq: int
    change_kind: str
    control_id: str | None
    action: str
    score: float
    reason: str


class ImpactStore:
    """Each organisation's stored impact of each diff, and its lines by control and action."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_impact(self, org: str, diff_id: int, result: dict[str, Any]) -> int:
        """Store an impact worklist (``{"items": [{"change", "controls"}]}``), replacing an older one."""
        with Session(self.engine) as session, session.begin():
            return self.write_impact(session, org, diff_id, result)

    def write_impact(self, session: Session, org: str, diff_id: int, result: dict[str, Any]) -> int:
        """:meth:`save_impact` inside the caller's transaction (a reviewer's decision and the
        impacts it changes are committed together or not at all)."""
        now = datetime.now(UTC)
        org_id = org_row(session, org).id
        old = session.scalar(
            select(ImpactRow).where(ImpactRow.org_id == org_id, ImpactRow.diff_id == diff_id)
        )
        if old is not None:
            session.delete(old)
            session.flush()
        row = ImpactRow(org_id=org_id, diff_id=diff_id, created_at=now, result=result)
        session.add(row)
        session.flush()
        for seq, item in enumerate(result.get("items", [])):
            change = item.get("change", {})
            # an item with no control (a gap) keeps the item's own action and reason
            bare = {"action": item.get("action", "none"), "reason": item.get("reason", "")}
            for control in item.get("controls", []) or [bare]:
                session.add(
                    ImpactItemRow(
                        impact_id=row.id,
                        org_id=org_id,
                        created_at=now,
                        change_seq=int(change.get("seq", seq)),
                        change_kind=str(change.get("kind", "")),
                        control_id=control.get("control_id"),
                        control_key=normalise_key(control["control_id"])
                        if control.get("control_id")
                        else None,
                        action=str(control.get("action", "none")),
                        score=float(control.get("score", 0.0)),
                        reason=str(control.get("reason", "")),
                    )
                )
        return row.id

    def impact(self, org: str, diff_id: int) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            org_id = org_row(session, org).id
            row = session.scalar(
                select(ImpactRow).where(ImpactRow.org_id == org_id, ImpactRow.diff_id == diff_id)
            )
            return None if row is None else dict(row.result)

    def impact_lines(
        self,
        org: str,
        *,
        since: datetime | None = None,
        action: str | None = None,
        control: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[ImpactLine]:
        """What changed for this organisation's controls since a date, in id order."""
        with Session(self.engine) as session:
            org_id = org_row(session, org).id
            query = select(ImpactItemRow).where(ImpactItemRow.org_id == org_id, ImpactItemRow.id > after_id)
            if since is not None:
                query = query.where(ImpactItemRow.created_at >= since)
            if action:
                query = query.where(ImpactItemRow.action == action)
            if control:
                query = query.where(ImpactItemRow.control_key == normalise_key(control))
            rows = session.scalars(query.order_by(ImpactItemRow.id).limit(limit))
            return [
                ImpactLine(
                    r.id,
                    r.impact_id,
                    r.created_at,
                    r.change_seq,
                    r.change_kind,
                    r.control_id,
                    r.action,
                    r.score,
                    r.reason,
                )
                for r in rows
            ]
