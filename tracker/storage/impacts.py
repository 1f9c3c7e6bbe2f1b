"""Stored impact worklists, queryable by organisation, date, action and control."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.domain.keys import normalise_key
from tracker.impact.model import SCORE_DIGITS, Action, StoredImpact
from tracker.storage.orgs import org_row
from tracker.storage.tables.archive import DiffRow, SourceRow
from tracker.storage.tables.orgs import ImpactItemRow, ImpactRow, OrganisationRow


@dataclass(frozen=True)
class ImpactRecord:
    """A stored impact with its filing: id (a new one on each recompute), organisation id and
    when it was stored."""

    id: int
    org_id: int
    created_at: datetime
    impact: StoredImpact


# Stored impacts are never changed in place (recomputing one writes a new row with a new id),
# so the typed form of each is kept, per engine, by (id, stored at): reading a large worklist
# back into types (every redline parsed) costs more than the review page that shows it.
_TYPED_KEPT = 32
_typed_cache: WeakKeyDictionary[Engine, OrderedDict[tuple[int, datetime], StoredImpact]] = WeakKeyDictionary()
_typed_lock = threading.Lock()
_FILING = (ImpactRow.id, ImpactRow.org_id, ImpactRow.diff_id, ImpactRow.created_at)


def _typed(session: Session, impact_id: int, diff_id: int, created_at: datetime) -> StoredImpact:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    key = (impact_id, created_at)
    with _typed_lock:
        kept = _typed_cache.setdefault(engine, OrderedDict())
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
            return found
    result = session.scalar(select(ImpactRow.result).where(ImpactRow.id == impact_id))
    # the row's own diff id wins over the JSON's (worklists stored before the JSON named it)
    typed = replace(StoredImpact.from_json(result), diff_id=diff_id)
    with _typed_lock:
        kept[key] = typed
        while len(kept) > _TYPED_KEPT:
            kept.popitem(last=False)
    return typed


def _record(
    session: Session, impact_id: int, org_id: int, diff_id: int, created_at: datetime
) -> ImpactRecord:
    return ImpactRecord(impact_id, org_id, created_at, _typed(session, impact_id, diff_id, created_at))


class ImpactStore:
    """Each organisation's stored impact of each diff, and its lines by control and action.

    Only :func:`tracker.impact.service.store_impact` calls :meth:`write`: one writer decides
    what a stored impact holds."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def write(session: Session, impact: StoredImpact) -> int:
        """Store an impact worklist in the caller's transaction, replacing an older one of the
        same organisation and diff (recomputing gives a new row and new line ids)."""
        now = datetime.now(UTC)
        org_id = org_row(session, impact.org).id
        old = session.scalar(
            select(ImpactRow).where(ImpactRow.org_id == org_id, ImpactRow.diff_id == impact.diff_id)
        )
        if old is not None:
            session.delete(old)
            session.flush()
        row = ImpactRow(org_id=org_id, diff_id=impact.diff_id, created_at=now, result=impact.to_json())
        if old is not None and session.get_bind().dialect.name == "sqlite":
            # SQLite hands the largest rowid + 1 out again once that row is deleted, but the
            # API's caches and ETags key on impact ids: a recomputed impact needs a new one.
            # (This transaction holds SQLite's write lock since the delete: no one races it.)
            highest = session.scalar(select(func.max(ImpactRow.id))) or 0
            row.id = max(highest, old.id) + 1
        session.add(row)
        session.flush()
        for item in impact.items:
            # an item with no control (a gap nothing covers) is one line with the item's own
            # action and reason
            lines: list[tuple[str | None, Action, float, str]] = [
                (c.control_id, c.action, c.score, c.reason) for c in item.controls
            ] or [(None, item.action, 0.0, item.reason)]
            for control_id, action, score, reason in lines:
                session.add(
                    ImpactItemRow(
                        impact_id=row.id,
                        org_id=org_id,
                        created_at=now,
                        change_seq=item.seq,
                        change_kind=item.change.kind.value,
                        control_id=control_id,
                        control_key=normalise_key(control_id) if control_id else None,
                        action=action.value,
                        score=round(score, SCORE_DIGITS),
                        reason=reason,
                    )
                )
        return row.id

    @staticmethod
    def read(session: Session, org_id: int, diff_id: int) -> StoredImpact | None:
        """The stored impact as the caller's transaction sees it."""
        query = select(*_FILING).where(ImpactRow.org_id == org_id, ImpactRow.diff_id == diff_id)
        filing = session.execute(query).first()
        return None if filing is None else _record(session, *filing).impact

    def impact(self, org: str, diff_id: int) -> StoredImpact | None:
        with Session(self.engine) as session:
            return self.read(session, org_row(session, org).id, diff_id)

    @staticmethod
    def record_of(session: Session, org_id: int, diff_id: int) -> ImpactRecord | None:
        """The organisation's stored impact of the diff, with its filing, if there is one."""
        query = select(*_FILING).where(ImpactRow.org_id == org_id, ImpactRow.diff_id == diff_id)
        filing = session.execute(query).first()
        return None if filing is None else _record(session, *filing)

    @staticmethod
    def record(session: Session, impact_id: int) -> ImpactRecord | None:
        filing = session.execute(select(*_FILING).where(ImpactRow.id == impact_id)).first()
        return None if filing is None else _record(session, *filing)

    @staticmethod
    def stored_since(
        session: Session, org_id: int, since: datetime, sources: Sequence[str] = ()
    ) -> list[ImpactRecord]:
        """The organisation's stored impacts since a time (of these sources only), in id order."""
        query = (
            select(*_FILING)
            .join(DiffRow, DiffRow.id == ImpactRow.diff_id)
            .join(SourceRow, SourceRow.id == DiffRow.source_id)
            .where(ImpactRow.org_id == org_id, ImpactRow.created_at >= since)
            .order_by(ImpactRow.id)
        )
        if sources:
            query = query.where(SourceRow.slug.in_(sources))
        return [_record(session, *filing) for filing in session.execute(query).all()]

    @staticmethod
    def holders(session: Session, diff_id: int) -> list[str]:
        """The organisations with a stored impact of the diff."""
        query = (
            select(OrganisationRow.slug)
            .join(ImpactRow, ImpactRow.org_id == OrganisationRow.id)
            .where(ImpactRow.diff_id == diff_id)
            .order_by(OrganisationRow.slug)
        )
        return list(session.scalars(query))

    @staticmethod
    def diffs_of(session: Session, org_id: int, source: str = "") -> set[int]:
        """The diffs (of ``source``, or of any) the organisation has a stored impact of."""
        query = select(ImpactRow.diff_id).where(ImpactRow.org_id == org_id)
        if source:
            query = (
                query.join(DiffRow, DiffRow.id == ImpactRow.diff_id)
                .join(SourceRow, SourceRow.id == DiffRow.source_id)
                .where(SourceRow.slug == source)
            )
        return set(session.scalars(query))
