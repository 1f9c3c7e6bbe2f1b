"""The typed impact: what the rules decide per change, and the worklist stored per diff.

One change type runs through diff, impact and storage: :class:`tracker.diff.types.Change`.
An impact item keeps the change's position in the stored diff (``seq``), so it joins back
to the change exactly; the JSON written to ``impacts.result`` (and served by the impact API
and digests) is the diff's change JSON with that ``seq`` added::

    {"org", "source", "old_version", "new_version", "diff_id", "engine", "model",
     "rules", "summary": {action: count}, "items": [{"change": {..., "seq"}, "action", "reason",
     "controls": [{"control_id", "action", "score", "reason", "relationship"?,
                   "carried_from"?, "suggested_lineage"?}]}]}

``rules`` is :data:`RULES_VERSION` of the rules that decided the worklist (absent in worklists
stored before it was recorded: read as ``"1"``). A control carried along the diff's lineage
names its predecessor requirements in ``carried_from``; ``suggested_lineage`` says the lineage
is only the diff engine's suggestion, for a person to confirm.

JSON read back (stored rows, or changes given as diff JSON) is validated here, and every
error names the JSON path and the fix.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from tracker.diff.types import Change, DiffResult, Kind, Suggestion, Tag
from tracker.domain.errors import InvalidInputError
from tracker.domain.redline import parse_text
from tracker.mapping.types import Relationship

Json: TypeAlias = dict[str, "Json"] | list["Json"] | str | int | float | bool | None

_E = TypeVar("_E", bound=enum.StrEnum)

# Scores are kept to this many decimals, as they are stored and served.
SCORE_DIGITS = 4
# Appended to the reason of a control whose mapping still awaits a reviewer.
AWAITS_REVIEW = " (mapping awaits review)"
# Bump when the rules change what a stored worklist means: a stored impact records the version
# that decided it, and recomputing it (a refresh, a new computation) brings it to this one.
# "2": mappings follow the diff's lineage (carried to successors as reassess, not retire + gap).
RULES_VERSION = "2"
RULES_BEFORE_RECORDED = "1"  # worklists stored before the version was recorded


class Action(enum.StrEnum):
    REASSESS = "reassess"
    GAP = "gap"
    RETIRE = "retire"
    NONE = "none"


PRIORITY = {Action.GAP: 0, Action.REASSESS: 1, Action.RETIRE: 2, Action.NONE: 3}


@dataclass(frozen=True)
class AffectedControl:
    """One control to look at for a change. ``needs_review``: the link between requirement and
    control is a suggestion, an unreviewed mapping or a suggested lineage (not stored: it is
    read back from the action, the reason and ``suggested_lineage``, which say so).

    ``carried_from``: the predecessor requirements (identifiers as the publisher prints them)
    whose mapping to this control was carried along the diff's lineage to the changed
    requirement; empty for a control mapped to it directly. ``suggested_lineage``: that lineage
    is one of the engine's suggestions below its confidence floor, not a link."""

    control_id: str
    action: Action
    score: float
    reason: str
    relationship: Relationship | None = None
    needs_review: bool = False
    carried_from: tuple[str, ...] = ()
    suggested_lineage: bool = False

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {
            "control_id": self.control_id,
            "action": self.action.value,
            "score": round(self.score, SCORE_DIGITS),
            "reason": self.reason,
        }
        if self.relationship is not None:
            out["relationship"] = self.relationship.value
        if self.carried_from:  # absent rather than empty: most controls are mapped directly
            out["carried_from"] = list(self.carried_from)
        if self.suggested_lineage:
            out["suggested_lineage"] = True
        return out

    @classmethod
    def from_json(cls, data: object, where: str) -> AffectedControl:
        data = _object(data, where)
        action = _enum(Action, data.get("action"), f"{where}.action")
        reason = _text(data.get("reason", ""), f"{where}.reason")
        relationship = data.get("relationship")
        suggested = data.get("suggested_lineage", False)
        if not isinstance(suggested, bool):
            raise InvalidInputError(
                f"{where}.suggested_lineage: expected true or false", "recompute the impact"
            )
        return cls(
            control_id=_text(data.get("control_id"), f"{where}.control_id"),
            action=action,
            score=_number(data.get("score", 0.0), f"{where}.score"),
            reason=reason,
            relationship=None if relationship is None else _enum(Relationship, relationship, where),
            needs_review=action is Action.GAP or reason.endswith(AWAITS_REVIEW) or suggested,
            carried_from=_strings(data.get("carried_from", []), f"{where}.carried_from"),
            suggested_lineage=suggested,
        )


