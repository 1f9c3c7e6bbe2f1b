"""Change impact: which of an organisation's controls to look at, for each changed requirement.

Input: the diff's typed changes (:class:`tracker.diff.types.Change`; diff JSON is read with
:func:`tracker.impact.model.parse_changes`), the organisation's
requirement→control mappings for the old version (and, optionally, mappings already known
for the new version, e.g. carried over or propagated), and a :class:`Mapper` over its
controls for suggesting candidates where nothing maps.

Actions, per affected control:

``reassess``  the requirement changed in substance (or was split/merged, or moved with
              a substantive edit) and this control is mapped to it, or to a predecessor
              whose content it took over (carried along the lineage:
              :mod:`tracker.impact.lineage`).
``gap``       nothing covers a new requirement, or a substantive/strengthened one that
              no control was mapped to; the controls listed are the mapper's
              suggestions, scored by its calibrated score.
``retire``    the requirement was withdrawn and nothing succeeds it: the mapping points at
              nothing any more.
``none``      the change is editorial (or a plain renumbering): keep the control,
              update the reference; also a withdrawn requirement whose mappings were
              carried to its suggested successor, where they are reassessed.

Scores: for mapped controls, change confidence x mapping confidence (how sure we are the
action applies; a carry along a suggested lineage counts the lineage as a coin toss); for gap
suggestions, the mapper's calibrated score; both to 4 decimals, as
stored. Items and controls are the typed values of :mod:`tracker.impact.model`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import replace

from tracker.diff.types import Change, Kind, Tag
from tracker.domain.keys import normalise_key
from tracker.impact.lineage import LINEAGE_KINDS, Landings, land, mark_carried
from tracker.impact.model import AWAITS_REVIEW, PRIORITY, SCORE_DIGITS, Action, AffectedControl, ImpactItem
from tracker.mapping.documents import MapQuery
from tracker.mapping.mapper import Mapper
from tracker.mapping.types import Mapping, Relationship, ReviewState

__all__ = ["Action", "AffectedControl", "ImpactItem", "editorial", "impact"]

_EDITORIAL_TAGS = frozenset({Tag.GUIDANCE_ONLY, Tag.TITLE_CHANGED})
_TAG_WORDS = {
    Tag.OBLIGATION_STRENGTHENED: "obligation strengthened",
    Tag.OBLIGATION_WEAKENED: "obligation weakened",
    Tag.SCOPE_CHANGED: "scope changed",
    Tag.PARAMETERS_CHANGED: "parameters changed",
    Tag.TITLE_CHANGED: "title changed",
    Tag.GUIDANCE_ONLY: "guidance text only",
    Tag.WITHDRAWN: "marked withdrawn",
    Tag.IDENTIFIER_REUSED: "identifier reused for a different requirement",
}


def editorial(change: Change) -> bool:
    """No change in what is asked: explicitly non-substantive, or only editorial tags."""
    if change.substantive is False:
        return True
    return change.substantive is None and bool(change.tags) and set(change.tags) <= _EDITORIAL_TAGS


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
    tags = "; ".join(_TAG_WORDS.get(t, t.value) for t in change.tags)
    text = {
        Kind.ADDED: f"new requirement {new}",
        Kind.REMOVED: f"requirement {old} withdrawn",
        Kind.MOVED: f"{old} moved to {new}",
        Kind.SPLIT: f"{old} split into {new}",
        Kind.MERGED: f"{old} merged into {new}",
        Kind.MODIFIED: f"{new or old} modified",
        Kind.UNCHANGED: f"{new or old} unchanged",
    }[change.kind]
    return f"{text} ({tags})" if tags else text


def impact(
    changes: Iterable[Change],
    mappings: Iterable[Mapping],
    *,
    new_mappings: Iterable[Mapping] = (),
    mapper: Mapper | None = None,
    queries: MappingABC[str, MapQuery] | None = None,
    suggestions: int = 5,
    include_unchanged: bool = False,
    follow_lineage: bool = True,
) -> list[ImpactItem]:
    """The worklist for one diff and one organisation (see the module docstring).

    ``mappings`` are keyed by the *old* version's requirement ids, ``new_mappings`` by the
    new version's (the organisation's own for it: the rules carry the old ones along the
    lineage themselves). ``queries`` (new-version key -> :class:`MapQuery`) gives the mapper the
    text of requirements that need gap suggestions; without it or without ``mapper`` a gap
    is reported with no candidates. Unchanged requirements are left out unless asked
    for; otherwise there is one item per change, in input order, its ``seq`` the change's
    position in ``changes`` (the service gives the stored diff's). A change to a grouping
    (tag ``group``: a family or function) carries no obligation and gets ``none``.
    ``follow_lineage=False`` gives the rules before mappings followed lineage (withdrawn:
    ``retire``; its suggested successor: ``gap``), for comparison.
    """
    old_index, new_index = _index(mappings), _index(new_mappings)
    kept = [
        (seq, change)
        for seq, change in enumerate(changes)
        if change.kind is not Kind.UNCHANGED or include_unchanged
    ]
    landings = land([c for _, c in kept], old_index) if follow_lineage else Landings()
    plans: list[tuple[int, Change, str, list[AffectedControl], list[str]]] = []
    wanted: dict[str, MapQuery] = {}
    for pos, (seq, change) in enumerate(kept):
        described = _describe(change)
        if follow_lineage:
            controls, gap_keys, described = _follow(change, pos, old_index, new_index, landings, described)
        else:
            old_keys = [normalise_key(i) for i in change.old_ids]
            new_keys = [normalise_key(i) for i in change.new_ids]
            mapped = _mapped(old_keys, old_index) or _mapped(new_keys, new_index)
            controls, gap_keys = _plan(change, mapped, new_keys)
        if gap_keys and mapper is not None and queries is not None:
            for key in gap_keys:
                if key in queries:
                    wanted[key] = queries[key]
        plans.append((seq, change, described, controls, gap_keys))

    suggested: dict[str, list[AffectedControl]] = {}
    if wanted and mapper is not None:
        for ranking in mapper.rank(list(wanted.values()), top_k=suggestions):
            suggested[ranking.key] = [
                AffectedControl(
                    control_id=c.control_id,
                    action=Action.GAP,
                    score=round(c.score, SCORE_DIGITS),
                    reason=f"suggested to cover {ranking.requirement_id}: {c.relationship.value}, "
                    f"score {c.score:.2f}" + (f" ({c.reason})" if c.reason else ""),
                    relationship=c.relationship,
                    needs_review=True,
                )
                for c in ranking.candidates
                if c.relationship is not Relationship.NO_RELATIONSHIP
            ]

    items = []
    for seq, change, described, controls, gap_keys in plans:
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
            action = min((c.action for c in controls), key=PRIORITY.__getitem__)
            reason = described
        else:
            action = Action.NONE
            reason = f"{described}: no mapped control is affected"
        items.append(ImpactItem(seq, change, action, reason, tuple(controls)))
    return items


def _follow(
    change: Change,
    pos: int,
    old_index: dict[str, list[Mapping]],
    new_index: dict[str, list[Mapping]],
    landings: Landings,
    described: str,
) -> tuple[list[AffectedControl], list[str], str]:
    """The rules with mappings following the diff's lineage (see :mod:`tracker.impact.lineage`):
    controls, the keys that still need gap suggestions, and the item's description."""
    old_keys = [normalise_key(i) for i in change.old_ids]
    new_keys = [normalise_key(i) for i in change.new_ids]
    if change.kind is Kind.REMOVED and (pos in landings.landed or pos in landings.unplaced):
        mapped = _mapped(old_keys, old_index)
        landed, unplaced = landings.landed.get(pos, []), landings.unplaced.get(pos, [])
        if unplaced:
            # a suggested successor outside the worklist (unchanged): decide on this item
            why = (
                f"withdrawn; its content may continue in {', '.join(unplaced)} (a suggested "
                "successor, not linked by the diff): remap the control there if so, else retire the mapping"
            )
            controls = [
                replace(c, needs_review=True, suggested_lineage=True)
                for c in _each(change, mapped, Action.REASSESS, why)
            ]
        else:
            why = f"withdrawn; mapping carried to {', '.join(landed)} (suggested successor): review it there"
            controls = _each(change, mapped, Action.NONE, why)
        return controls, [], f"{described}: its mappings follow its suggested successor(s)"
    if change.kind in LINEAGE_KINDS:
        # the successor's own mappings first (they win), then its predecessors', carried
        own = _mapped(new_keys, new_index)
        have = {m.target_key for m in own}
        carried = [m for m in _mapped(old_keys, old_index) if m.target_key not in have]
        controls, gap_keys = _plan(change, [*own, *carried], new_keys)
        sources: dict[str, list[str]] = {}
        for ident in change.old_ids:
            for m in old_index.get(normalise_key(ident), ()):
                if m.target_key not in have:
                    sources.setdefault(m.target_key, []).append(ident)
        controls = mark_carried(controls, change, sources)
    else:
        mapped = _mapped(old_keys, old_index) or _mapped(new_keys, new_index)
        controls, gap_keys = _plan(change, mapped, new_keys)
    if pos in landings.into and Tag.GROUP not in change.tags:
        why = (
            "a new requirement that may continue it: check the control covers it"
            if change.kind is Kind.ADDED
            else "check the control covers the requirement as it now reads"
        )
        listed = {normalise_key(c.control_id) for c in controls}
        extra = [c for c in landings.controls(pos, why) if normalise_key(c.control_id) not in listed]
        if extra:
            # candidates a person confirms: the requirement is no longer an uncovered gap
            controls = [*controls, *extra]
            gap_keys = []
            origins = ", ".join(dict.fromkeys(o for c in extra for o in c.carried_from))
            described = f"{described}; mappings carried over from {origins} (suggested lineage)"
    return controls, gap_keys, described


def _each(change: Change, mapped: Sequence[Mapping], action: Action, why: str) -> list[AffectedControl]:
    """One affected control per mapping: scored change confidence x mapping confidence."""
    return [
        AffectedControl(
            control_id=m.target,
            action=action,
            score=round(change.confidence * m.confidence, SCORE_DIGITS),
            reason=why + (AWAITS_REVIEW if m.needs_review else ""),
            relationship=m.relationship,
            needs_review=m.needs_review,
        )
        for m in mapped
    ]


def _plan(
    change: Change, mapped: Sequence[Mapping], new_keys: list[str]
) -> tuple[list[AffectedControl], list[str]]:
    """Actions for mapped controls, and the new keys that need gap suggestions."""
    kind = change.kind
    if Tag.GROUP in change.tags:
        return [], []  # a family or function heading: nothing to assess

    def each(action: Action, why: str) -> list[AffectedControl]:
        return _each(change, mapped, action, why)

    if kind is Kind.REMOVED:
        return each(Action.RETIRE, "mapped to a withdrawn requirement: retire or remap the mapping"), []
    if kind is Kind.ADDED:
        if mapped:
            return each(Action.REASSESS, "new requirement already mapped: confirm the control covers it"), []
        return [], new_keys
    if kind is Kind.UNCHANGED:
        return each(Action.NONE, "unchanged"), []
    if editorial(change):
        return each(Action.NONE, "editorial change only: no reassessment needed"), []
    if kind is Kind.MOVED and change.substantive is None and not change.tags:
        return each(Action.NONE, f"identifier changed ({kind.value}): update the reference"), []
    why = {
        Kind.SPLIT: "requirement split: check which part(s) this control covers",
        Kind.MERGED: "requirements merged: check the control covers the combined requirement",
    }.get(kind, "requirement changed in substance: reassess the control")
    if Tag.OBLIGATION_STRENGTHENED in change.tags:
        why = "obligation strengthened: reassess whether the control still satisfies it"
    elif Tag.SCOPE_CHANGED in change.tags:
        why = "scope changed: reassess whether the control still applies and suffices"
    if mapped:
        return each(Action.REASSESS, why), []
    # A substantive change to a requirement none of the organisation's controls is mapped
    # to: nothing covers the requirement as it now reads, so it is a gap with suggestions
    # (the organisation may have scoped it out before; the new text is worth a look).
    return [], new_keys or [normalise_key(i) for i in change.old_ids]
