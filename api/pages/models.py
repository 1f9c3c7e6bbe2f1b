"""View models of one change on the review page, filled by :mod:`api.pages.review_data`
(text, redlines) and :mod:`api.pages.org_view` (the organisation's side)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.diff.types import Change, Kind, Tag
from tracker.domain.redline import DELETE, INSERT
from tracker.review.decisions import allowed_kinds
from tracker.review.readings import revision_of
from tracker.storage.decisions import Decision


@dataclass(frozen=True)
class FieldView:
    name: str
    ops: tuple[tuple[int, str], ...]

    @property
    def old_ops(self) -> list[tuple[int, str]]:
        return [(op, text) for op, text in self.ops if op != INSERT]

    @property
    def new_ops(self) -> list[tuple[int, str]]:
        return [(op, text) for op, text in self.ops if op != DELETE]


@dataclass(frozen=True)
class ReqView:
    side: str
    ident: str
    title: str
    statement: str
    guidance: str


@dataclass(frozen=True)
class ControlView:
    control_id: str
    title: str
    action: str
    score: float
    reason: str
    relationship: str = ""
    carried_from: tuple[str, ...] = ()  # predecessors whose mapping was carried along the lineage
    suggested_lineage: bool = False


@dataclass(frozen=True)
class MappingView:
    id: int
    source: str
    target: str
    title: str
    relationship: str
    provenance: str
    confidence: float
    review: str
    reviewer: str
    note: str


@dataclass(frozen=True)
class SuggestionView:
    """A successor the engine suggests for a withdrawn requirement, for a reviewer to confirm."""

    old_id: str
    new_id: str
    score: float
    reason: str


@dataclass
class ChangeView:
    id: int
    seq: int
    kind: str
    substantive: bool | None
    tags: list[str]
    confidence: float
    reasons: list[str]
    old_ids: list[str]
    new_ids: list[str]
    old_keys: list[str]
    new_keys: list[str]
    redline: dict[str, str]
    review: dict[str, Any] | None
    old_titles: list[str] = field(default_factory=list)
    new_titles: list[str] = field(default_factory=list)
    fields: list[FieldView] = field(default_factory=list)
    reqs: list[ReqView] = field(default_factory=list)
    action: str = ""
    action_reason: str = ""
    controls: list[ControlView] = field(default_factory=list)
    mappings: list[MappingView] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    suggestions: list[SuggestionView] = field(default_factory=list)
    own_revision: int | None = None  # set where the shared verdict shows after an undone bulk action

    @property
    def reviewed(self) -> bool:
        return bool(self.review)

    @property
    def label(self) -> str:
        old, new = ", ".join(self.old_ids), ", ".join(self.new_ids)
        return new if old == new else f"{old} → {new}" if old and new else old or new

    @property
    def title(self) -> str:
        return next((t for t in self.new_titles + self.old_titles if t), "")

    @property
    def kinds(self) -> list[str]:
        return [k.value for k in allowed_kinds(self.old_ids, self.new_ids)]

    @property
    def revision(self) -> int:
        """Decisions behind the verdict shown; the forms send it back (see tracker.review.decisions)."""
        review = self.review or {}
        if self.own_revision is not None:
            return self.own_revision
        if review.get("scope") == "organisation":
            return int(review.get("revision", 0))
        return revision_of({"review": self.review})

    @property
    def original(self) -> dict[str, Any] | None:
        return (self.review or {}).get("original")

    def haystack(self) -> str:
        parts = [*self.old_ids, *self.new_ids, *self.old_titles, *self.new_titles, *self.reasons]
        return "\n".join(parts + list(self.redline.values())).lower()

    def to_impact_change(self) -> Change:
        return Change(
            kind=Kind(self.kind),
            old_ids=tuple(self.old_ids),
            new_ids=tuple(self.new_ids),
            substantive=self.substantive,
            tags=tuple(Tag(t) for t in self.tags),
            confidence=self.confidence,
            reasons=tuple(self.reasons),
        )