@dataclass(frozen=True)
class ImpactItem:
    """One change with its affected controls; ``action`` is the most pressing of theirs.
    ``seq`` is the change's position in the stored diff (or in the list given to the rules)."""

    seq: int
    change: Change
    action: Action
    reason: str
    controls: tuple[AffectedControl, ...] = ()

    @property
    def ids(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.change.old_ids, self.change.new_ids

    def to_json(self) -> dict[str, Json]:
        change: dict[str, Json] = {**self.change.to_json_dict(), "seq": self.seq}
        return {
            "change": change,
            "action": self.action.value,
            "reason": self.reason,
            "controls": [c.to_json() for c in self.controls],
        }

    @classmethod
    def from_json(cls, data: object, where: str, default_seq: int) -> ImpactItem:
        data = _object(data, where)
        change = _object(data.get("change"), f"{where}.change")
        seq = change.get("seq", default_seq)
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise InvalidInputError(f"{where}.change.seq: expected a position in the diff", "recompute it")
        controls = data.get("controls") or []
        if not isinstance(controls, list):
            raise InvalidInputError(f"{where}.controls: expected a list", "recompute the impact")
        return cls(
            seq=seq,
            change=parse_change(change, f"{where}.change"),
            action=_enum(Action, data.get("action"), f"{where}.action"),
            reason=_text(data.get("reason", ""), f"{where}.reason"),
            controls=tuple(
                AffectedControl.from_json(c, f"{where}.controls[{i}]") for i, c in enumerate(controls)
            ),
        )


@dataclass(frozen=True)
class StoredImpact:
    """An organisation's worklist for one stored diff, as the impact service stores it."""

    org: str
    source: str
    old_version: str
    new_version: str
    diff_id: int
    engine: str
    model: str | None
    items: tuple[ImpactItem, ...]
    rules: str = RULES_VERSION

    @classmethod
    def of(cls, org: str, diff_id: int, diff: DiffResult, items: Iterable[ImpactItem]) -> StoredImpact:
        """The worklist of stored diff ``diff_id`` (whose result is ``diff``) for ``org``."""
        return cls(
            org,
            diff.source,
            diff.old_version,
            diff.new_version,
            diff_id,
            diff.engine_version,
            diff.model_id,
            tuple(items),
        )

    @property
    def summary(self) -> dict[str, int]:
        """Items per action, in the order the actions first occur."""
        out: dict[str, int] = {}
        for item in self.items:
            out[item.action.value] = out.get(item.action.value, 0) + 1
        return out

    def item(self, old_ids: Iterable[str], new_ids: Iterable[str]) -> ImpactItem | None:
        ids = (tuple(old_ids), tuple(new_ids))
        return next((i for i in self.items if i.ids == ids), None)

    def to_json(self) -> dict[str, Json]:
        summary: dict[str, Json] = dict(self.summary)
        return {
            "org": self.org,
            "source": self.source,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "diff_id": self.diff_id,
            "engine": self.engine,
            "model": self.model,
            "rules": self.rules,
            "summary": summary,
            "items": [i.to_json() for i in self.items],
        }

    @classmethod
    def from_json(cls, data: object) -> StoredImpact:
        """Read a stored ``impacts.result``; the summary is recounted from the items."""
        data = _object(data, "$")
        items = data.get("items") or []
        if not isinstance(items, list):
            raise InvalidInputError("$.items: expected a list", "recompute the impact")
        model = data.get("model")
        diff_id = data.get("diff_id", 0)
        if not isinstance(diff_id, int):
            raise InvalidInputError("$.diff_id: expected an integer", "recompute the impact")
        return cls(
            org=_text(data.get("org", ""), "$.org"),
            source=_text(data.get("source", ""), "$.source"),
            old_version=_text(data.get("old_version", ""), "$.old_version"),
            new_version=_text(data.get("new_version", ""), "$.new_version"),
            diff_id=diff_id,
            engine=_text(data.get("engine", ""), "$.engine"),
            model=None if model is None else _text(model, "$.model"),
            items=tuple(ImpactItem.from_json(item, f"$.items[{i}]", i) for i, item in enumerate(items)),
            rules=_text(data.get("rules", RULES_BEFORE_RECORDED), "$.rules"),
        )


def parse_changes(changes: Iterable[object], where: str = "$.changes") -> list[Change]:
    """Changes given as diff JSON (``tracker diff --format json``), all validated first."""
    return [parse_change(c, f"{where}[{i}]") for i, c in enumerate(changes)]


def parse_change(data: object, where: str = "$") -> Change:
    """One change of the diff's JSON (its lineage ``suggestions`` included); errors name the
    JSON path and the fix. Keys other than the change's own (``seq``, a stored ``review``) are
    ignored."""
    data = _object(data, where)
    kind = data.get("kind")
    if kind not in set(Kind):
        raise InvalidInputError(
            f"{where}.kind: unknown change kind {kind!r}", f"use one of {', '.join(k.value for k in Kind)}"
        )
    lists = {
        name: _strings(data.get(name, []), f"{where}.{name}") for name in ("old_ids", "new_ids", "reasons")
    }
    tags = _strings(data.get("tags", []), f"{where}.tags")
    substantive = data.get("substantive")
    if substantive is not None and not isinstance(substantive, bool):
        raise InvalidInputError(f"{where}.substantive: expected true, false or null", "use a JSON boolean")
    confidence = data.get("confidence", 1.0)
    if not isinstance(confidence, int | float) or isinstance(confidence, bool) or not 0 <= confidence <= 1:
        raise InvalidInputError(
            f"{where}.confidence: expected a number in [0, 1]", "use the diff's confidence"
        )
    redline = data.get("redline") or {}  # null, or "" (written by older recomputations): none
    if not isinstance(redline, Mapping) or not all(isinstance(v, str) for v in redline.values()):
        raise InvalidInputError(
            f"{where}.redline: expected null or field -> text", "pass the diff's redline as it printed it"
        )
    return Change(
        kind=Kind(str(kind)),
        old_ids=lists["old_ids"],
        new_ids=lists["new_ids"],
        substantive=substantive,
        tags=tuple(_enum(Tag, t, f"{where}.tags[{i}]") for i, t in enumerate(tags)),
        confidence=float(confidence),
        reasons=lists["reasons"],
        redlines=tuple((str(name), parse_text(text)) for name, text in redline.items()),
        suggestions=_suggestions(data.get("suggestions") or [], f"{where}.suggestions"),
    )


def _suggestions(value: object, where: str) -> tuple[Suggestion, ...]:
    """The lineage suggestions of a ``removed`` change (the impact rules carry mappings along them)."""
    if not isinstance(value, list):
        raise InvalidInputError(f"{where}: expected a list", "pass the diff's suggestions as it printed them")
    out = []
    for i, item in enumerate(value):
        data = _object(item, f"{where}[{i}]")
        out.append(
            Suggestion(
                new_id=_text(data.get("new_id"), f"{where}[{i}].new_id"),
                score=_number(data.get("score", 0.0), f"{where}[{i}].score"),
                reason=_text(data.get("reason", ""), f"{where}[{i}].reason"),
                old_id=_text(data.get("old_id", ""), f"{where}[{i}].old_id"),
            )
        )
    return tuple(out)


def _object(data: object, where: str) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"{where}: expected an object", "give it as the diff or impact JSON prints it"
        )
    return data


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{where}: expected a list of strings", "give identifiers as printed")
    return tuple(value)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{where}: expected text", "recompute the impact")
    return value


def _number(value: object, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidInputError(f"{where}: expected a number", "recompute the impact")
    return float(value)


def _enum(cls: type[_E], value: object, where: str) -> _E:
    try:
        return cls(str(value))
    except ValueError:
        raise InvalidInputError(
            f"{where}: unknown {cls.__name__.lower()} {value!r}",
            f"use one of {', '.join(m.value for m in cls)}",
        ) from None
