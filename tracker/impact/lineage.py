"""Impact follows lineage: an organisation's mappings travel with a requirement's content.

When a reorganisation (CSF 1.1 -> 2.0) withdraws a requirement, the diff engine says where its
content went: ``moved``, ``merged`` (several predecessors into one) or ``split`` (one into
several parts), each with a confidence, publisher-declared links first; or, below its
confidence floor, only *suggestions* on the ``removed`` change. A control mapped to the
withdrawn requirement still says something about its successors, so the rules carry the
mapping to them as ``reassess``, marked with where it came from (``carried_from``), instead of
``retire`` for the old mapping and ``gap`` for the successor. ``retire`` is left for a
withdrawn requirement nothing succeeds.

This module holds the decisions of that carrying; :mod:`tracker.impact.rules` applies them
per change:

* linked lineage (a ``moved``/``merged``/``split`` change): the change's own item lists its
  predecessors' controls, each marked carried from the predecessor(s) it was mapped to (a
  merge carries the union; a split carries to all its parts, which share the item). A
  successor's own mapping of the same control wins (it is a direct statement, not an
  inference); carried controls are added to it, never listed twice.
* suggested lineage (a ``removed`` change with suggestions): see :func:`carry_targets`. The
  controls land on the item of the suggested successor as ``reassess`` marked
  ``suggested_lineage`` (a person confirms), and the withdrawn requirement's item points there
  with ``none`` for them (nothing to decide on it any more: update the reference).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from tracker.diff.successors import SPLIT_BAND
from tracker.diff.types import Change, Kind, Suggestion, Tag
from tracker.domain.keys import normalise_key
from tracker.impact.model import AWAITS_REVIEW, SCORE_DIGITS, Action, AffectedControl
from tracker.mapping.types import Mapping

__all__ = ["LINEAGE_KINDS", "SUGGESTED_CONFIDENCE", "Landings", "carry_targets", "land", "mark_carried"]

LINEAGE_KINDS = frozenset({Kind.MOVED, Kind.SPLIT, Kind.MERGED})

# How sure a carry along a *suggested* lineage is, before a person confirms it. The engine
# links a successor at confidence 0.6 (``successors.LINK_FLOOR``) and up, so a suggestion is
# by definition below that; its score is evidence on another scale, not a probability. We
# count it as a coin toss: every suggested carry ranks below a linked one of the same mapping.
SUGGESTED_CONFIDENCE = 0.5


def carry_targets(change: Change) -> tuple[Suggestion, ...]:
    """The suggested successors a withdrawn requirement's mappings are carried to.

    Only a ``removed`` change's suggestions carry: on a linked change they are runners-up of a
    link the engine made, and the link wins. Of those, the best and any within the engine's
    own ``SPLIT_BAND`` of it (the margin within which the engine itself treats candidates as
    co-successors of a split). Carrying to all (up to three) suggestions would list each
    control on three requirements for a reviewer to dismiss twice; the others stay on the
    review page under the change, where a person can pick one instead.
    """
    if change.kind is not Kind.REMOVED or not change.suggestions:
        return ()
    best = max(s.score for s in change.suggestions)
    return tuple(s for s in change.suggestions if s.score >= best - SPLIT_BAND)


@dataclass(frozen=True)
class _Carry:
    control: Mapping
    old_id: str  # the withdrawn requirement, as printed


@dataclass
class Landings:
    """Where suggested carries land: positions are those of the changes given to :func:`land`."""

    into: dict[int, list[_Carry]] = field(default_factory=dict)  # successor's change -> carries
    landed: dict[int, list[str]] = field(default_factory=dict)  # withdrawn's change -> successor ids
    unplaced: dict[int, list[str]] = field(default_factory=dict)  # successors not in the worklist

    def controls(self, position: int, why: str) -> list[AffectedControl]:
        """The controls carried to the change at ``position`` (strongest per control, the
        withdrawn requirements it came from united), all ``reassess`` and needing review."""
        best: dict[str, AffectedControl] = {}
        for carry in self.into.get(position, ()):
            m = carry.control
            score = round(m.confidence * SUGGESTED_CONFIDENCE, SCORE_DIGITS)
            held = best.get(m.target_key)
            origins = tuple(dict.fromkeys((*(held.carried_from if held else ()), carry.old_id)))
            if held is not None and held.score >= score:
                best[m.target_key] = replace(held, carried_from=origins, reason=_suggested(origins, why))
                continue
            best[m.target_key] = AffectedControl(
                control_id=m.target,
                action=Action.REASSESS,
                score=score,
                reason=_suggested(origins, why),
                relationship=m.relationship,
                needs_review=True,
                carried_from=origins,
                suggested_lineage=True,
            )
        return sorted(best.values(), key=lambda c: (-c.score, normalise_key(c.control_id)))


def _suggested(origins: Sequence[str], why: str) -> str:
    return (
        f"carried over from {', '.join(origins)} (a suggested successor, not linked by the diff: "
        f"confirm the lineage), review: {why}"
    )


def land(changes: Sequence[Change], index: dict[str, list[Mapping]]) -> Landings:
    """Place each withdrawn requirement's mappings on the changes of its suggested successors.

    A successor lands on the first change (in order) that names it among its new
    requirements, never on a heading's; a successor no change names (unchanged, so not in the
    worklist) is ``unplaced`` and the withdrawn requirement's own item keeps its controls.
    """
    where: dict[str, int] = {}
    for pos, change in enumerate(changes):
        if Tag.GROUP not in change.tags:
            for ident in change.new_ids:
                where.setdefault(normalise_key(ident), pos)
    out = Landings()
    for pos, change in enumerate(changes):
        targets = carry_targets(change)
        mapped = [m for i in change.old_ids for m in index.get(normalise_key(i), ())]
        if not targets or not mapped:
            continue
        for target in targets:
            key = target.new_key or normalise_key(target.new_id)
            home = where.get(key)
            if home is None:
                out.unplaced.setdefault(pos, []).append(target.new_id)
                continue
            out.landed.setdefault(pos, []).append(target.new_id)
            old_id = target.old_id or change.old_ids[0]
            out.into.setdefault(home, []).extend(_Carry(m, old_id) for m in mapped)
    return out


def mark_carried(
    controls: Iterable[AffectedControl], change: Change, sources: dict[str, list[str]]
) -> list[AffectedControl]:
    """Mark the controls of a linked-lineage change that came from a predecessor's mapping.

    ``sources``: control key -> the old identifiers it was mapped to. A control also mapped to
    one of the change's new requirements directly is not carried (its own mapping wins), nor
    is one whose predecessor keeps its identifier (a merge into an existing requirement).
    """
    new_keys = {normalise_key(i) for i in change.new_ids}
    out = []
    for c in controls:
        mapped_to = sources.get(normalise_key(c.control_id), ())
        origins = tuple(o for o in mapped_to if normalise_key(o) not in new_keys)
        if not origins:
            out.append(c)
            continue
        review = c.reason.endswith(AWAITS_REVIEW)
        why = c.reason.removesuffix(AWAITS_REVIEW) if review else c.reason
        reason = f"carried over from {', '.join(origins)} ({change.kind.value}), review: {why}"
        out.append(replace(c, carried_from=origins, reason=reason + (AWAITS_REVIEW if review else "")))
    return out
