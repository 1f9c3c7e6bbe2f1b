"""Place the versions archived before versions had roles: companions, and renditions of an
edition (the same text in another format), by the rules new versions are placed with

Revision ID: 0011_roles
Revises: 0010_renditions

A database archived before ``0010_renditions`` holds every version as an edition, so CSF
``2.0`` stays superseded by its own OSCAL rendition ``2.0-oscal`` and the AI RMF ``1.0`` by
its Playbook, and the timeline would diff format against format. Re-archiving cannot fix it
(the same bytes are skipped before they are placed), so this step applies the placement rules
of :mod:`tracker.sources.renditions` to what is stored: a version read only by companion
parsers becomes a companion; an edition labelled ``<label>-<format>`` and read by another
parser than the edition ``<label>`` becomes its rendition, taking the edition's place in the
order and its status; an edition superseded by nothing but its own renditions and companions
is final again. Diffs already stored between such versions are kept as history; they are no
longer timeline steps.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011_roles"
down_revision = "0010_renditions"
branch_labels = None
depends_on = None

_versions = sa.table(
    "versions",
    sa.column("id", sa.Integer),
    sa.column("source_id", sa.Integer),
    sa.column("label", sa.String),
    sa.column("parser", sa.String),
    sa.column("status", sa.String),
    sa.column("ordinal", sa.Integer),
    sa.column("role", sa.String),
    sa.column("rendition_of", sa.String),
)


def upgrade() -> None:
    place_archived(op.get_bind())


def place_archived(bind: sa.Connection) -> None:
    """Apply the placement rules to the versions still stored as editions (see above)."""
    from tracker.sources.formats import companion_formats
    from tracker.sources.renditions import base_label

    companions = companion_formats()
    rows = bind.execute(
        sa.select(
            _versions.c.id,
            _versions.c.source_id,
            _versions.c.label,
            _versions.c.parser,
            _versions.c.status,
            _versions.c.ordinal,
        ).where(_versions.c.role == "edition")
    ).all()
    by_source: dict[int, list[Any]] = {}
    for row in rows:
        by_source.setdefault(row.source_id, []).append(row)
    for versions in by_source.values():
        editions = {v.label: v for v in versions}
        companion_ids: set[int] = set()
        rendition_of: dict[int, int] = {}  # rendition's id -> its edition's id
        for v in versions:
            formats = set(v.parser.split("+")) if v.parser else set()
            if formats and formats <= companions:
                companion_ids.add(v.id)
        for v in versions:
            base = base_label(v.label)
            edition = editions.get(base) if base != v.label else None
            if (
                v.id not in companion_ids
                and edition is not None
                and edition.id not in companion_ids
                and edition.parser != v.parser
            ):
                rendition_of[v.id] = edition.id
        moved = companion_ids | set(rendition_of)
        status = {v.id: v.status for v in versions}
        for v in versions:  # superseded only by what is no longer an edition: final again
            later = [w for w in versions if w.id not in moved and w.ordinal > v.ordinal]
            if (
                v.id not in moved
                and v.status == "superseded"
                and not any(w.status in ("final", "superseded") for w in later)
            ):
                status[v.id] = "final"
                _set(bind, v.id, status="final")
        for v in versions:
            if v.id in companion_ids:
                _set(bind, v.id, role="companion")
            elif v.id in rendition_of:
                head = next(w for w in versions if w.id == rendition_of[v.id])
                _set(
                    bind,
                    v.id,
                    role="rendition",
                    rendition_of=head.label,
                    ordinal=head.ordinal,
                    status=status[head.id],
                )


def _set(bind: sa.Connection, version_id: int, **values: object) -> None:
    bind.execute(_versions.update().where(_versions.c.id == version_id).values(**values))


def downgrade() -> None:
    """Nothing to undo: ``0010_renditions``'s downgrade drops the columns this step filled."""
