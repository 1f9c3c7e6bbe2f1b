"""Labelled pairs the learned ranker trains on: what the archive already knows about a target.

A *target* is what requirements are mapped onto: an organisation's controls, or a catalog's
requirements adopted as controls. Every stored mapping whose target is one of those controls
and that a person or a publisher asserted is a label:

* a published crosswalk's pair (NIST's CSF → 800-53 mapping, an organisation's own imported
  mapping file) is a positive, and so is a reviewer's confirmation or own mapping;
* a reviewer's rejection is a negative, and it weighs more than an unlisted pair, because
  someone looked at that control and said no.

Machine suggestions still awaiting review are not labels: training on them would teach the
ranker its own guesses. Pairs whose requirement is not among the texts we can read are
dropped and counted, never guessed.

Whose labels count follows whose worklist they may change (see
:mod:`tracker.review.decisions`): an organisation's reviewers teach that organisation's
ranker only; published crosswalks and the operator's shared decisions (mappings stored
without an organisation) teach everyone's.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tracker.mapping.documents import MapQuery
from tracker.mapping.types import Mapping, Provenance, Relationship, ReviewState

# Bump when the features or the model change, so a stored model is never reused for another.
RANKER_VERSION = "ranker-1"
REJECTION_WEIGHT = 3.0


@dataclass(frozen=True)
class LabelledPair:
    """One requirement -> control label, and where it came from (for provenance)."""

    source_set: str
    source_key: str
    target_key: str
    positive: bool
    origin: str  # "published", "reviewer" (an organisation's), or "operator" (shared)
    weight: float = 1.0


def _origin(mapping: Mapping, shared: bool) -> str | None:
    if mapping.review is ReviewState.PROPOSED:
        return None  # still a guess: not a label
    if mapping.provenance is Provenance.REVIEWER:
        return "operator" if shared else "reviewer"
    if mapping.provenance is Provenance.PUBLISHED:
        return "published"
    # a machine suggestion a person has decided on (the store marks those REVIEWER; this is
    # for mappings made elsewhere that arrive already accepted or rejected)
    return "operator" if shared else "reviewer"


def labelled_pairs(
    mappings: Iterable[tuple[Mapping, bool]], control_keys: Iterable[str], *, parents: dict[str, str]
) -> list[LabelledPair]:
    """Labels pointing into these controls, from ``(mapping, shared)`` pairs.

    ``shared`` marks a mapping stored without an organisation (published or operator's).
    ``parents`` maps an enhancement's key to its base control's, because the mapper ranks
    base controls with their enhancements rolled up: a label on ``AC-2(1)`` counts for
    ``AC-2``. When a pair is labelled twice the later decision wins, and a person's decision
    (reviewer, operator) over a published assertion.
    """
    keys = set(control_keys)
    rank = {"published": 0, "operator": 1, "reviewer": 2}
    chosen: dict[tuple[str, str, str], LabelledPair] = {}
    for mapping, shared in mappings:
        if mapping.target_key not in keys:
            continue
        origin = _origin(mapping, shared)
        if origin is None:
            continue
        positive = mapping.review is ReviewState.ACCEPTED and mapping.relationship is not (
            Relationship.NO_RELATIONSHIP
        )
        target = parents.get(mapping.target_key, mapping.target_key)
        pair = LabelledPair(
            source_set=mapping.source_set,
            source_key=mapping.source_key,
            target_key=target,
            positive=positive,
            origin=origin,
            weight=1.0 if positive else REJECTION_WEIGHT,
        )
        ident = (pair.source_set, pair.source_key, pair.target_key)
        held = chosen.get(ident)
        if held is None or rank[origin] >= rank[held.origin]:
            chosen[ident] = pair
    return sorted(chosen.values(), key=lambda p: (p.source_set, p.source_key, p.target_key))


@dataclass(frozen=True)
class TrainingSet:
    """Labelled pairs with the requirement texts they need, grouped by requirement."""

    queries: tuple[MapQuery, ...]
    idents: tuple[str, ...]  # ``set|key`` of each query: two frameworks may share a key
    pairs: tuple[LabelledPair, ...]
    dropped: int = 0  # pairs whose requirement text could not be read

    @classmethod
    def build(cls, pairs: Sequence[LabelledPair], texts: dict[tuple[str, str], MapQuery]) -> TrainingSet:
        """Keep the pairs whose ``(source_set, source_key)`` has a query in ``texts``."""
        kept = [p for p in pairs if (p.source_set, p.source_key) in texts]
        seen: dict[tuple[str, str], MapQuery] = {}
        for p in kept:
            seen.setdefault((p.source_set, p.source_key), texts[(p.source_set, p.source_key)])
        return cls(
            tuple(seen.values()),
            tuple(query_ident(*ident) for ident in seen),
            tuple(kept),
            len(pairs) - len(kept),
        )

    @property
    def positives(self) -> int:
        return sum(1 for p in self.pairs if p.positive)

    def by_query(self) -> dict[str, dict[str, LabelledPair]]:
        """Query identity (``set|key``) -> target key -> label."""
        out: dict[str, dict[str, LabelledPair]] = defaultdict(dict)
        for p in self.pairs:
            out[query_ident(p.source_set, p.source_key)][p.target_key] = p
        return out

    def fingerprint(self, unit_keys: Sequence[str]) -> str:
        """What a stored model is keyed on: the pairs, the ranked units and the ranker version."""
        digest = hashlib.sha256(RANKER_VERSION.encode())
        for p in self.pairs:
            digest.update(
                f"\n{p.source_set}|{p.source_key}|{p.target_key}|{int(p.positive)}|{p.origin}".encode()
            )
        digest.update(b"\nunits")
        for key in unit_keys:
            digest.update(f"\n{key}".encode())
        return digest.hexdigest()

    def origins(self) -> dict[str, int]:
        """How many pairs each origin contributed, with the source sets named."""
        counts: Counter[str] = Counter()
        for p in self.pairs:
            where = p.source_set or "unnamed set"
            counts[f"{p.origin} {where}"] += 1
        return dict(sorted(counts.items()))


def query_ident(source_set: str, key: str) -> str:
    return f"{source_set}|{key}"
