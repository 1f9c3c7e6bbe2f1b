"""Domain types of the mapping layer: controls, mappings and ranked candidates.

A *mapping* relates a source requirement to a target (another standard's requirement or an
organisation's control) with a NIST IR 8477 set-theory relationship, read as
"source <relationship> target": ``SUBSET`` means everything the source asks for is inside
what the target asks for. Every mapping says where it came from (a publisher's crosswalk, a
machine suggestion or a reviewer) and whether a person has accepted it yet, because an
impact report must never present a guess as a fact.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tracker.domain.keys import normalise_key


class Relationship(enum.StrEnum):
    """NIST IR 8477 set-theory relationship of a source element to a target element."""

    EQUAL = "equal"
    SUBSET = "subset"  # source is a subset of target: the target covers all of the source
    SUPERSET = "superset"  # source is a superset of target: the target covers part of it
    INTERSECTS = "intersects"  # they overlap; neither contains the other (or we cannot tell)
    NO_RELATIONSHIP = "no-relationship"

    def inverse(self) -> Relationship:
        """The relationship read from target to source."""
        if self is Relationship.SUBSET:
            return Relationship.SUPERSET
        if self is Relationship.SUPERSET:
            return Relationship.SUBSET
        return self

    @property
    def covers_source(self) -> bool:
        """True when the target alone satisfies everything the source asks for."""
        return self in (Relationship.EQUAL, Relationship.SUBSET)


class Provenance(enum.StrEnum):
    """Who asserted a mapping; published and reviewer mappings outrank machine ones."""

    PUBLISHED = "published"  # a crosswalk the publisher released as a file of its own
    PUBLISHER = "publisher"  # named inside the publication itself ("Related Frameworks")
    MACHINE = "machine"
    REVIEWER = "reviewer"


class ReviewState(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Control:
    """One control an organisation runs (or one requirement of a version used as a target).

    ``id`` is the identifier as the organisation or publisher prints it; ``key`` its
    normalised form (:func:`tracker.domain.keys.normalise_key`), filled in when left empty.
    ``family`` names the group the control belongs to (an 800-53 family, a CSF category);
    ``parent`` is the key of the base control an enhancement extends, so the mapper can
    roll enhancements up into their base. ``links`` holds keys of related controls the
    publisher declares (used only structurally, by the mapper's breadth prior and its
    ``related`` neighbourhood signal, never as evidence on its own).
    """

    id: str
    title: str = ""
    description: str = ""
    owner: str = ""
    tags: tuple[str, ...] = ()
    family: str = ""
    parent: str | None = None
    guidance: str = ""
    links: tuple[str, ...] = ()
    key: str = ""

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise ValueError("a control needs a non-empty id")
        if not self.key:
            object.__setattr__(self, "key", normalise_key(self.id))

    @property
    def is_enhancement(self) -> bool:
        return self.parent is not None


@dataclass(frozen=True)
class Mapping:
    """A typed link from a source requirement to a target requirement or control.

    ``source`` and ``target`` are identifiers as printed; compare them through
    :attr:`source_key` / :attr:`target_key`. ``confidence`` is the probability, as well as
    we can estimate it, that the relationship holds: 1.0 for a publisher's or reviewer's
    assertion, a calibrated score for a machine suggestion, and the product along the path
    for a propagated one. ``versions`` lists the source versions (``"csf@1.1"``) the
    mapping was made for; empty means "not stated". ``via`` records the hops of a
    propagated mapping so a reviewer can retrace it.
    """

    source: str
    target: str
    relationship: Relationship = Relationship.INTERSECTS
    provenance: Provenance = Provenance.PUBLISHED
    confidence: float = 1.0
    review: ReviewState = ReviewState.ACCEPTED
    versions: tuple[str, ...] = ()
    source_set: str = ""
    target_set: str = ""
    note: str = ""
    via: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.source.strip() or not self.target.strip():
            raise ValueError("a mapping needs a source and a target")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is outside [0, 1]")

    @property
    def source_key(self) -> str:
        return normalise_key(self.source)

    @property
    def target_key(self) -> str:
        return normalise_key(self.target)

    @property
    def needs_review(self) -> bool:
        return self.review is ReviewState.PROPOSED

    def inverted(self) -> Mapping:
        """The same mapping read from target to source."""
        return Mapping(
            source=self.target,
            target=self.source,
            relationship=self.relationship.inverse(),
            provenance=self.provenance,
            confidence=self.confidence,
            review=self.review,
            versions=self.versions,
            source_set=self.target_set,
            target_set=self.source_set,
            note=self.note,
            via=tuple(reversed(self.via)),
        )


# What ranked a candidate when a reviewer decided the pair: the decision stands as decided
# (score 1 or 0), never lifted or lowered by how alike the texts are.
REVIEWER_CONFIRMED = "confirmed by a reviewer"
REVIEWER_REJECTED = "rejected by a reviewer"


@dataclass(frozen=True)
class Candidate:
    """One ranked control for a requirement.

    ``score`` is in [0, 1] and reads as an estimate of the probability that a curator
    would list this control for the requirement (see :mod:`tracker.mapping.mapper` for how
    it is derived). ``signals`` keeps the per-signal evidence (z-scores) so a reviewer can
    see why it ranked where it did; ``via`` names the enhancements whose text lifted a
    rolled-up base control; ``reason`` names what ranked it (for a learned ranking: how
    many pairs from where, see :mod:`tracker.mapping.ranker`).
    """

    control_id: str
    key: str
    score: float
    relationship: Relationship
    rank: int
    signals: tuple[tuple[str, float], ...] = ()
    via: tuple[str, ...] = ()
    reason: str = ""  # what ranked it: the unsupervised fusion, or the learned ranker and its pairs


@dataclass(frozen=True)
class Ranking:
    """The candidates for one requirement, best first."""

    requirement_id: str
    key: str
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    def as_mappings(
        self, *, min_score: float = 0.0, source_set: str = "", target_set: str = ""
    ) -> list[Mapping]:
        """The candidates as machine-suggested mappings awaiting review (score = confidence)."""
        return [
            Mapping(
                source=self.requirement_id,
                target=c.control_id,
                relationship=c.relationship,
                provenance=Provenance.MACHINE,
                confidence=c.score,
                review=ReviewState.PROPOSED,
                source_set=source_set,
                target_set=target_set,
                note=f"mapper rank {c.rank}"
                + (f" via {', '.join(c.via)}" if c.via else "")
                + (f"; {c.reason}" if c.reason else ""),
            )
            for c in self.candidates
            if c.score >= min_score and c.relationship is not Relationship.NO_RELATIONSHIP
        ]

    def to_dict(self) -> dict[str, object]:
        return {
            "requirement_id": self.requirement_id,
            "candidates": [
                {
                    "control_id": c.control_id,
                    "score": round(c.score, 4),
                    "relationship": c.relationship.value,
                    "reason": c.reason,
                }
                for c in self.candidates
            ],
        }
