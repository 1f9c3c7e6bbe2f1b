"""The catalogue: what the archive holds, read for listing, with the database ids that page it.

:class:`tracker.storage.archive.Archive` writes versions and reads them by name; the
catalogue answers the listing questions of the API and the pages: sources with their counts,
a source's versions, a version's requirements a page at a time (ordered by id, so a cursor
stays stable while rows are added), and the titles or texts of the requirements a review
page shows. Each answer is one or two statements whatever the size of the archive, and
reads only the columns it returns (never the requirement texts of a whole version).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.domain.model import Artefact, Lifecycle, Source, Version, VersionRole
from tracker.storage.tables.archive import (
    ArtefactRow,
    RequirementRow,
    SourceRow,
    VersionArtefactRow,
    VersionRow,
)

_CHUNK = 500  # bound on the parameters of one IN (...) list


@dataclass(frozen=True)
class SourceEntry:
    """A source with its database id and its number of archived versions."""

    id: int
    source: Source
    versions: int


@dataclass(frozen=True)
class VersionSummary:
    """A version's light columns: enough to list, order and pair versions."""

    id: int
    label: str
    status: str
    published: date | None
    ordinal: int
    requirements: int
    role: str = "edition"
    rendition_of: str = ""
    partial: str = ""
    parser: str = ""


@dataclass(frozen=True)
class SourceOverview:
    """A source, its number of versions and its newest version in the publisher's order."""

    source: Source
    versions: int
    newest: VersionSummary | None


@dataclass(frozen=True)
class VersionEntry:
    id: int
    version: Version


@dataclass(frozen=True)
class RequirementEntry:
    """A requirement's place in its version's tree, without its text."""

    id: int
    ident: str
    key: str
    kind: str
    title: str
    parent: str | None
    withdrawn: bool


@dataclass(frozen=True)
class RequirementText:
    ident: str
    key: str
    title: str
    statement: str
    guidance: str


def source_of(row: SourceRow) -> Source:
    return Source(
        slug=row.slug,
        title=row.title,
        publisher=row.publisher,
        homepage=row.homepage,
        kind=row.kind,
        licence=row.licence,
        companions=tuple(row.companions or ()),
    )


def version_of(row: VersionRow, slug: str, artefacts: Sequence[Artefact]) -> Version:
    return Version(
        source=slug,
        label=row.label,
        status=Lifecycle(row.status),
        published=row.published,
        observed_at=row.observed_at,
        content_hash=row.content_hash,
        parser=row.parser,
        parser_version=row.parser_version,
        ordinal=row.ordinal,
        requirement_count=row.requirement_count,
        artefacts=tuple(artefacts),
        role=VersionRole(row.role or "edition"),
        rendition_of=row.rendition_of or "",
        partial=row.partial or "",
        revision=row.revision or "",
    )


def artefacts_of(session: Session, version_ids: Sequence[int]) -> dict[int, list[Artefact]]:
    """The artefacts of each version, by file name, in one statement per chunk of versions."""
    out: dict[int, list[Artefact]] = {vid: [] for vid in version_ids}
    ids = list(out)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                VersionArtefactRow.version_id,
                VersionArtefactRow.filename,
                ArtefactRow.sha256,
                ArtefactRow.size,
                ArtefactRow.media_type,
            )
            .join(ArtefactRow, ArtefactRow.sha256 == VersionArtefactRow.sha256)
            .where(VersionArtefactRow.version_id.in_(ids[start : start + _CHUNK]))
            .order_by(VersionArtefactRow.version_id, VersionArtefactRow.filename)
        )
        for vid, filename, digest, size, media_type in rows:
            out[vid].append(Artefact(sha256=digest, filename=filename, size=size, media_type=media_type))
    return out


def _summary(row: VersionRow) -> VersionSummary:
    return VersionSummary(
        row.id,
        row.label,
        row.status,
        row.published,
        row.ordinal,
        row.requirement_count,
        row.role,
        row.rendition_of,
        row.partial,
        row.parser,
    )


