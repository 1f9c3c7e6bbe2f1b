"""Stored diffs: written once per pair, engine version and model; read whole or as headers.

A header is what lists and links need (the source, the version labels, the engine and the
summary counts) and is read without the stored result, which for a large catalogue is
megabytes. The changes of stored diffs are read through :mod:`tracker.storage.changes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, func, select
from sqlalchemy.orm import Session

from tracker.diff.types import DiffResult
from tracker.domain.errors import NotFoundError
from tracker.domain.keys import normalise_key
from tracker.storage.tables.archive import ChangeRow, DiffRow, SourceRow, VersionRow


@dataclass(frozen=True)
class StoredDiff:
    id: int
    created_at: datetime
    result: DiffResult


@dataclass(frozen=True)
class DiffHeader:
    """A stored diff without its result: its pair of versions (ids and labels), engine and
    model, when it was stored and its summary (changes by kind)."""

    id: int
    source: str
    old_version: str
    new_version: str
    old_version_id: int
    new_version_id: int
    engine: str
    model_id: str
    created_at: datetime
    summary: dict[str, Any]


def header_query() -> Select[Any]:
    """Headers of stored diffs, joined to their source and versions; callers add the filter."""
    old_v = VersionRow.__table__.alias("old_v")
    new_v = VersionRow.__table__.alias("new_v")
    return (
        select(
            DiffRow.id,
            SourceRow.slug,
            old_v.c.label,
            new_v.c.label,
            DiffRow.old_version_id,
            DiffRow.new_version_id,
            DiffRow.engine,
            DiffRow.model_id,
            DiffRow.created_at,
            DiffRow.summary,
        )
        .join(SourceRow, SourceRow.id == DiffRow.source_id)
        .join(old_v, old_v.c.id == DiffRow.old_version_id)
        .join(new_v, new_v.c.id == DiffRow.new_version_id)
    )


def header_of(row: Any) -> DiffHeader:
    ident, slug, old, new, old_id, new_id, engine, model_id, created, summary = row
    return DiffHeader(ident, slug, old, new, old_id, new_id, engine, model_id, created, dict(summary or {}))


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
            return self.read(session, diff_id)

    @staticmethod
    def read(session: Session, diff_id: int) -> StoredDiff:
        """:meth:`get` as the caller's transaction sees it (a verdict just corrected in it)."""
        row = session.get(DiffRow, diff_id)
        if row is None:
            raise NotFoundError(f"no diff {diff_id}", "list diffs with `tracker diffs`")
        return StoredDiff(row.id, row.created_at, DiffResult.from_json_dict(row.result))

    # -- headers -------------------------------------------------------------------------------
    def _headers(self, *where: ColumnElement[bool], limit: int | None = None) -> list[DiffHeader]:
        query = header_query().where(*where).order_by(DiffRow.id)
        if limit is not None:
            query = query.limit(limit)
        with Session(self.engine) as session:
            return [header_of(row) for row in session.execute(query)]

    def count(self) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(DiffRow)) or 0)

    def page(self, *, after_id: int, limit: int, source: str | None = None) -> list[DiffHeader]:
        """Headers of the diffs with ``id > after_id`` in id order, of one source if given."""
        where = [DiffRow.id > after_id]
        if source:
            where.append(SourceRow.slug == source)
        return self._headers(*where, limit=limit)

    def header(self, diff_id: int) -> DiffHeader | None:
        found = self._headers(DiffRow.id == diff_id, limit=1)
        return found[0] if found else None

    def headers(self, diff_ids: Iterable[int]) -> dict[int, DiffHeader]:
        """The headers of the diffs named, by id (unknown ids left out)."""
        return {h.id: h for h in self._headers(DiffRow.id.in_(list(diff_ids)))}

    def headers_of_source(self, slug: str) -> list[DiffHeader]:
        """Every stored diff of the source, oldest first."""
        return self._headers(SourceRow.slug == slug)

    def newest_between(self, old_version_id: int, new_version_id: int) -> DiffHeader | None:
        """The newest stored diff of the pair, whatever engine or model made it."""
        query = (
            header_query()
            .where(DiffRow.old_version_id == old_version_id, DiffRow.new_version_id == new_version_id)
            .order_by(DiffRow.id.desc())
            .limit(1)
        )
        with Session(self.engine) as session:
            row = session.execute(query).first()
            return None if row is None else header_of(row)
