"""Read queries the API needs beyond the repositories: organisation lookup and the impact
worklist joined to its diff, each a single SQL statement.

Stored impacts are immutable (recomputing one replaces the row with a new id), so the
parsed change details of an impact are cached per app by impact id.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, select
from sqlalchemy.orm import Session

from api.timeutil import as_utc
from tracker.digests.events import impact_changes
from tracker.domain.keys import normalise_key
from tracker.storage.impacts import ImpactStore
from tracker.storage.tables.archive import DiffRow, SourceRow, VersionRow
from tracker.storage.tables.orgs import ImpactItemRow, ImpactRow, OrganisationRow

_ORG_BY_SLUG = select(OrganisationRow.id, OrganisationRow.slug).where(
    OrganisationRow.slug == bindparam("slug")
)


def org_ref(engine: Engine, ref: str) -> tuple[int, str] | None:
    """``(id, slug)`` of the organisation named ``ref`` (slugs are lower case), or ``None``."""
    with engine.connect() as conn:
        row = conn.execute(_ORG_BY_SLUG, {"slug": ref.lower()}).first()
        return None if row is None else (row[0], row[1])


class OrgRefs:
    """``org_ref`` remembered per app. Organisations are never renamed or deleted (there is no
    operation for either), so a found ``(id, slug)`` stays right for the life of the process;
    an unknown name is not remembered and is looked up again on every request."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._data: dict[str, tuple[int, str]] = {}

    def get(self, engine: Engine, ref: str) -> tuple[int, str] | None:
        found = self._data.get(ref)
        if found is None:
            found = org_ref(engine, ref)
            if found is not None:
                if len(self._data) >= self.size:
                    self._data.clear()
                self._data[ref] = found
        return found


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
        record = ImpactStore.record(session, impact_id)
        value: dict[int, dict[str, Any]] = {}
        if record is not None:
            for seq, served in impact_changes(session, record.impact).items():
                change = served.change
                value[seq] = {
                    "change_id": served.change_id,
                    "kind": change.kind.value,
                    "old_ids": list(change.old_ids),
                    "new_ids": list(change.new_ids),
                    "substantive": change.substantive,
                    "tags": [t.value for t in change.tags],
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


@functools.cache
def _impact_base() -> Select[Any]:
    """The worklist query without its filters, built once: plain columns, not ORM entities,
    because this is the hot path of the impact API."""
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


def impact_lines(
    engine: Engine, cache: ChangeCache, org_id: int, flt: ImpactFilter, after: int, limit: int
) -> list[dict[str, Any]]:
    """One page of the organisation's impact worklist, in id order, with change details."""
    item = ImpactItemRow.__table__.c
    query = _impact_base().where(item.org_id == org_id, item.id > after)
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
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(item.id).limit(limit)).all()
    with Session(engine) as session:  # opens a connection only on a cache miss
        for (
            line_id,
            impact_id,
            created,
            seq,
            kind,
            control_id,
            action,
            score,
            reason,
            diff_id,
            slug,
            old,
            new,
        ) in rows:
            changes = cache.get(session, impact_id)
            out.append(
                {
                    "id": line_id,
                    "impact_id": impact_id,
                    "diff_id": diff_id,
                    "source": slug,
                    "old_version": old,
                    "new_version": new,
                    "created_at": as_utc(created),
                    "change": changes.get(seq) or {"kind": kind, "old_ids": [], "new_ids": [], "tags": []},
                    "control_id": control_id,
                    "action": action,
                    "score": score,
                    "reason": reason,
                }
            )
    return out


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


class PageCache:
    """Bounded LRU of rendered worklist pages keyed by (org, impact generation, query)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._data: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        with self._lock:
            self._data[key] = body
            while len(self._data) > self.size:
                self._data.popitem(last=False)
