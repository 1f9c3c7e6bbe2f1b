"""Read queries the API needs beyond the repositories: organisation lookup and the impact
worklist joined to its diff, each a single SQL statement.

Stored impacts are immutable (recomputing one replaces the row with a new id), so the
parsed change details of an impact are cached per app by impact id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.digests.events import impact_changes
from tracker.keys import normalise_key
from tracker.storage.org_tables import ImpactItemRow, ImpactRow, OrganisationRow
from tracker.storage.tables import DiffRow, SourceRow, VersionRow


def org_ref(engine: Engine, ref: str) -> tuple[int, str] | None:
    """``(id, slug)`` of the organisation named ``ref`` (slugs are lower case), or ``None``."""
    with Session(engine) as session:
        row = session.execute(
            select(OrganisationRow.id, OrganisationRow.slug).where(OrganisationRow.slug == ref.lower())
        ).first()
        return None if row is None else (row[0], row[1])


class ChangeCache:
    """Bounded LRU of ``impact id -> {change_seq: change summary}``; safe across threads."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._data: OrderedDict[int, dict[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, impact_id: int) -> dict[int, dict[str, Any]]:
        with self._lock:
            found = self._data.get(impact_id)
            if found is not None:
                self._data.move_to_end(impact_id)
                return found
        row = session.get(ImpactRow, impact_id)
        value: dict[int, dict[str, Any]] = {}
        if row is not None:
            for seq, item in impact_changes(session, row).items():
                change = item["change"]
                value[seq] = {
                    "change_id": change.get("change_id"),
                    "kind": change.get("kind", ""),
                    "old_ids": list(change.get("old_ids") or ()),
                    "new_ids": list(change.get("new_ids") or ()),
                    "substantive": change.get("substantive"),
                    "tags": list(change.get("tags") or ()),
                }
        with self._lock:
            self._data[impact_id] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


@dataclass(frozen=True)
class ImpactFilter:
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    control: str | None = None
    source: str | None = None
    diff_id: int | None = None


def impact_lines(
    engine: Engine, cache: ChangeCache, org_id: int, flt: ImpactFilter, after: int, limit: int
) -> list[dict[str, Any]]:
    """One page of the organisation's impact worklist, in id order, with change details."""
    old_v = VersionRow.__table__.alias("old_v")
    new_v = VersionRow.__table__.alias("new_v")
    query = (
        select(
            ImpactItemRow,
            ImpactRow.diff_id,
            SourceRow.slug,
            old_v.c.label,
            new_v.c.label,
        )
        .join(ImpactRow, ImpactRow.id == ImpactItemRow.impact_id)
        .join(DiffRow, DiffRow.id == ImpactRow.diff_id)
        .join(SourceRow, SourceRow.id == DiffRow.source_id)
        .join(old_v, old_v.c.id == DiffRow.old_version_id)
        .join(new_v, new_v.c.id == DiffRow.new_version_id)
        .where(ImpactItemRow.org_id == org_id, ImpactItemRow.id > after)
    )
    if flt.since is not None:
        query = query.where(ImpactItemRow.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(ImpactItemRow.created_at < flt.until)
    if flt.action:
        query = query.where(ImpactItemRow.action == flt.action)
    if flt.control:
        query = query.where(ImpactItemRow.control_key == normalise_key(flt.control))
    if flt.source:
        query = query.where(SourceRow.slug == flt.source)
    if flt.diff_id is not None:
        query = query.where(ImpactRow.diff_id == flt.diff_id)
    out: list[dict[str, Any]] = []
    with Session(engine) as session:
        rows = session.execute(query.order_by(ImpactItemRow.id).limit(limit)).tuples().all()
        for item, diff_id, slug, old_label, new_label in rows:
            changes = cache.get(session, item.impact_id)
            out.append(
                {
                    "id": item.id,
                    "impact_id": item.impact_id,
                    "diff_id": diff_id,
                    "source": slug,
                    "old_version": old_label,
                    "new_version": new_label,
                    "created_at": item.created_at,
                    "change": changes.get(item.change_seq)
                    or {"kind": item.change_kind, "old_ids": [], "new_ids": [], "tags": []},
                    "control_id": item.control_id,
                    "action": item.action,
                    "score": item.score,
                    "reason": item.reason,
                }
            )
    return out
