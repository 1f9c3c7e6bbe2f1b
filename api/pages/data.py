"""Read models of the source-level pages: sources, versions with change counts, timelines.

Each function is a handful of repository reads whose size does not grow with the number of
requirements: version lists and stored diff headers only, never requirement texts.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date

from tracker.diff.types import ENGINE_VERSION, Kind
from tracker.domain.errors import NotFoundError
from tracker.domain.model import Lifecycle, Source, VersionRole
from tracker.storage.archive import Archive
from tracker.storage.catalog import Catalog, VersionSummary
from tracker.storage.db import Engine
from tracker.storage.diffs import DiffHeader, DiffStore

CHANGED_KINDS: tuple[str, ...] = tuple(k.value for k in Kind if k is not Kind.UNCHANGED)
DRAFTS = (Lifecycle.DRAFT.value, Lifecycle.CONSULTATION.value)
FINALS = (Lifecycle.FINAL.value, Lifecycle.SUPERSEDED.value)


@dataclass(frozen=True)
class Rendition:
    """One format of an edition's text: its archived label and the parser that read it."""

    label: str
    format: str


@dataclass(frozen=True)
class VersionView:
    id: int
    label: str
    status: str
    published: date | None
    ordinal: int
    requirements: int
    role: str = "edition"
    partial: str = ""
    renditions: tuple[Rendition, ...] = ()  # the edition's own format first

    @property
    def is_draft(self) -> bool:
        return self.status in DRAFTS

    @property
    def stage(self) -> str:
        """What the publisher called a draft or consultation version (see :func:`stage_name`)."""
        return stage_name(self.label, self.status)


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
    companions: list[VersionView] = field(default_factory=list)
    related: list[tuple[str, bool]] = field(default_factory=list)  # companion sources, archived?

    def step_to(self, label: str) -> Step | None:
        return next((s for s in self.steps if s.new.label == label), None)


def sources(engine: Engine) -> list[tuple[Source, int, VersionView | None]]:
    """Every source with its number of versions and its newest version."""
    return [
        (o.source, o.versions, _version(o.newest) if o.newest is not None else None)
        for o in Catalog(engine).overview()
    ]


def _version(v: VersionSummary, renditions: tuple[Rendition, ...] = ()) -> VersionView:
    own = (Rendition(v.label, v.parser),) if v.parser else ()
    return VersionView(
        v.id, v.label, v.status, v.published, v.ordinal, v.requirements, v.role, v.partial, own + renditions
    )


def _diff(d: DiffHeader) -> DiffView:
    return DiffView(d.id, d.old_version, d.new_version, d.engine, d.model_id, d.summary)


def source_view(engine: Engine, slug: str) -> SourceView:
    """Versions in the publisher's order, the stored diff of each consecutive pair, every
    stored diff, and the consultation pairs (each draft with the first final after it)."""
    source = Archive(engine).source(slug)  # NotFoundError names the known sources
    every = Catalog(engine).versions(slug)
    forms: dict[str, list[Rendition]] = {}
    for v in every:
        if v.role == str(VersionRole.RENDITION):
            forms.setdefault(v.rendition_of, []).append(Rendition(v.label, v.parser))
    # the timeline is the succession of editions: a rendition is shown with its edition, a
    # companion document beside the succession, and neither is diffed as a step
    versions = [
        _version(v, tuple(forms.get(v.label, ()))) for v in every if v.role == str(VersionRole.EDITION)
    ]
    companions = [_version(v) for v in every if v.role == str(VersionRole.COMPANION)]
    stored: dict[tuple[int, int], DiffView] = {}
    for d in DiffStore(engine).headers_of_source(slug):  # oldest first: the newest of a pair wins
        counts = {str(k): int(v) for k, v in d.summary.items()}
        stored[(d.old_version_id, d.new_version_id)] = DiffView(
            d.id, d.old_version, d.new_version, d.engine, d.model_id, counts
        )
    steps = [Step(a, b, stored.get((a.id, b.id))) for a, b in itertools.pairwise(versions)]
    consultations = []
    for i, draft in enumerate(versions):
        if draft.is_draft:
            final = next((v for v in versions[i + 1 :] if v.status in FINALS), None)
            if final is not None:
                consultations.append(Step(draft, final, stored.get((draft.id, final.id))))
    diffs = sorted(stored.values(), key=lambda d: -d.id)
    return SourceView(source, versions, steps, diffs, consultations, companions, _related(engine, source))


def _related(engine: Engine, source: Source) -> list[tuple[str, bool]]:
    """The source's companion sources, named by it or naming it, each with whether it is archived."""
    known = {s.slug: s for s, _ in Archive(engine).sources()}
    slugs = list(source.companions) + [s.slug for s in known.values() if source.slug in s.companions]
    return [(slug, slug in known) for slug in dict.fromkeys(slugs) if slug != source.slug]


def stored_diff(engine: Engine, slug: str, old: str, new: str) -> DiffView | None:
    """The newest stored diff of the pair, whatever engine or model made it."""
    catalog = Catalog(engine)
    sid = catalog.source_id(slug)
    if sid is None:
        raise NotFoundError(f"unknown source {slug!r}", "pick one from the sources page")
    ids = catalog.version_ids(sid, [old, new])
    for label in (old, new):
        if label not in ids:
            raise NotFoundError(f"{slug} has no version {label!r}", "pick one from the source's page")
    found = DiffStore(engine).newest_between(ids[old], ids[new])
    return None if found is None else _diff(found)


def diff_count(engine: Engine) -> int:
    return DiffStore(engine).count()


_STAGES = (
    (re.compile(r"consultation", re.I), "consultation"),
    (re.compile(r"(^|[-_.])fpd([-_.]|$)|final[-_ ]public[-_ ]draft", re.I), "final public draft"),
    (re.compile(r"(^|[-_.])ipd([-_.]|$)|initial[-_ ]public[-_ ]draft", re.I), "initial public draft"),
    (re.compile(r"(^|[-_.])rc\d*([-_.]|$)|release[-_ ]candidate", re.I), "release candidate"),
    (re.compile(r"preview", re.I), "preview"),
    (re.compile(r"draft", re.I), "draft"),
)


def stage_name(label: str, status: str) -> str:
    """The publisher's word for a pre-final version, from its label: "release candidate" for
    ``2025-rc-2024-11-08``, "final public draft" for ``rev5-fpd``, "draft" only where the label
    says draft; "pre-release" when the label names no stage (a status set by hand)."""
    if status not in DRAFTS:
        return status
    for pattern, name in _STAGES:
        if pattern.search(label):
            return name
    return "consultation" if status == Lifecycle.CONSULTATION.value else "pre-release"
