"""The impact worklist as the impact API pages it: one statement per page, joining each line
to its diff's source and version labels, and the generation that names the organisation's
set of stored impacts (for caches and validators).

This is the API's hot path, so the query is built once from plain columns, not ORM entities.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, select

from tracker.domain.keys import normalise_key
from tracker.storage.tables.archive import DiffRow, SourceRow, VersionRow
from tracker.storage.tables.orgs import ImpactItemRow, ImpactRow


@dataclass(frozen=True)
class WorklistFilter:
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None
    control: str | None = None
    source: str | None = None
    diff_id: int | None = None


@dataclass(frozen=True)
class WorklistRow:
    """One line of the worklist: a control (or a gap without one) and what to do about it."""

    id: int
    impact_id: int
    created_at: datetime
    change_seq: int
    change_kind: str
    control_id: str | None
    action: str
    score: float
    reason: str
    diff_id: int
    source: str
    old_version: str
    new_version: str


@functools.cache
def _base() -> Select[Any]:
    old_v = VersionRow.__table__.alias("old_v")
    new_v = VersionRow.__table__.alias("new_v")
    item = ImpactItemRow.__table__.c
    return (
        select(
            item.id,
            item.impact_id,
            item.created_at,
            item.change_seq,
            item.change_kind,
            item.control_id,
            item.action,
            item.score,
            item.reason,
            ImpactRow.diff_id,
            SourceRow.slug,
            old_v.c.label,
            new_v.c.label,
        )
        .select_from(ImpactItemRow.__table__)
        .join(ImpactRow, ImpactRow.id == item.impact_id)
        .join(DiffRow, DiffRow.id == ImpactRow.diff_id)
        .join(SourceRow, SourceRow.id == DiffRow.source_id)
        .join(old_v, old_v.c.id == DiffRow.old_version_id)
        .join(new_v, new_v.c.id == DiffRow.new_version_id)
    )


def worklist_page(
    engine: Engine, org_id: int, flt: WorklistFilter, *, after: int, limit: int
) -> list[WorklistRow]:
    """One page of the organisation's worklist lines with ``id > after``, in id order."""
    item = ImpactItemRow.__table__.c
    query = _base().where(item.org_id == org_id, item.id > after)
    if flt.since is not None:
        query = query.where(item.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(item.created_at < flt.until)
    if flt.action:
        query = query.where(item.action == flt.action)
    if flt.control:
        query = query.where(item.control_key == normalise_key(flt.control))
    if flt.source:
        query = query.where(SourceRow.slug == flt.source)
    if flt.diff_id is not None:
        query = query.where(ImpactRow.diff_id == flt.diff_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(item.id).limit(limit)).all()
    return [WorklistRow(*row) for row in rows]


_GENERATION = select(func.count(ImpactRow.id), func.max(ImpactRow.id)).where(
    ImpactRow.org_id == bindparam("org")
)


def impact_generation(engine: Engine, org_id: int) -> tuple[int, int]:
    """Identifies the organisation's set of stored impacts: impacts are never updated in place
    (recomputing one deletes it and inserts a new row with a higher id), so (count, max id)
    changes whenever any worklist line could have."""
    with engine.connect() as conn:
        count, highest = conn.execute(_GENERATION, {"org": org_id}).one()
    return int(count or 0), int(highest or 0)
