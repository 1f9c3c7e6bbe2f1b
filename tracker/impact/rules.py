"""Change impact: which of an organisation's controls to look at, for each changed requirement.

Input: the diff's changes (shaped like ``tracker diff --format json``), the organisation's
requirement→control mappings for the old version (and, optionally, mappings already known
for the new version, e.g. carried over or propagated), and a :class:`Mapper` over its
controls for suggesting candidates where nothing maps.

Actions, per affected control:

``reassess``  the requirement changed in substance (or was split/merged, or moved with
              a substantive edit) and this control is mapped to it.
``gap``       nothing covers a new requirement, or a substantive/strengthened one that
              no control was mapped to; the controls listed are the mapper's
              suggestions, scored by its calibrated score.
``retire``    the requirement was withdrawn: the mapping points at nothing any more.
``none``      the change is editorial (or a plain renumbering): keep the control,
              update the reference.

Scores: for mapped controls, change confidence x mapping confidence (how sure we are the
action applies); for gap suggestions, the mapper's calibrated score.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any

from tracker.domain.errors import InvalidInputError
from tracker.domain.keys import normalise_key
from tracker.mapping.documents import MapQuery
from tracker.mapping.mapper import Mapper
from tracker.mapping.types import Mapping, Relationship, ReviewState

KINDS = frozenset(
    {"added", "removed", "moved", "split", "merged", "modified", "unchanged", "renamed", "renumbered"}
)
_EDITORIAL_TAGS = frozenset({"guidance_only", "title_changed"})
_TAG_WORDS = {
    "obligation_strengthened": "obligation strengthened",
    "obligation_weakened": "obligation weakened",
    "scope_changed": "scope changed",
    "parameters_changed": "parameters changed",
    "title_changed": "title changed",
    "guidance_only": "guidance text only",
    "withdrawn": "marked withdrawn",
    "identifier_reused": "identifier reused for a different requirement",
}


class Action(enum.StrEnum):
    REASSESS = "reassess"
    GAP = "gap"
    RETIRE = "retire"
    NONE = "none"


_PRIORITY = {Action.GAP: 0, Action.REASSESS: 1, Action.RETIRE: 2, Action.NONE: 3}


@dataclass(frozen=True)
class Change:
    """One typed change of a diff, as the diff engine's JSON gives it (ids as printed)."""

    kind: str
    old_ids: tuple[str, ...] = ()
    new_ids: tuple[str, ...] = ()
    substantive: bool | None = None
    tags: tuple[str, ...] = ()
    confidence: float = 1.0
    reasons: tuple[str, ...] = ()
    redline: str | dict[str, str] | None = None  # as the diff gives it: null, text, or field -> text

    @classmethod
    def from_dict(cls, data: MappingABC[str, Any], where: str = "$") -> Change:
        """Validate one change object; errors name the JSON path and the fix."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise InvalidInputError(
                f"{where}.kind: unknown change kind {kind!r}", f"use one of {', '.join(sorted(KINDS))}"
            )
        lists: dict[str, tuple[str, ...]] = {}
        for name in ("old_ids", "new_ids", "tags", "reasons"):
            value = data.get(name, [])
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise InvalidInputError(
                    f"{where}.{name}: expected a list of strings", "give identifiers as printed"
                )
            lists[name] = tuple(value)
        substantive = data.get("substantive")
        if substantive is not None and not isinstance(substantive, bool):
            raise InvalidInputError(
                f"{where}.substantive: expected true, false or null", "use a JSON boolean"
            )
        confidence = data.get("confidence", 1.0)
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            raise InvalidInputError(
                f"{where}.confidence: expected a number in [0, 1]", "use the diff's confidence"
            )
        redline = data.get("redline")
        if redline is not None and not isinstance(redline, str):
            if not isinstance(redline, MappingABC) or not all(isinstance(v, str) for v in redline.values()):
                raise InvalidInputError(
                    f"{where}.redline: expected null, text or field -> text", "pass the diff's redline"
                )
            redline = {str(k): v for k, v in redline.items()}
        return cls(
            kind=str(kind),
            old_ids=lists["old_ids"],
            new_ids=lists["new_ids"],
            substantive=substantive,
            tags=lists["tags"],
            confidence=float(confidence),
            reasons=lists["reasons"],
            redline=redline,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "old_ids": list(self.old_ids),
            "new_ids": list(self.new_ids),
            "substantive": self.substantive,
            "tags": list(self.tags),
            "confidence": self.confidence,
            "reasons": list(self.reasons),
            "redline": dict(self.redline) if isinstance(self.redline, dict) else self.redline,
        }

    @property
    def editorial(self) -> bool:
        """No change in what is asked: explicitly non-substantive, or only editorial tags."""
        if self.substantive is False:
            return True
        return self.substantive is None and bool(self.tags) and set(self.tags) <= _EDITORIAL_TAGS


@dataclass(frozen=True)
class AffectedControl:
    control_id: str
    action: Action
    score: float
    reason: str
    relationship: Relationship | None = None
    needs_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "control_id": self.control_id,
            "action": self.action.value,
            "score": round(self.score, 4),
            "reason": self.reason,
        }
        if self.relationship is not None:
            out["relationship"] = self.relationship.value
        return out


@dataclass(frozen=True)
class ImpactItem:
    """One change with its affected controls; ``action`` is the most pressing of theirs."""

    change: Change
    action: Action
    reason: str
    controls: tuple[AffectedControl, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change.to_dict(),
            "action": self.action.value,
            "reason": self.reason,
            "controls": [c.to_dict() for c in self.controls],
        }


def parse_changes(changes: Iterable[Change | MappingABC[str, Any]]) -> list[Change]:
    """Accept :class:`Change` objects or diff-JSON dicts; validates everything first."""
    return [
        c if isinstance(c, Change) else Change.from_dict(c, f"$.changes[{i}]") for i, c in enumerate(changes)
    ]


def _index(mappings: Iterable[Mapping]) -> dict[str, list[Mapping]]:
    out: dict[str, list[Mapping]] = defaultdict(list)
    for m in mappings:
        if m.review is not ReviewState.REJECTED and m.relationship is not Relationship.NO_RELATIONSHIP:
            out[m.source_key].append(m)
    return out


def _mapped(keys: Iterable[str], index: dict[str, list[Mapping]]) -> list[Mapping]:
    best: dict[str, Mapping] = {}
    for key in keys:
        for m in index.get(key, ()):
            held = best.get(m.target_key)
            if held is None or m.confidence > held.confidence:
                best[m.target_key] = m
    return sorted(best.values(), key=lambda m: (-m.confidence, m.target_key))


def _describe(change: Change) -> str:
    old, new = ", ".join(change.old_ids), ", ".join(change.new_ids)
    tags = "; ".join(_TAG_WORDS.get(t, t) for t in change.tags)
    text = {
        "added": f"new requirement {new}",
        "removed": f"requirement {old} withdrawn",
        "moved": f"{old} moved to {new}",
        "renamed": f"{old} renamed {new}",
        "renumbered": f"{old} renumbered {new}",
        "split": f"{old} split into {new}",
        "merged": f"{old} merged into {new}",
        "modified": f"{new or old} modified",
        "unchanged": f"{new or old} unchanged",
    }[change.kind]
    return f"{text} ({tags})" if tags else text


def impact(
    changes: Iterable[Change | MappingABC[str, Any]],
    mappings: Iterable[Mapping],
    *,
    new_mappings: Iterable[Mapping] = (),
    mapper: Mapper | None = None,
    queries: MappingABC[str, MapQuery] | None = None,
    suggestions: int = 5,
    include_unchanged: bool = False,
) -> list[ImpactItem]:
    """The worklist for one diff and one organisation (see the module docstring).

    ``mappings`` are keyed by the *old* version's requirement ids, ``new_mappings`` by the
    new version's. ``queries`` (new-version key -> :class:`MapQuery`) gives the mapper the
    text of requirements that need gap suggestions; without it or without ``mapper`` a gap
    is reported with no candidates. Unchanged requirements are left out unless asked
    for; otherwise there is one item per change, in input order. A change to a grouping
    (tag ``group``: a family or function) carries no obligation and gets ``none``.
    """
    parsed = parse_changes(changes)
    old_index, new_index = _index(mappings), _index(new_mappings)
    plans: list[tuple[Change, str, list[AffectedControl], list[str]]] = []
    wanted: dict[str, MapQuery] = {}
    for change in parsed:
        if change.kind == "unchanged" and not include_unchanged:
            continue
        old_keys = [normalise_key(i) for i in change.old_ids]
        new_keys = [normalise_key(i) for i in change.new_ids]
        mapped = _mapped(old_keys, old_index) or _mapped(new_keys, new_index)
        controls, gap_keys = _plan(change, mapped, new_keys)
        if gap_keys and mapper is not None and queries is not None:
            for key in gap_keys:
                if key in queries:
                    wanted[key] = queries[key]
        plans.append((change, _describe(change), controls, gap_keys))

    suggested: dict[str, list[AffectedControl]] = {}
    if wanted and mapper is not None:
        for ranking in mapper.rank(list(wanted.values()), top_k=suggestions):
            suggested[ranking.key] = [
                AffectedControl(
                    control_id=c.control_id,
                    action=Action.GAP,
                    score=c.score,
                    reason=f"suggested to cover {ranking.requirement_id}: {c.relationship.value}, "
                    f"score {c.score:.2f}",
                    relationship=c.relationship,
                    needs_review=True,
                )
                for c in ranking.candidates
                if c.relationship is not Relationship.NO_RELATIONSHIP
            ]

    items = []
    for change, described, controls, gap_keys in plans:
        if gap_keys:
            seen: set[str] = set()
            for key in gap_keys:
                for cand in suggested.get(key, ()):
                    if cand.control_id not in seen:
                        seen.add(cand.control_id)
                        controls.append(cand)
            action = Action.GAP
            reason = f"{described}: no mapped control covers it"
        elif controls:
            action = min((c.action for c in controls), key=_PRIORITY.__getitem__)
            reason = described
        else:
            action = Action.NONE
            reason = f"{described}: no mapped control is affected"
        items.append(ImpactItem(change=change, action=action, reason=reason, controls=tuple(controls)))
    return items


def _plan(
    change: Change, mapped: Sequence[Mapping], new_keys: list[str]
) -> tuple[list[AffectedControl], list[str]]:
    """Actions for mapped controls, and the new keys that need gap suggestions."""
    kind = change.kind
    if "group" in change.tags:
        return [], []  # a family or function heading: nothing to assess

    def each(action: Action, why: str) -> list[AffectedControl]:
        return [
            AffectedControl(
                control_id=m.target,
                action=action,
                score=change.confidence * m.confidence,
                reason=why + (" (mapping awaits review)" if m.needs_review else ""),
                relationship=m.relationship,
                needs_review=m.needs_review,
            )
            for m in mapped
        ]

    if kind == "removed":
        return each(Action.RETIRE, "mapped to a withdrawn requirement: retire or remap the mapping"), []
    if kind == "added":
        if mapped:
            return each(Action.REASSESS, "new requirement already mapped: confirm the control covers it"), []
        return [], new_keys
    if kind == "unchanged":
        return each(Action.NONE, "unchanged"), []
    if change.editorial:
        return each(Action.NONE, "editorial change only: no reassessment needed"), []
    if kind in ("moved", "renamed", "renumbered") and change.substantive is None and not change.tags:
        return each(Action.NONE, f"identifier changed ({kind}): update the reference"), []
    why = {
        "split": "requirement split: check which part(s) this control covers",
        "merged": "requirements merged: check the control covers the combined requirement",
    }.get(kind, "requirement changed in substance: reassess the control")
    if "obligation_strengthened" in change.tags:
        why = "obligation strengthened: reassess whether the control still satisfies it"
    elif "scope_changed" in change.tags:
        why = "scope changed: reassess whether the control still applies and suffices"
    if mapped:
        return each(Action.REASSESS, why), []
    # A substantive change to a requirement none of the organisation's controls is mapped
    # to: nothing covers the requirement as it now reads, so it is a gap with suggestions
    # (the organisation may have scoped it out before; the new text is worth a look).
    return [], new_keys or [normalise_key(i) for i in change.old_ids]
