"""Organisations: the tenants. Their controls, mappings and stored impact have repositories of
their own (:mod:`controls`, :mod:`mappings`, :mod:`impacts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.storage.tables.orgs import OrganisationRow

_SLUG_OK = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def utcnow() -> datetime:
    return datetime.now(UTC)


def org_row(session: Session, slug: str) -> OrganisationRow:
    """The organisation called ``slug`` (slugs are lower case), or a :class:`NotFoundError`."""
    row = session.scalar(select(OrganisationRow).where(OrganisationRow.slug == slug.lower()))
    if row is None:
        raise NotFoundError(f"unknown organisation {slug!r}", f"create it with `tracker org create {slug}`")
    return row


@dataclass(frozen=True)
class Organisation:
    id: int
    slug: str
    name: str
    created_at: datetime


class OrgStore:
    """Organisations: create, look up, list."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, slug: str, name: str = "") -> Organisation:
        slug = slug.strip().lower()
        if not slug or set(slug) - _SLUG_OK:
            raise InvalidInputError(
                f"invalid organisation name {slug!r}", "use letters, digits, '-', '_' or '.', e.g. acme-bank"
            )
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(OrganisationRow).where(OrganisationRow.slug == slug)) is not None:
                raise ConflictError(f"organisation {slug!r} already exists", "pick another name or reuse it")
            row = OrganisationRow(slug=slug, name=name or slug, created_at=utcnow())
            session.add(row)
            session.flush()
            return Organisation(row.id, row.slug, row.name, row.created_at)

    def get(self, slug: str) -> Organisation:
        with Session(self.engine) as session:
            row = org_row(session, slug)
            return Organisation(row.id, row.slug, row.name, row.created_at)

    def get_by_id(self, org_id: int) -> Organisation:
        with Session(self.engine) as session:
            row = session.get(OrganisationRow, org_id)
            if row is None:
                raise NotFoundError(f"no organisation {org_id}", "list organisations with `tracker org list`")
            return Organisation(row.id, row.slug, row.name, row.created_at)

    def page(self, *, after_id: int, limit: int, only_id: int | None = None) -> list[Organisation]:
        """Organisations with ``id > after_id`` in id order; just ``only_id`` if given."""
        query = select(OrganisationRow).where(OrganisationRow.id > after_id)
        if only_id is not None:
            query = query.where(OrganisationRow.id == only_id)
        with Session(self.engine) as session:
            rows = session.scalars(query.order_by(OrganisationRow.id).limit(limit))
            return [Organisation(r.id, r.slug, r.name, r.created_at) for r in rows]

    def all(self) -> list[Organisation]:
        with Session(self.engine) as session:
            rows = session.scalars(select(OrganisationRow).order_by(OrganisationRow.slug))
            return [Organisation(r.id, r.slug, r.name, r.created_at) for r in rows]


def org_ref(engine: Engine, ref: str) -> tuple[int, str] | None:
    """``(id, slug)`` of the organisation named ``ref`` (slugs are lower case), or ``None``:
    one light statement, for the API's per-request tenant lookup."""
    query = select(OrganisationRow.id, OrganisationRow.slug).where(OrganisationRow.slug == ref.lower())
    with engine.connect() as conn:
        row = conn.execute(query).first()
        return None if row is None else (row[0], row[1])
