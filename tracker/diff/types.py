"""Result types of the diff engine: typed changes with their evidence, as frozen values.

``Change`` serialises to the diff JSON (the shape the API and the golden files use):
``{"kind", "old_ids", "new_ids", "substantive", "tags", "confidence", "reasons", "redline"}``
with identifiers as the publisher prints them. ``redline`` is ``null`` or an object from
field name (``title``, ``statement``, ``guidance``) to a ``[-old-]{+new+}`` text redline.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.redline import Redline, parse_text, render_text

ENGINE_NAME = "tracker.diff"
# Bump when alignment or classification rules change: stored diffs record it, a stored diff
# is reused only by the engine version that made it, and older ones are shown as such.
ENGINE_VERSION = "1.6.0"


class Kind(enum.StrEnum):
    """What happened to a requirement between two versions."""

    ADDED = "added"
    REMOVED = "removed"
    MOVED = "moved"  # same requirement under another identifier or parent
    SPLIT = "split"  # one old requirement became several new ones
    MERGED = "merged"  # several old requirements became one new one
    MODIFIED = "modified"
    UNCHANGED = "unchanged"


KIND_ORDER: tuple[Kind, ...] = tuple(Kind)


class Tag(enum.StrEnum):
    """Qualifiers of a change; several may apply to one change."""

    OBLIGATION_STRENGTHENED = "obligation_strengthened"
    OBLIGATION_WEAKENED = "obligation_weakened"
    SCOPE_CHANGED = "scope_changed"
    TITLE_CHANGED = "title_changed"
    PARAMETERS_CHANGED = "parameters_changed"
    GUIDANCE_ONLY = "guidance_only"
    # Not verdicts but evidence a reviewer wants to filter on:
    WITHDRAWN = "withdrawn"  # the old requirement is marked withdrawn in the new version
    IDENTIFIER_REUSED = "identifier_reused"  # same identifier, different requirement
    GROUP = "group"  # a grouping node (family, function): carries no obligation itself


FIELDS = ("title", "statement", "guidance")
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class Suggestion:
    """A candidate successor of a withdrawn requirement, too uncertain to be the engine's own link.

    The review page shows it for a person to confirm; nothing downstream acts on it alone.
    """

    new_id: str
    score: float
    reason: str
    old_id: str = ""  # the withdrawn requirement it would succeed (a merge holds several)
    new_key: str = field(default="", compare=False)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "old_id": self.old_id,
            "new_id": self.new_id,
            "score": round(self.score, 3),
            "reason": self.reason,
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Suggestion:
        return cls(
            new_id=str(data["new_id"]),
            score=float(data.get("score", 0.0)),
            reason=str(data.get("reason", "")),
            old_id=str(data.get("old_id", "")),
        )


@dataclass(frozen=True)
class Change:
    """One typed change. ``substantive`` is ``None`` where the question does not apply."""

    kind: Kind
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]
    substantive: bool | None = None
    tags: tuple[Tag, ...] = ()
    confidence: float = 1.0
    reasons: tuple[str, ...] = ()
    redlines: tuple[tuple[str, Redline], ...] = ()  # (field, redline), fields in FIELDS order
    old_keys: tuple[str, ...] = field(default=(), compare=False)
    new_keys: tuple[str, ...] = field(default=(), compare=False)
    # Lineage candidates below the confidence floor, best first (at most MAX_SUGGESTIONS).
    suggestions: tuple[Suggestion, ...] = ()

    def redline_for(self, name: str) -> Redline | None:
        for field_name, red in self.redlines:
            if field_name == name:
                return red
        return None

    def to_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind.value,
            "old_ids": list(self.old_ids),
            "new_ids": list(self.new_ids),
            "substantive": self.substantive,
            "tags": [t.value for t in self.tags],
            "confidence": round(self.confidence, 3),
            "reasons": list(self.reasons),
            "redline": {name: render_text(red) for name, red in self.redlines} if self.redlines else None,
        }
        if self.suggestions:  # absent rather than empty: most changes never have any
            data["suggestions"] = [s.to_json_dict() for s in self.suggestions]
        return data

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Change:
        redline = data.get("redline") or {}
        return cls(
            kind=Kind(data["kind"]),
            old_ids=tuple(data.get("old_ids", ())),
            new_ids=tuple(data.get("new_ids", ())),
            substantive=data.get("substantive"),
            tags=tuple(Tag(t) for t in data.get("tags", ())),
            confidence=float(data.get("confidence", 1.0)),
            reasons=tuple(data.get("reasons", ())),
            redlines=tuple((name, parse_text(text)) for name, text in redline.items()),
            suggestions=tuple(Suggestion.from_json_dict(s) for s in data.get("suggestions") or ()),
        )


@dataclass(frozen=True)
class DiffResult:
    """Every requirement of both versions, classified; ``summary`` counts changes by kind."""

    source: str
    old_version: str
    new_version: str
    engine_version: str
    model_id: str | None
    changes: tuple[Change, ...]
    # Set when one side holds only part of the publication: what the diff was restricted to
    # (a requirement the partial side does not hold is neither removed nor added).
    scope: str = ""

    @property
    def summary(self) -> dict[str, int]:
        counts = {kind.value: 0 for kind in KIND_ORDER}
        for change in self.changes:
            counts[change.kind.value] += 1
        return counts

    def by_kind(self, kind: Kind) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind is kind)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "engine": {"name": ENGINE_NAME, "version": self.engine_version, "model": self.model_id},
            "summary": self.summary,
            **({"scope": self.scope} if self.scope else {}),
            "changes": [c.to_json_dict() for c in self.changes],
        }

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> DiffResult:
        engine = data.get("engine") or {}
        return cls(
            source=str(data.get("source", "")),
            old_version=str(data.get("old_version", "")),
            new_version=str(data.get("new_version", "")),
            engine_version=str(engine.get("version", "")),
            model_id=engine.get("model"),
            changes=tuple(Change.from_json_dict(c) for c in data.get("changes", ())),
            scope=str(data.get("scope") or ""),
        )
