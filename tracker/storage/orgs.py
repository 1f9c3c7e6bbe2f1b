"""Organisations, controls (updated in place, with history), mappings and stored impact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.domain.keys import normalise_key
from tracker.mapping.types import Control, Mapping, Provenance, Relationship, ReviewState
from tracker.storage.impacts import ImpactMixin
from tracker.storage.tables.orgs import ControlHistoryRow, ControlRow, MappingRow, OrganisationRow

_SLUG_OK = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Organisation:
    id: int
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    deactivated: int

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("created", "updated", "unchanged", "deactivated")}


@dataclass(frozen=True)
class StoredMapping:
    id: int
    mapping: Mapping
    origin: str
    reviewer: str
    reviewed_at: datetime | None


def _snapshot(row: ControlRow) -> dict[str, Any]:
    return {
        "id": row.ident,
        "title": row.title,
        "description": row.description,
        "owner": row.owner,
        "tags": list(row.tags or ()),
        "family": row.family,
        "parent": row.parent_key,
        "guidance": row.guidance,
        "links": list(row.links or ()),
        "active": row.active,
    }


def _control(row: ControlRow) -> Control:
    return Control(
        id=row.ident,
        key=row.key,
        title=row.title,
        description=row.description,
        owner=row.owner,
        tags=tuple(row.tags or ()),
        family=row.family,
        parent=row.parent_key,
        guidance=row.guidance,
        links=tuple(row.links or ()),
    )


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


class OrgStore(ImpactMixin):
    """Organisations, their controls and mappings; stored impact comes from :class:`ImpactMixin`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- organisations -----------------------------------------------------------------
    def create(self, slug: str, name: str = "") -> Organisation:
        slug = slug.strip().lower()
        if not slug or set(slug) - _SLUG_OK:
            raise InvalidInputError(
                f"invalid organisation name {slug!r}", "use letters, digits, '-', '_' or '.', e.g. acme-bank"
            )
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(OrganisationRow).where(OrganisationRow.slug == slug)) is not None:
                raise ConflictError(f"organisation {slug!r} already exists", "pick another name or reuse it")
            row = OrganisationRow(slug=slug, name=name or slug, created_at=_now())
            session.add(row)
            session.flush()
            return Organisation(row.id, row.slug, row.name, row.created_at)

    def get(self, slug: str) -> Organisation:
        with Session(self.engine) as session:
            row = self._org(session, slug)
            return Organisation(row.id, row.slug, row.name, row.created_at)

    def get_by_id(self, org_id: int) -> Organisation:
        with Session(self.engine) as session:
            row = session.get(OrganisationRow, org_id)
            if row is None:
                raise NotFoundError(f"no organisation {org_id}", "list organisations with `tracker org list`")
            return Organisation(row.id, row.slug, row.name, row.created_at)

    def all(self) -> list[Organisation]:
        with Session(self.engine) as session:
            rows = session.scalars(select(OrganisationRow).order_by(OrganisationRow.slug))
            return [Organisation(r.id, r.slug, r.name, r.created_at) for r in rows]

    def _org(self, session: Session, slug: str) -> OrganisationRow:
        row = session.scalar(select(OrganisationRow).where(OrganisationRow.slug == slug.lower()))
        if row is None:
            raise NotFoundError(
                f"unknown organisation {slug!r}", f"create it with `tracker org create {slug}`"
            )
        return row

    # -- controls ------------------------------------------------------------------------
    def import_controls(
        self, org: str, controls: Sequence[Control], origin: str, *, deactivate_missing: bool = False
    ) -> ImportReport:
        """Create or update controls in one transaction; every change is kept in the history.

        With ``deactivate_missing``, controls earlier imported from the same ``origin`` that
        are absent now are marked inactive (never deleted: mappings and history refer to them).
        """
        keys = [c.key for c in controls]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidInputError(
                f"control {dupes[0]!r} appears twice in the import", "give each control one row"
            )
        created = updated = unchanged = deactivated = 0
        now = _now()
        with Session(self.engine) as session, session.begin():
            org_row = self._org(session, org)
            existing = {
                r.key: r for r in session.scalars(select(ControlRow).where(ControlRow.org_id == org_row.id))
            }
            for control in controls:
                row = existing.get(control.key)
                values = {
                    "ident": control.id,
                    "title": control.title,
                    "description": control.description,
                    "owner": control.owner,
                    "tags": list(control.tags),
                    "family": control.family,
                    "parent_key": control.parent,
                    "guidance": control.guidance,
                    "links": list(control.links),
                    "active": True,
                }
                if row is None:
                    row = ControlRow(
                        org_id=org_row.id,
                        key=control.key,
                        origin=origin,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                    session.add(row)
                    session.flush()
                    session.add(
                        ControlHistoryRow(
                            control_id=row.id, changed_at=now, change="created", snapshot=_snapshot(row)
                        )
                    )
                    created += 1
                    continue
                before = _snapshot(row)
                for name, value in values.items():
                    setattr(row, name, value)
                after = _snapshot(row)
                if after == before:
                    unchanged += 1
                    continue
                row.updated_at = now
                row.origin = origin
                session.add(
                    ControlHistoryRow(control_id=row.id, changed_at=now, change="updated", snapshot=before)
                )
                updated += 1
            if deactivate_missing:
                present = set(keys)
                for key, row in existing.items():
                    if key not in present and row.origin == origin and row.active:
                        session.add(
                            ControlHistoryRow(
                                control_id=row.id,
                                changed_at=now,
                                change="deactivated",
                                snapshot=_snapshot(row),
                            )
                        )
                        row.active = False
                        row.updated_at = now
                        deactivated += 1
        return ImportReport(created, updated, unchanged, deactivated)

    def controls(self, org: str, *, include_inactive: bool = False) -> list[Control]:
        with Session(self.engine) as session:
            org_row = self._org(session, org)
            query = select(ControlRow).where(ControlRow.org_id == org_row.id)
            if not include_inactive:
                query = query.where(ControlRow.active.is_(True))
            return [_control(r) for r in session.scalars(query.order_by(ControlRow.id))]

    def control_history(self, org: str, ident: str) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            org_row = self._org(session, org)
            row = session.scalar(
                select(ControlRow).where(
                    ControlRow.org_id == org_row.id, ControlRow.key == normalise_key(ident)
                )
            )
            if row is None:
                raise NotFoundError(
                    f"{org} has no control {ident!r}", f"list them with `tracker controls list {org}`"
                )
            rows = session.scalars(
                select(ControlHistoryRow)
                .where(ControlHistoryRow.control_id == row.id)
                .order_by(ControlHistoryRow.id)
            )
            return [{"at": h.changed_at, "change": h.change, "snapshot": h.snapshot} for h in rows]

    def deactivate_control(self, org: str, ident: str) -> None:
        now = _now()
        with Session(self.engine) as session, session.begin():
            org_row = self._org(session, org)
            row = session.scalar(
                select(ControlRow).where(
                    ControlRow.org_id == org_row.id, ControlRow.key == normalise_key(ident)
                )
            )
            if row is None or not row.active:
                raise NotFoundError(
                    f"{org} has no control {ident!r}", f"list them with `tracker controls list {org}`"
                )
            session.add(
                ControlHistoryRow(
                    control_id=row.id, changed_at=now, change="deactivated", snapshot=_snapshot(row)
                )
            )
            row.active = False
            row.updated_at = now

    # -- mappings ------------------------------------------------------------------------
    def add_mappings(self, org: str | None, mappings: Sequence[Mapping], origin: str) -> int:
        """Insert or refresh mappings atomically; a reviewer's decision is never overwritten."""
        now = _now()
        with Session(self.engine) as session, session.begin():
            org_id = self._org(session, org).id if org else None
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
                org_id = self._org(session, org).id
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
        org_id = self._org(session, org).id
        row = session.get(MappingRow, mapping_id, with_for_update=True)
        if row is None or row.org_id != org_id:
            raise NotFoundError(
                f"{org} has no mapping {mapping_id}", "list mappings with the API or CLI first"
            )
        row.review = state.value
        row.provenance = Provenance.REVIEWER.value
        row.reviewer = reviewer
        row.reviewed_at = _now()
        if note:
            row.note = note
        session.flush()
        return _mapping(row)
