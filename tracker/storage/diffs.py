"""Stored diffs and their changes, queryable by source, kind, substantive, tag and date."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, String, cast, select
from sqlalchemy.orm import Session

from tracker.diff.types import ENGINE_VERSION, Change, DiffResult
from tracker.domain.errors import NotFoundError
from tracker.domain.keys import normalise_key
from tracker.storage.tables.archive import ChangeRow, DiffRow, SourceRow, VersionRow


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
class StoredDiff:
    id: int
    created_at: datetime
    result: DiffResult


class DiffStore:
    """Diffs are stored once per (old, new, engine version, model); a rerun returns the stored one.

    A diff made by an older engine is never returned for the running one (``load`` with
    ``ENGINE_VERSION``; :func:`tracker.diff.service.diff_archived` recomputes on demand), and
    its changes say which engine made them (``StoredChange.engine_version``) wherever they are
    listed alongside newer ones.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _version_id(self, session: Session, source_id: int, label: str) -> int:
        vid = session.scalar(
            select(VersionRow.id).where(VersionRow.source_id == source_id, VersionRow.label == label)
        )
        if vid is None:
            raise NotFoundError(f"no version {label!r}", "list versions with `tracker versions SOURCE`")
        return vid

    def _source_id(self, session: Session, slug: str) -> int:
        sid = session.scalar(select(SourceRow.id).where(SourceRow.slug == slug))
        if sid is None:
            raise NotFoundError(f"unknown source {slug!r}", "list sources with `tracker sources`")
        return sid

    def save(self, result: DiffResult) -> StoredDiff:
        with Session(self.engine) as session, session.begin():
            sid = self._source_id(session, result.source)
            old_id = self._version_id(session, sid, result.old_version)
            new_id = self._version_id(session, sid, result.new_version)
            model = result.model_id or ""
            row = session.scalar(
                select(DiffRow).where(
                    DiffRow.old_version_id == old_id,
                    DiffRow.new_version_id == new_id,
                    DiffRow.engine == result.engine_version,
                    DiffRow.model_id == model,
                )
            )
            if row is not None:
                return StoredDiff(row.id, row.created_at, DiffResult.from_json_dict(row.result))
            row = DiffRow(
                source_id=sid,
                old_version_id=old_id,
                new_version_id=new_id,
                engine=result.engine_version,
                model_id=model,
                created_at=datetime.now(UTC),
                summary=result.summary,
                result=result.to_json_dict(),
            )
            session.add(row)
            session.flush()
            for seq, change in enumerate(result.changes):
                session.add(
                    ChangeRow(
                        diff_id=row.id,
                        seq=seq,
                        kind=change.kind.value,
                        substantive=change.substantive,
                        tags=[t.value for t in change.tags],
                        old_ids=list(change.old_ids),
                        new_ids=list(change.new_ids),
                        old_keys=list(change.old_keys or tuple(normalise_key(i) for i in change.old_ids)),
                        new_keys=list(change.new_keys or tuple(normalise_key(i) for i in change.new_ids)),
                        confidence=change.confidence,
                        data=change.to_json_dict(),
                    )
                )
            return StoredDiff(row.id, row.created_at, result)

    def load(self, source: str, old: str, new: str, engine_version: str | None = None) -> StoredDiff | None:
        """The newest stored diff of the pair (for one engine version if given)."""
        with Session(self.engine) as session:
            sid = self._source_id(session, source)
            query = select(DiffRow).where(
                DiffRow.old_version_id == self._version_id(session, sid, old),
                DiffRow.new_version_id == self._version_id(session, sid, new),
            )
            if engine_version:
                query = query.where(DiffRow.engine == engine_version)
            row = session.scalar(query.order_by(DiffRow.id.desc()).limit(1))
            if row is None:
                return None
            return StoredDiff(row.id, row.created_at, DiffResult.from_json_dict(row.result))

    def get(self, diff_id: int) -> StoredDiff:
        with Session(self.engine) as session:
            row = session.get(DiffRow, diff_id)
            if row is None:
                raise NotFoundError(f"no diff {diff_id}", "list diffs with `tracker diffs`")
            return StoredDiff(row.id, row.created_at, DiffResult.from_json_dict(row.result))

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
