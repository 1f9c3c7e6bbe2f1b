"""An organisation's controls: imported and updated in place, every change kept in the history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.domain.inputs import control_character
from tracker.domain.keys import normalise_key
from tracker.mapping.types import Control
from tracker.storage.orgs import org_row, utcnow
from tracker.storage.tables.orgs import ControlHistoryRow, ControlRow


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    deactivated: int

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("created", "updated", "unchanged", "deactivated")}


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


@dataclass(frozen=True)
class ControlRecord:
    """A stored control as the API shows it: its fields and its filing (origin, active, when)."""

    id: int
    ident: str
    key: str
    title: str
    description: str
    owner: str
    tags: tuple[str, ...]
    family: str
    parent: str | None
    origin: str
    active: bool
    created_at: datetime
    updated_at: datetime


def _record(row: ControlRow) -> ControlRecord:
    return ControlRecord(
        id=row.id,
        ident=row.ident,
        key=row.key,
        title=row.title,
        description=row.description,
        owner=row.owner,
        tags=tuple(row.tags or ()),
        family=row.family,
        parent=row.parent_key,
        origin=row.origin,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ControlStore:
    """An organisation's controls (never deleted: mappings and history refer to them)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def import_controls(
        self, org: str, controls: Sequence[Control], origin: str, *, deactivate_missing: bool = False
    ) -> ImportReport:
        """Create or update controls in one transaction; every change is kept in the history.

        With ``deactivate_missing``, controls earlier imported from the same ``origin`` that
        are absent now are marked inactive (never deleted: mappings and history refer to them).
        """
        for control in controls:
            check_storable(control)
        keys = [c.key for c in controls]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidInputError(
                f"control {dupes[0]!r} appears twice in the import", "give each control one row"
            )
        created = updated = unchanged = deactivated = 0
        now = utcnow()
        with Session(self.engine) as session, session.begin():
            owner = org_row(session, org)
            existing = {
                r.key: r for r in session.scalars(select(ControlRow).where(ControlRow.org_id == owner.id))
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
                        org_id=owner.id,
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
            owner = org_row(session, org)
            query = select(ControlRow).where(ControlRow.org_id == owner.id)
            if not include_inactive:
                query = query.where(ControlRow.active.is_(True))
            return [_control(r) for r in session.scalars(query.order_by(ControlRow.id))]

    def control_history(self, org: str, ident: str) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            owner = org_row(session, org)
            row = session.scalar(
                select(ControlRow).where(
                    ControlRow.org_id == owner.id, ControlRow.key == normalise_key(ident)
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
        now = utcnow()
        with Session(self.engine) as session, session.begin():
            owner = org_row(session, org)
            row = session.scalar(
                select(ControlRow).where(
                    ControlRow.org_id == owner.id, ControlRow.key == normalise_key(ident)
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

    def record(self, org_id: int, key: str) -> ControlRecord | None:
        """The organisation's control with this normalised key (active or not), if any."""
        with Session(self.engine) as session:
            row = session.scalar(select(ControlRow).where(ControlRow.org_id == org_id, ControlRow.key == key))
            return None if row is None else _record(row)

    def page(
        self, org_id: int, *, after_id: int, limit: int, include_inactive: bool = False
    ) -> list[ControlRecord]:
        """The organisation's controls with ``id > after_id``, in id order."""
        query = select(ControlRow).where(ControlRow.org_id == org_id, ControlRow.id > after_id)
        if not include_inactive:
            query = query.where(ControlRow.active.is_(True))
        with Session(self.engine) as session:
            return [_record(r) for r in session.scalars(query.order_by(ControlRow.id).limit(limit))]


def check_storable(control: Control) -> None:
    """Every text field of ``control`` as storable text (see :mod:`tracker.domain.inputs`)."""
    fields = {
        "id": control.id,
        "title": control.title,
        "description": control.description,
        "owner": control.owner,
        "family": control.family,
        "parent": control.parent or "",
        **{f"tags[{i}]": tag for i, tag in enumerate(control.tags)},
    }
    for field, value in fields.items():
        found = control_character(value)
        if found:
            raise InvalidInputError(
                f"control {control.id!r}: {field} contains the control character {found}; "
                "nothing was imported",
                "remove it; NUL and other control characters cannot be stored",
            )
