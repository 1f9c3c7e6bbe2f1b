"""Corresponding provisions across a family of documents written from one another.

ETSI TS 104 223 was written from the UK Code of Practice for the Cyber Security of AI,
provision by provision, and EN 304 223 from the TS; the Code itself builds on the NCSC's
guidelines. The registry declares these links (``derived_from`` in ``data/sources.toml``).
When one member changes a provision, a reviewer wants the provisions of the others that
say the same thing: those are what may need the same change, or show that it was made
upstream already.

A provision's counterparts in another member are the mapper's candidates for it over that
member's provisions whose suggested relationship is ``equal``, ``subset`` or ``superset``
and whose score is at least :data:`MIN_SCORE`: the calibrated pair score reads near 1 for
near-identical text (:func:`tracker.mapping.scoring.pair_score`), so these are the
provision-by-provision matches, not merely related text. Each member is mapped from the
provision directly rather than through a chain of members, so one weak link does not
hide a match further down the family. When nothing qualifies, the best candidate is kept
as ``nearest`` for the reviewer to judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from embeddings.protocol import Embedder
from tracker.domain.model import Requirement
from tracker.mapping.documents import MapQuery, controls_from_requirements
from tracker.mapping.mapper import Mapper
from tracker.mapping.types import Candidate, Relationship

MIN_SCORE = 0.5
CORRESPONDING = frozenset({Relationship.EQUAL, Relationship.SUBSET, Relationship.SUPERSET})


@dataclass(frozen=True)
class Counterpart:
    """One provision of another member that corresponds to the provision asked about."""

    requirement_id: str
    text: str
    score: float
    relationship: Relationship


@dataclass(frozen=True)
class MemberMatches:
    """What one other member of the family says about the provision."""

    source: str
    version: str
    relation: str  # how the member stands to the asked source: "written from it", "its source", "related"
    counterparts: tuple[Counterpart, ...] = ()
    nearest: Counterpart | None = None  # the best candidate when no counterpart qualifies


def _counterpart(candidate: Candidate, texts: dict[str, str]) -> Counterpart:
    return Counterpart(
        requirement_id=candidate.control_id,
        text=texts.get(candidate.key, ""),
        score=round(candidate.score, 4),
        relationship=candidate.relationship,
    )


def counterparts(
    query: MapQuery,
    member: Sequence[Requirement],
    embedder: Embedder | None,
    *,
    top_k: int = 5,
    min_score: float = MIN_SCORE,
) -> tuple[tuple[Counterpart, ...], Counterpart | None]:
    """The provisions of ``member`` corresponding to ``query``, and the nearest one if none does."""
    controls = controls_from_requirements(member)
    if not controls:
        return (), None
    texts = {c.key: c.description or c.title for c in controls}
    ranking = Mapper(controls, embedder).rank([query], top_k=top_k)[0]
    found = tuple(
        _counterpart(c, texts)
        for c in ranking.candidates
        if c.relationship in CORRESPONDING and c.score >= min_score
    )
    if found or not ranking.candidates:
        return found, None
    return (), _counterpart(ranking.candidates[0], texts)
