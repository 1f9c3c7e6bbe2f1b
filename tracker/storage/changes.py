"""The typed changes of stored diffs: filtered across diffs, or every change of one diff.

A diff's changes are only ever rewritten by a review decision, which adds a decision row in
the same transaction; :meth:`ChangeStore.state` names one state of them (the diff, when it
was stored and its newest decision) so a reader can cache what it built from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, String, cast, func, select
from sqlalchemy.orm import Session

from tracker.diff.types import ENGINE_VERSION, Change, Suggestion
from tracker.domain.errors import NotFoundError
from tracker.storage.diffs import DiffHeader, header_of, header_query
from tracker.storage.tables.archive import ChangeRow, DiffRow, SourceRow, VersionRow
from tracker.storage.tables.review import ReviewDecisionRow


@dataclass(frozen=True)
class StoredChange:
    id: int
    diff_id: int
    source: str
    old_version: str
    new_version: str
    created_at: datetime
    seq: int
    change: Change
    review: dict[str, Any] | None = None  # reviewer state: status, decided_at, revision, original
    engine_version: str = ""  # the engine that made the diff; see ``older_engine``

    @property
    def older_engine(self) -> bool:
        """Made by an engine older than the running one: its verdicts may differ from a rerun."""
        return self.engine_version != ENGINE_VERSION


@dataclass(frozen=True)
class ChangeBrief:
    """One change as a review list shows it: the light columns, the reasons, the stored
    redline text (not parsed) and the review state, without the requirement texts."""

    id: int
    seq: int
    kind: str
    substantive: bool | None
    tags: tuple[str, ...]
    confidence: float
    reasons: tuple[str, ...]
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]
    old_keys: tuple[str, ...]
    new_keys: tuple[str, ...]
    redline: dict[str, str]
    review: dict[str, Any] | None
    # possible successors of a withdrawn requirement, too uncertain to be the engine's link
    suggestions: tuple[Suggestion, ...] = ()


@dataclass(frozen=True)
class DiffState:
    """The versions of a stored diff and what identifies the current state of its changes."""

    diff_id: int
    old_version_id: int
    new_version_id: int
    created_at: datetime
    newest_decision: int | None


@dataclass(frozen=True)
class ChangeIds:
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]


# Plain columns, not ORM entities: building 1,200 mapped objects per review page costs more
# than the query itself.
_BRIEF = (
    ChangeRow.id,
    ChangeRow.seq,
    ChangeRow.kind,
    ChangeRow.substantive,
    ChangeRow.tags,
    ChangeRow.confidence,
    ChangeRow.old_ids,
    ChangeRow.new_ids,
    ChangeRow.old_keys,
    ChangeRow.new_keys,
    ChangeRow.data,
)


def _brief(row: Any) -> ChangeBrief:
    ident, seq, kind, substantive, tags, confidence, old_ids, new_ids, old_keys, new_keys, data = row
    data = dict(data or {})
    return ChangeBrief(
        id=ident,
        seq=seq,
        kind=kind,
        substantive=substantive,
        tags=tuple(tags or ()),
        confidence=float(data.get("confidence", confidence)),  # a reviewer's verdict sets it in data
        reasons=tuple(str(r) for r in data.get("reasons") or ()),
        old_ids=tuple(old_ids or ()),
        new_ids=tuple(new_ids or ()),
        old_keys=tuple(old_keys or ()),
        new_keys=tuple(new_keys or ()),
        redline={str(k): str(v) for k, v in (data.get("redline") or {}).items()},
        review=data.get("review") or None,
        suggestions=tuple(
            Suggestion(
                old_id=str(s.get("old_id", "")),
                new_id=str(s.get("new_id", "")),
                score=float(s.get("score", 0.0)),
                reason=str(s.get("reason", "")),
            )
            for s in data.get("suggestions") or ()
        ),
    )


class ChangeStore:
    """Read repository of stored changes (they are written with their diff by ``DiffStore``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def changes(
        self,
        *,
        source: str | None = None,
        kind: str | None = None,
        substantive: bool | None = None,
        tag: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        diff_id: int | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[StoredChange]:
        """Changes in id order, filtered; ``after_id`` and ``limit`` page through them."""
        old_v = VersionRow.__table__.alias("old_v")
        new_v = VersionRow.__table__.alias("new_v")
        query = (
            select(
                ChangeRow, DiffRow.created_at, DiffRow.engine, SourceRow.slug, old_v.c.label, new_v.c.label
            )
            .join(DiffRow, DiffRow.id == ChangeRow.diff_id)
            .join(SourceRow, SourceRow.id == DiffRow.source_id)
            .join(old_v, old_v.c.id == DiffRow.old_version_id)
            .join(new_v, new_v.c.id == DiffRow.new_version_id)
            .where(ChangeRow.id > after_id)
        )
        if source:
            query = query.where(SourceRow.slug == source)
        if kind:
            query = query.where(ChangeRow.kind == kind)
        if substantive is not None:
            query = query.where(ChangeRow.substantive.is_(substantive))
        if tag:
            query = query.where(cast(ChangeRow.tags, String).like(f'%"{tag}"%'))
        if since:
            query = query.where(DiffRow.created_at >= since)
        if until:
            query = query.where(DiffRow.created_at < until)
        if diff_id is not None:
            query = query.where(ChangeRow.diff_id == diff_id)
        with Session(self.engine) as session:
            rows = session.execute(query.order_by(ChangeRow.id).limit(limit)).all()
            return [
                StoredChange(
                    id=row.id,
                    diff_id=row.diff_id,
                    source=slug,
                    old_version=old_label,
                    new_version=new_label,
                    created_at=created,
                    seq=row.seq,
                    change=replace(
                        Change.from_json_dict(row.data),
                        old_keys=tuple(row.old_keys),
                        new_keys=tuple(row.new_keys),
                    ),
                    review=dict((row.data or {}).get("review") or {}) or None,
                    engine_version=engine_version,
                )
                for row, created, engine_version, slug, old_label, new_label in rows
            ]

    def state(self, diff_id: int) -> DiffState:
        with Session(self.engine) as session:
            newest = (
                select(func.max(ReviewDecisionRow.id))
                .where(ReviewDecisionRow.diff_id == DiffRow.id)
                .scalar_subquery()
            )
            row = session.execute(
                select(DiffRow.old_version_id, DiffRow.new_version_id, DiffRow.created_at, newest).where(
                    DiffRow.id == diff_id
                )
            ).first()
        if row is None:
            raise NotFoundError(f"no diff {diff_id}", "list diffs with `tracker diffs`")
        return DiffState(diff_id, row[0], row[1], row[2], row[3])

    def briefs(self, diff_id: int) -> list[ChangeBrief]:
        """Every change of the diff in the engine's order."""
        with Session(self.engine) as session:
            return briefs_in(session, diff_id)

    def diff_of(self, change_id: int) -> DiffHeader | None:
        """The header of the diff the change belongs to."""
        query = (
            header_query().join(ChangeRow, ChangeRow.diff_id == DiffRow.id).where(ChangeRow.id == change_id)
        )
        with Session(self.engine) as session:
            row = session.execute(query).first()
            return None if row is None else header_of(row)

    def identifiers(self, change_ids: Iterable[int]) -> dict[int, ChangeIds]:
        """The printed identifiers of each change named, on both sides."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(ChangeRow.id, ChangeRow.old_ids, ChangeRow.new_ids).where(
                    ChangeRow.id.in_(list(change_ids))
                )
            )
            return {cid: ChangeIds(tuple(o or ()), tuple(n or ())) for cid, o, n in rows}


def briefs_in(session: Session, diff_id: int) -> list[ChangeBrief]:
    """:meth:`ChangeStore.briefs` as the caller's transaction sees them (a bulk decision)."""
    rows = session.execute(select(*_BRIEF).where(ChangeRow.diff_id == diff_id).order_by(ChangeRow.seq))
    return [_brief(row) for row in rows]
