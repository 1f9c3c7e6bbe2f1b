"""Read models of the source-level pages: sources, versions with change counts, timelines.

Each function is a handful of SQL statements whose size does not grow with the number of
requirements: version lists and stored diff summaries only, never requirement texts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.diff.types import ENGINE_VERSION, Kind
from tracker.domain.errors import NotFoundError
from tracker.domain.model import Lifecycle, Source
from tracker.storage.archive import Archive
from tracker.storage.tables.archive import DiffRow, SourceRow, VersionRow

CHANGED_KINDS: tuple[str, ...] = tuple(k.value for k in Kind if k is not Kind.UNCHANGED)
DRAFTS = (Lifecycle.DRAFT.value, Lifecycle.CONSULTATION.value)
FINALS = (Lifecycle.FINAL.value, Lifecycle.SUPERSEDED.value)


@dataclass(frozen=True)
class VersionView:
    id: int
    label: str
    status: str
    published: date | None
    ordinal: int
    requirements: int

    @property
    def is_draft(self) -> bool:
        return self.status in DRAFTS


@dataclass(frozen=True)
class DiffView:
    id: int
    old: str
    new: str
    engine: str
    model_id: str
    summary: dict[str, int]

    @property
    def changed(self) -> int:
        return sum(self.summary.get(k, 0) for k in CHANGED_KINDS)

    @property
    def older_engine(self) -> bool:
        """Made by an older engine than the running one (verdicts may differ from a rerun)."""
        return self.engine != ENGINE_VERSION

    @property
    def current_engine(self) -> str:
        return ENGINE_VERSION


@dataclass(frozen=True)
class Step:
    """Two consecutive versions and, if stored, the diff between them."""

    old: VersionView
    new: VersionView
    diff: DiffView | None


@dataclass(frozen=True)
class SourceView:
    source: Source
    versions: list[VersionView]
    steps: list[Step]
    diffs: list[DiffView] = field(default_factory=list)  # every stored diff, newest pair first
    consultations: list[Step] = field(default_factory=list)

    def step_to(self, label: str) -> Step | None:
        return next((s for s in self.steps if s.new.label == label), None)


def sources(engine: Engine) -> list[tuple[Source, int, VersionView | None]]:
    """Every source with its number of versions and its newest version."""
    out: list[tuple[Source, int, VersionView | None]] = []
    with Session(engine) as session:
        newest: dict[int, VersionRow] = {}
        for row in session.scalars(select(VersionRow).order_by(VersionRow.ordinal, VersionRow.id)):
            newest[row.source_id] = row
        ids = {slug: i for slug, i in session.execute(select(SourceRow.slug, SourceRow.id))}
    for source, count in Archive(engine).sources():
        last = newest.get(ids.get(source.slug, -1))
        out.append((source, count, _version(last) if last is not None else None))
    return out


def _version(row: VersionRow) -> VersionView:
    return VersionView(row.id, row.label, row.status, row.published, row.ordinal, row.requirement_count)


def source_view(engine: Engine, slug: str) -> SourceView:
    """Versions in the publisher's order, the stored diff of each consecutive pair, every
    stored diff, and the consultation pairs (each draft with the first final after it)."""
    source = Archive(engine).source(slug)  # NotFoundError names the known sources
    with Session(engine) as session:
        sid = session.scalar(select(SourceRow.id).where(SourceRow.slug == slug))
        rows = session.scalars(
            select(VersionRow).where(VersionRow.source_id == sid).order_by(VersionRow.ordinal, VersionRow.id)
        ).all()
        versions = [_version(r) for r in rows]
        labels = {v.id: v.label for v in versions}
        stored: dict[tuple[int, int], DiffView] = {}
        for d in session.scalars(select(DiffRow).where(DiffRow.source_id == sid).order_by(DiffRow.id)):
            stored[(d.old_version_id, d.new_version_id)] = DiffView(
                d.id,
                labels.get(d.old_version_id, "?"),
                labels.get(d.new_version_id, "?"),
                d.engine,
                d.model_id,
                {str(k): int(v) for k, v in (d.summary or {}).items()},
            )
    steps = [Step(a, b, stored.get((a.id, b.id))) for a, b in itertools.pairwise(versions)]
    consultations = []
    for i, draft in enumerate(versions):
        if draft.is_draft:
            final = next((v for v in versions[i + 1 :] if v.status in FINALS), None)
            if final is not None:
                consultations.append(Step(draft, final, stored.get((draft.id, final.id))))
    diffs = sorted(stored.values(), key=lambda d: -d.id)
    return SourceView(source, versions, steps, diffs, consultations)


def stored_diff(engine: Engine, slug: str, old: str, new: str) -> DiffView | None:
    """The newest stored diff of the pair, whatever engine or model made it."""
    with Session(engine) as session:
        sid = session.scalar(select(SourceRow.id).where(SourceRow.slug == slug))
        if sid is None:
            raise NotFoundError(f"unknown source {slug!r}", "pick one from the sources page")
        ids = {
            label: vid
            for label, vid in session.execute(
                select(VersionRow.label, VersionRow.id).where(
                    VersionRow.source_id == sid, VersionRow.label.in_([old, new])
                )
            )
        }
        for label in (old, new):
            if label not in ids:
                raise NotFoundError(f"{slug} has no version {label!r}", "pick one from the source's page")
        row = session.scalar(
            select(DiffRow)
            .where(DiffRow.old_version_id == ids[old], DiffRow.new_version_id == ids[new])
            .order_by(DiffRow.id.desc())
            .limit(1)
        )
        if row is None:
            return None
        return DiffView(row.id, old, new, row.engine, row.model_id, dict(row.summary or {}))


def diff_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(DiffRow)) or 0)