class Catalog:
    """Read repository of the archive's sources, versions and requirements."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- sources ---------------------------------------------------------------------------
    def source_id(self, slug: str) -> int | None:
        with Session(self.engine) as session:
            return session.scalar(select(SourceRow.id).where(SourceRow.slug == slug))

    def source_entry(self, slug: str) -> SourceEntry | None:
        with Session(self.engine) as session:
            row = session.scalar(select(SourceRow).where(SourceRow.slug == slug))
            if row is None:
                return None
            count = session.scalar(
                select(func.count()).select_from(VersionRow).where(VersionRow.source_id == row.id)
            )
            return SourceEntry(row.id, source_of(row), int(count or 0))

    def source_page(self, *, after_id: int, limit: int) -> list[SourceEntry]:
        """Sources with ``id > after_id`` in id order, with their version counts."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(SourceRow).where(SourceRow.id > after_id).order_by(SourceRow.id).limit(limit)
            ).all()
            counts = dict(
                session.execute(
                    select(VersionRow.source_id, func.count())
                    .where(VersionRow.source_id.in_([r.id for r in rows]))
                    .group_by(VersionRow.source_id)
                ).all()
            )
            return [SourceEntry(r.id, source_of(r), int(counts.get(r.id, 0))) for r in rows]

    def overview(self) -> list[SourceOverview]:
        """Every source by slug, with its number of versions (renditions not counted) and its
        newest edition."""
        with Session(self.engine) as session:
            sources = session.scalars(select(SourceRow).order_by(SourceRow.slug)).all()
            counts: dict[int, int] = {}
            newest: dict[int, VersionSummary] = {}
            for row in session.scalars(select(VersionRow).order_by(VersionRow.ordinal, VersionRow.id)):
                if row.role == str(VersionRole.RENDITION):
                    continue  # the same text as an edition, in another format: not a version of its own
                counts[row.source_id] = counts.get(row.source_id, 0) + 1
                if row.role == str(VersionRole.EDITION):
                    newest[row.source_id] = _summary(row)
            return [SourceOverview(source_of(r), counts.get(r.id, 0), newest.get(r.id)) for r in sources]

    # -- versions --------------------------------------------------------------------------
    def versions(self, slug: str) -> list[VersionSummary]:
        """The source's versions in the publisher's order (empty for an unknown source)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(VersionRow)
                .join(SourceRow, SourceRow.id == VersionRow.source_id)
                .where(SourceRow.slug == slug)
                .order_by(VersionRow.ordinal, VersionRow.id)
            )
            return [_summary(r) for r in rows]

    def version_ids(self, source_id: int, labels: Iterable[str]) -> dict[str, int]:
        """The ids of those of ``labels`` the source has, by label."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(VersionRow.label, VersionRow.id).where(
                    VersionRow.source_id == source_id, VersionRow.label.in_(list(labels))
                )
            )
            return {label: vid for label, vid in rows}

    def version_page(
        self, slug: str, *, after_id: int, limit: int, status: Lifecycle | None = None
    ) -> list[VersionEntry]:
        """The source's versions with ``id > after_id`` in id order, with their artefacts."""
        query = (
            select(VersionRow)
            .join(SourceRow, SourceRow.id == VersionRow.source_id)
            .where(SourceRow.slug == slug, VersionRow.id > after_id)
        )
        if status is not None:
            query = query.where(VersionRow.status == str(status))
        with Session(self.engine) as session:
            rows = session.scalars(query.order_by(VersionRow.id).limit(limit)).all()
            artefacts = artefacts_of(session, [r.id for r in rows])
            return [VersionEntry(r.id, version_of(r, slug, artefacts[r.id])) for r in rows]

    # -- requirements ------------------------------------------------------------------------
    def requirement_page(self, version_id: int, *, after_id: int, limit: int) -> list[RequirementEntry]:
        """The version's requirements with ``id > after_id``; id order is document order."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(
                    RequirementRow.id,
                    RequirementRow.ident,
                    RequirementRow.key,
                    RequirementRow.kind,
                    RequirementRow.title,
                    RequirementRow.parent_key,
                    RequirementRow.withdrawn,
                )
                .where(RequirementRow.version_id == version_id, RequirementRow.id > after_id)
                .order_by(RequirementRow.id)
                .limit(limit)
            )
            return [RequirementEntry(*row) for row in rows]

    def requirement_titles(self, version_ids: Iterable[int]) -> dict[tuple[int, str], str]:
        """Every requirement title of the versions, by (version id, key)."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(RequirementRow.version_id, RequirementRow.key, RequirementRow.title).where(
                    RequirementRow.version_id.in_(list(version_ids))
                )
            )
            return {(vid, key): title for vid, key, title in rows}

    def requirement_texts(self, version_id: int, keys: Sequence[str]) -> dict[str, RequirementText]:
        """The texts of the named requirements of one version, by key (unknown keys left out)."""
        found: dict[str, RequirementText] = {}
        with Session(self.engine) as session:
            for start in range(0, len(keys), _CHUNK):
                rows = session.execute(
                    select(
                        RequirementRow.ident,
                        RequirementRow.key,
                        RequirementRow.title,
                        RequirementRow.statement,
                        RequirementRow.guidance,
                    ).where(
                        RequirementRow.version_id == version_id,
                        RequirementRow.key.in_(keys[start : start + _CHUNK]),
                    )
                )
                for row in rows:
                    found[row.key] = RequirementText(*row)
        return found
