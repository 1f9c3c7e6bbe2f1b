"""The archive: sources, versions, raw artefacts and requirement trees, on any SQL database.

A version is written in one transaction or not at all; artefacts are content-addressed, so
the same bytes are stored once however many versions share them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from tracker.domain.errors import ConflictError, NotFoundError
from tracker.domain.inputs import check_label, check_slug
from tracker.domain.keys import normalise_key
from tracker.domain.model import (
    Lifecycle,
    ParsedVersion,
    Profile,
    Requirement,
    Source,
    Version,
    VersionRole,
)
from tracker.storage.catalog import artefacts_of, source_of, version_of
from tracker.storage.jobs import JobSpec, write_jobs
from tracker.storage.mappings import write_declared
from tracker.storage.requirement_rows import requirement_of, requirement_values
from tracker.storage.tables.archive import (
    ArtefactRow,
    ProfileRow,
    RequirementRow,
    SourceRow,
    VersionArtefactRow,
    VersionRow,
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(files: Iterable[tuple[str, bytes]]) -> str:
    """Hash of a version's bytes, independent of file names and order."""
    digests = sorted(sha256(data) for _, data in files)
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Archive:
    """Repository for everything ingested. Methods open their own short transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- sources ---------------------------------------------------------------------------
    def ensure_source(self, source: Source) -> None:
        """Create the source, or update its descriptive fields where new ones are given."""
        with Session(self.engine) as session, session.begin():
            self._upsert_source(session, source)

    def _upsert_source(self, session: Session, source: Source) -> SourceRow:
        check_slug(source.slug)
        row = session.scalar(select(SourceRow).where(SourceRow.slug == source.slug))
        if row is None:
            row = SourceRow(slug=source.slug, created_at=_now())
            session.add(row)
        for field in ("title", "publisher", "homepage", "kind", "licence"):
            value = getattr(source, field)
            if value:
                setattr(row, field, value)
            elif getattr(row, field) is None:
                setattr(row, field, "")
        if source.companions:
            row.companions = list(source.companions)
        session.flush()
        return row

    def sources(self) -> list[tuple[Source, int]]:
        """Every source with its number of versions."""
        with Session(self.engine) as session:
            counts = dict(
                session.execute(
                    select(VersionRow.source_id, func.count()).group_by(VersionRow.source_id)
                ).all()
            )
            rows = session.scalars(select(SourceRow).order_by(SourceRow.slug)).all()
            return [(source_of(r), int(counts.get(r.id, 0))) for r in rows]

    def source(self, slug: str) -> Source:
        with Session(self.engine) as session:
            return source_of(self._source_row(session, slug))

    def _source_row(self, session: Session, slug: str) -> SourceRow:
        row = session.scalar(select(SourceRow).where(SourceRow.slug == slug))
        if row is None:
            known = ", ".join(session.scalars(select(SourceRow.slug).order_by(SourceRow.slug))) or "none yet"
            raise NotFoundError(f"unknown source {slug!r}", f"known sources: {known}")
        return row

    # -- versions --------------------------------------------------------------------------
    def add_version(
        self,
        source: Source,
        label: str,
        files: Sequence[tuple[str, bytes]],
        parsed: ParsedVersion,
        *,
        status: Lifecycle = Lifecycle.FINAL,
        published: date | None = None,
        ordinal: int | None = None,
        observed_at: datetime | None = None,
        digest: str | None = None,
        jobs: Sequence[JobSpec] = (),
        role: VersionRole = VersionRole.EDITION,
        rendition_of: str = "",
        partial: str | None = None,
        revision: str = "",
    ) -> tuple[Version, bool]:
        """Store a parsed version with its raw files, atomically.

        Returns ``(version, created)``. The same bytes under the same label are a no-op;
        different bytes under an existing label are refused, because an archived version
        never changes: a new publication is a new version. ``jobs`` (the pipeline's diff
        job) are added to the job ledger in the same transaction as a new version, so a
        crash right after the commit cannot lose the work that follows archiving.

        A rendition (``role``, ``rendition_of``) takes its edition's place in the order and its
        status; only editions supersede one another. ``partial`` (default: what the parsed
        documents say) records why the version holds only part of its publication.
        """
        check_slug(source.slug)
        check_label(label)
        digest = digest or content_hash(files)
        with Session(self.engine) as session, session.begin():
            src = self._upsert_source(session, source)
            existing = session.scalar(
                select(VersionRow).where(VersionRow.source_id == src.id, VersionRow.label == label)
            )
            if existing is not None:
                if existing.content_hash == digest:
                    return self._version(session, existing, src.slug), False
                raise ConflictError(
                    f"{source.slug} {label} is already archived with different content",
                    "archived versions never change; ingest the new bytes under a new --version label",
                )
            edition = None
            if role is VersionRole.RENDITION:
                edition = session.scalar(
                    select(VersionRow).where(VersionRow.source_id == src.id, VersionRow.label == rendition_of)
                )
                if edition is None:
                    raise NotFoundError(
                        f"{source.slug} has no edition {rendition_of!r} for rendition {label!r}",
                        "archive the edition first, or ingest this version as an edition",
                    )
                ordinal, status = edition.ordinal, Lifecycle(edition.status)
            if ordinal is None:
                highest = session.scalar(
                    select(func.max(VersionRow.ordinal)).where(VersionRow.source_id == src.id)
                )
                ordinal = (highest or 0) + 1
            row = VersionRow(
                source_id=src.id,
                label=label,
                title=parsed.title,
                status=str(status),
                published=published or parsed.published,
                observed_at=observed_at or _now(),
                content_hash=digest,
                parser=parsed.parser,
                parser_version=parsed.parser_version,
                ordinal=ordinal,
                requirement_count=len(parsed.requirements),
                role=str(role),
                rendition_of=rendition_of if role is VersionRole.RENDITION else "",
                partial=parsed.partial if partial is None else partial,
                revision=revision,
            )
            session.add(row)
            session.flush()
            for filename, data in files:
                self._store_artefact(session, data, filename)
                session.add(VersionArtefactRow(version_id=row.id, filename=filename, sha256=sha256(data)))
            if parsed.requirements:
                session.execute(
                    insert(RequirementRow), [requirement_values(req, row.id) for req in parsed.requirements]
                )
            for profile in parsed.profiles:
                session.add(
                    ProfileRow(
                        version_id=row.id, name=profile.name, title=profile.title, keys=list(profile.keys)
                    )
                )
            if status is Lifecycle.FINAL and role is VersionRole.EDITION:
                self._supersede_older_finals(session, src.id, row)
            write_declared(session, src.slug, label, parsed.requirements)
            write_jobs(session, jobs)
            session.flush()
            return self._version(session, row, src.slug), True

    def _store_artefact(self, session: Session, data: bytes, filename: str) -> None:
        digest = sha256(data)
        if session.get(ArtefactRow, digest) is None:
            session.add(
                ArtefactRow(
                    sha256=digest,
                    size=len(data),
                    media_type=_media_type(filename),
                    content=data,
                    created_at=_now(),
                )
            )
            session.flush()

    def _supersede_older_finals(self, session: Session, source_id: int, newest: VersionRow) -> None:
        """A final edition supersedes the finals published before it, with their renditions.

        Companions stand outside the succession: they neither supersede nor are superseded.
        """
        in_line = (str(VersionRole.EDITION), str(VersionRole.RENDITION))
        rows = session.scalars(
            select(VersionRow).where(
                VersionRow.source_id == source_id,
                VersionRow.status == str(Lifecycle.FINAL),
                VersionRow.ordinal < newest.ordinal,
                VersionRow.role.in_(in_line),
            )
        )
        for older in rows:
            older.status = str(Lifecycle.SUPERSEDED)
        later_final = session.scalar(
            select(VersionRow.id).where(
                VersionRow.source_id == source_id,
                VersionRow.status.in_([str(Lifecycle.FINAL), str(Lifecycle.SUPERSEDED)]),
                VersionRow.ordinal > newest.ordinal,
                VersionRow.role == str(VersionRole.EDITION),
            )
        )
        if later_final is not None:
            newest.status = str(Lifecycle.SUPERSEDED)

    def adopt_renditions(self, slug: str, edition: str, labels: Sequence[str]) -> None:
        """Make the versions ``labels`` renditions of ``edition``: they take its place in the
        order and its status (an edition archived after its renditions)."""
        if not labels:
            return
        with Session(self.engine) as session, session.begin():
            head = self._version_row(session, slug, edition)
            for label in labels:
                row = self._version_row(session, slug, label)
                row.role, row.rendition_of = str(VersionRole.RENDITION), edition
                row.ordinal, row.status = head.ordinal, head.status

    def _version(self, session: Session, row: VersionRow, slug: str) -> Version:
        return version_of(row, slug, artefacts_of(session, [row.id])[row.id])

    def versions(self, slug: str) -> list[Version]:
        with Session(self.engine) as session:
            src = self._source_row(session, slug)
            rows = session.scalars(
                select(VersionRow)
                .where(VersionRow.source_id == src.id)
                .order_by(VersionRow.ordinal, VersionRow.id)
            ).all()
            return [self._version(session, r, slug) for r in rows]

    def version(self, slug: str, label: str) -> Version:
        with Session(self.engine) as session:
            return self._version(session, self._version_row(session, slug, label), slug)

    def version_id(self, slug: str, label: str) -> int:
        with Session(self.engine) as session:
            return self._version_row(session, slug, label).id

    def _version_row(self, session: Session, slug: str, label: str) -> VersionRow:
        src = self._source_row(session, slug)
        row = session.scalar(
            select(VersionRow).where(VersionRow.source_id == src.id, VersionRow.label == label)
        )
        if row is None:
            labels = ", ".join(
                session.scalars(
                    select(VersionRow.label)
                    .where(VersionRow.source_id == src.id)
                    .order_by(VersionRow.ordinal)
                )
            )
            raise NotFoundError(f"{slug} has no version {label!r}", f"known versions: {labels or 'none'}")
        return row

    def existing(self, slug: str, label: str) -> Version | None:
        """The archived version ``slug`` ``label``, or None."""
        with Session(self.engine) as session:
            src = session.scalar(select(SourceRow).where(SourceRow.slug == slug))
            if src is None:
                return None
            row = session.scalar(
                select(VersionRow).where(VersionRow.source_id == src.id, VersionRow.label == label)
            )
            return None if row is None else self._version(session, row, slug)

    def find_by_hash(self, slug: str, digest: str) -> Version | None:
        """The version of ``slug`` whose bytes hash to ``digest``, if any (used by the spiders)."""
        with Session(self.engine) as session:
            src = session.scalar(select(SourceRow).where(SourceRow.slug == slug))
            if src is None:
                return None
            row = session.scalar(
                select(VersionRow).where(VersionRow.source_id == src.id, VersionRow.content_hash == digest)
            )
            return None if row is None else self._version(session, row, slug)

    # -- requirements ------------------------------------------------------------------------
    def requirements(self, slug: str, label: str) -> tuple[Requirement, ...]:
        with Session(self.engine) as session:
            row = self._version_row(session, slug, label)
            reqs = session.scalars(
                select(RequirementRow).where(RequirementRow.version_id == row.id).order_by(RequirementRow.ord)
            ).all()
            return tuple(requirement_of(r) for r in reqs)

    def requirement(self, slug: str, label: str, ident: str) -> Requirement:
        """One requirement by printed identifier or any cosmetic variant of it."""
        key = normalise_key(ident)
        with Session(self.engine) as session:
            row = self._version_row(session, slug, label)
            req = session.scalar(
                select(RequirementRow).where(RequirementRow.version_id == row.id, RequirementRow.key == key)
            )
            if req is None:
                raise NotFoundError(
                    f"{slug} {label} has no requirement {ident!r}",
                    f"run `tracker show {slug} {label}` to list its requirements",
                )
            return requirement_of(req)

    def profiles(self, slug: str, label: str) -> tuple[Profile, ...]:
        with Session(self.engine) as session:
            row = self._version_row(session, slug, label)
            rows = session.scalars(
                select(ProfileRow).where(ProfileRow.version_id == row.id).order_by(ProfileRow.name)
            ).all()
            return tuple(Profile(name=p.name, title=p.title, keys=tuple(p.keys)) for p in rows)

    def artefact(self, digest: str) -> bytes:
        with Session(self.engine) as session:
            row = session.get(ArtefactRow, digest)
            if row is None:
                raise NotFoundError(
                    f"no artefact {digest}", "list a version's artefacts with `tracker versions`"
                )
            return row.content

    def stats(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            return {
                "sources": session.scalar(select(func.count()).select_from(SourceRow)),
                "versions": session.scalar(select(func.count()).select_from(VersionRow)),
                "requirements": session.scalar(select(func.count()).select_from(RequirementRow)),
                "artefacts": session.scalar(select(func.count()).select_from(ArtefactRow)),
                "artefact_bytes": session.scalar(select(func.coalesce(func.sum(ArtefactRow.size), 0))),
            }


def _media_type(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "json": "application/json",
        "yaml": "application/yaml",
        "yml": "application/yaml",
        "xml": "application/xml",
        "md": "text/markdown",
        "tex": "application/x-tex",
        "html": "text/html",
        "htm": "text/html",
        "pdf": "application/pdf",
    }.get(suffix, "application/octet-stream")
