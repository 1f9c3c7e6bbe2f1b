"""Requirement -> control mappings: an organisation's own, and crosswalks between standards
(``org_id`` null). A reviewer's decision outranks any machine or published assertion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from tracker.domain.errors import NotFoundError
from tracker.domain.model import Requirement
from tracker.mapping.crosswalks.declared import declared_crosswalk, origin
from tracker.mapping.types import Mapping, Provenance, Relationship, ReviewState
from tracker.storage.orgs import org_row, utcnow
from tracker.storage.tables.orgs import MappingRow


@dataclass(frozen=True)
class StoredMapping:
    id: int
    mapping: Mapping
    origin: str
    reviewer: str
    reviewed_at: datetime | None


def _mapping(row: MappingRow) -> StoredMapping:
    mapping = Mapping(
        source=row.source_id,
        target=row.target_id,
        relationship=Relationship(row.relationship),
        provenance=Provenance(row.provenance),
        confidence=row.confidence,
        review=ReviewState(row.review),
        versions=tuple(row.versions or ()),
        source_set=row.source_set,
        target_set=row.target_set,
        note=row.note,
        via=tuple(row.via or ()),
    )
    return StoredMapping(row.id, mapping, row.origin, row.reviewer, row.reviewed_at)


def write_declared(session: Session, source: str, label: str, requirements: Sequence[Requirement]) -> int:
    """Store the crosswalk one archived version declares, in the caller's transaction.

    Called by the archive as it stores the version, so the version and the references it
    makes are committed together; writing it again replaces it (a re-parse of the version).
    """
    session.execute(delete(MappingRow).where(MappingRow.origin == origin(source, label)))
    declared = declared_crosswalk(source, label, requirements)
    now = utcnow()
    session.add_all(
        MappingRow(
            org_id=None,
            created_at=now,
            source_set=m.source_set,
            source_id=m.source,
            source_key=m.source_key,
            target_set=m.target_set,
            target_id=m.target,
            target_key=m.target_key,
            relationship=m.relationship.value,
            provenance=m.provenance.value,
            confidence=m.confidence,
            review=m.review.value,
            versions=list(m.versions),
            note=m.note,
            via=list(m.via),
            origin=origin(source, label),
        )
        for m in declared
    )
    return len(declared)


class MappingStore:
    """Mappings and crosswalks, with their review state."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_mappings(self, org: str | None, mappings: Sequence[Mapping], origin: str) -> int:
        """Insert or refresh mappings atomically; a reviewer's decision is never overwritten."""
        now = utcnow()
        with Session(self.engine) as session, session.begin():
            org_id = org_row(session, org).id if org else None
            query = select(MappingRow).where(
                MappingRow.org_id.is_(None) if org_id is None else MappingRow.org_id == org_id
            )
            existing = {
                (r.source_set, r.source_key, r.target_set, r.target_key): r for r in session.scalars(query)
            }
            written = 0
            for m in mappings:
                ident = (m.source_set, m.source_key, m.target_set, m.target_key)
                row = existing.get(ident)
                if row is not None and row.provenance == Provenance.REVIEWER.value:
                    continue
                if row is None:
                    row = MappingRow(org_id=org_id, created_at=now)
                    session.add(row)
                    existing[ident] = row
                row.source_set, row.source_id, row.source_key = m.source_set, m.source, m.source_key
                row.target_set, row.target_id, row.target_key = m.target_set, m.target, m.target_key
                row.relationship = m.relationship.value
                row.provenance = m.provenance.value
                row.confidence = m.confidence
                row.review = m.review.value
                row.versions = list(m.versions)
                row.note = m.note
                row.via = list(m.via)
                row.origin = origin
                written += 1
            return written

    def mappings(
        self,
        org: str | None,
        *,
        source_set: str | None = None,
        target_set: str | None = None,
        review: ReviewState | None = None,
        include_global: bool = False,
    ) -> list[StoredMapping]:
        """An organisation's mappings (plus crosswalks between standards with ``include_global``)."""
        with Session(self.engine) as session:
            query = select(MappingRow)
            if org:
                org_id = org_row(session, org).id
                query = query.where(
                    (MappingRow.org_id == org_id) | MappingRow.org_id.is_(None)
                    if include_global
                    else MappingRow.org_id == org_id
                )
            else:
                query = query.where(MappingRow.org_id.is_(None))
            if source_set:
                query = query.where(MappingRow.source_set == source_set)
            if target_set:
                query = query.where(MappingRow.target_set == target_set)
            if review is not None:
                query = query.where(MappingRow.review == review.value)
            return [_mapping(r) for r in session.scalars(query.order_by(MappingRow.id))]

    def get(self, org_id: int, mapping_id: int) -> StoredMapping | None:
        """The organisation's mapping ``mapping_id``; None if it is another's or does not exist."""
        with Session(self.engine) as session:
            row = session.get(MappingRow, mapping_id)
            return None if row is None or row.org_id != org_id else _mapping(row)

    def page(
        self,
        org_id: int,
        *,
        after_id: int,
        limit: int,
        review: ReviewState | None = None,
        source_set: str | None = None,
        target_key: str | None = None,
    ) -> list[StoredMapping]:
        """The organisation's mappings with ``id > after_id`` in id order, filtered."""
        query = select(MappingRow).where(MappingRow.org_id == org_id, MappingRow.id > after_id)
        if review is not None:
            query = query.where(MappingRow.review == review.value)
        if source_set:
            query = query.where(MappingRow.source_set == source_set)
        if target_key is not None:
            query = query.where(MappingRow.target_key == target_key)
        with Session(self.engine) as session:
            return [_mapping(r) for r in session.scalars(query.order_by(MappingRow.id).limit(limit))]

    def of_pair(
        self, org_id: int, mapping: Mapping, *, provenance: Provenance | None = None
    ) -> StoredMapping | None:
        """The organisation's stored mapping between the same requirement and control as
        ``mapping`` (sets and keys; relationship aside), of one provenance if given."""
        query = select(MappingRow).where(
            MappingRow.org_id == org_id,
            MappingRow.source_set == mapping.source_set,
            MappingRow.source_key == mapping.source_key,
            MappingRow.target_set == mapping.target_set,
            MappingRow.target_key == mapping.target_key,
        )
        if provenance is not None:
            query = query.where(MappingRow.provenance == provenance.value)
        with Session(self.engine) as session:
            row = session.scalar(query.order_by(MappingRow.id).limit(1))
            return None if row is None else _mapping(row)

    def review_mapping(
        self, org: str, mapping_id: int, state: ReviewState, reviewer: str, note: str = ""
    ) -> StoredMapping:
        """Record a reviewer's decision; it then outranks any machine or published assertion."""
        with Session(self.engine) as session, session.begin():
            return self.apply_mapping_review(session, org, mapping_id, state, reviewer, note)

    def apply_mapping_review(
        self, session: Session, org: str, mapping_id: int, state: ReviewState, reviewer: str, note: str = ""
    ) -> StoredMapping:
        """:meth:`review_mapping` inside the caller's transaction."""
        org_id = org_row(session, org).id
        row = session.get(MappingRow, mapping_id, with_for_update=True)
        if row is None or row.org_id != org_id:
            raise NotFoundError(
                f"{org} has no mapping {mapping_id}", "list mappings with the API or CLI first"
            )
        row.review = state.value
        row.provenance = Provenance.REVIEWER.value
        row.reviewer = reviewer
        row.reviewed_at = utcnow()
        if note:
            row.note = note
        session.flush()
        return _mapping(row)
