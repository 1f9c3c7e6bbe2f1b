"""Composition of IR 8477 relationships along a path of mappings: the weakest link decides.

If A relates to B by ``r1`` and B relates to C by ``r2``, what follows for A and C? Reading
the relationships as set relations between the requirements' effective content:

==========  ==========  ==========  ==========  ==========
r1 \\ r2     equal       subset      superset    intersects
==========  ==========  ==========  ==========  ==========
equal       equal       subset      superset    intersects
subset      subset      subset      intersects* intersects*
superset    superset    intersects  superset    intersects
intersects  intersects  intersects  intersects* intersects*
==========  ==========  ==========  ==========  ==========

Entries marked * are not entailed by set algebra: A ⊂ B ⊃ C, for example, allows A and C
to be disjoint. We still report ``intersects`` (they share a common neighbour, which is
what a reviewer needs to look at) but flag the composition as *uncertain*, and
:data:`UNCERTAIN_FACTOR` scales the propagated confidence down. The unmarked entries are
sound: A ⊃ B ⊂ C means A and C both contain B, so they do intersect.
``no-relationship`` composes to nothing: a path through an explicit non-relation carries
no information, so :func:`compose` returns ``None`` and propagation stops there.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracker.mapping.types import Relationship

E, SUB, SUP, INT = Relationship.EQUAL, Relationship.SUBSET, Relationship.SUPERSET, Relationship.INTERSECTS

# (r1, r2) -> (composed relationship, certain?)
COMPOSITION: dict[tuple[Relationship, Relationship], tuple[Relationship, bool]] = {
    (E, E): (E, True),
    (E, SUB): (SUB, True),
    (E, SUP): (SUP, True),
    (E, INT): (INT, True),
    (SUB, E): (SUB, True),
    (SUB, SUB): (SUB, True),
    (SUB, SUP): (INT, False),
    (SUB, INT): (INT, False),
    (SUP, E): (SUP, True),
    (SUP, SUB): (INT, True),
    (SUP, SUP): (SUP, True),
    (SUP, INT): (INT, True),
    (INT, E): (INT, True),
    (INT, SUB): (INT, True),
    (INT, SUP): (INT, False),
    (INT, INT): (INT, False),
}

UNCERTAIN_FACTOR = 0.5
"""Confidence multiplier for a hop whose composed relationship is not entailed."""

# Strength order used to prefer one path over another with equal confidence.
STRENGTH: dict[Relationship, int] = {E: 4, SUB: 3, SUP: 2, INT: 1, Relationship.NO_RELATIONSHIP: 0}


def compose(first: Relationship, second: Relationship) -> tuple[Relationship, bool] | None:
    """Relationship of A to C given A→B ``first`` and B→C ``second``; ``None`` if unknown."""
    if Relationship.NO_RELATIONSHIP in (first, second):
        return None
    return COMPOSITION[(first, second)]


def compose_path(relationships: Iterable[Relationship]) -> tuple[Relationship, float] | None:
    """Fold a path left to right; returns the relationship and the certainty factor."""
    result: Relationship | None = None
    factor = 1.0
    for rel in relationships:
        if result is None:
            if rel is Relationship.NO_RELATIONSHIP:
                return None
            result = rel
            continue
        step = compose(result, rel)
        if step is None:
            return None
        result, certain = step
        if not certain:
            factor *= UNCERTAIN_FACTOR
    if result is None:
        return None
    return result, factor


_ALIASES: dict[str, Relationship] = {
    "equal": E,
    "equal-to": E,
    "equivalent": E,
    "equivalent-to": E,
    "subset": SUB,
    "subset-of": SUB,
    "superset": SUP,
    "superset-of": SUP,
    "intersect": INT,
    "intersects": INT,
    "intersects-with": INT,
    # An untyped "related" (NIST's CSF 1.1 → 800-53 spreadsheet, OLIR "related to") says the
    # two overlap without claiming containment either way: that is exactly "intersects".
    "related": INT,
    "related-to": INT,
    "no-relationship": Relationship.NO_RELATIONSHIP,
    "no_relationship": Relationship.NO_RELATIONSHIP,
    "not-related": Relationship.NO_RELATIONSHIP,
    "not_related": Relationship.NO_RELATIONSHIP,
    "not-related-to": Relationship.NO_RELATIONSHIP,
}


def parse_relationship(text: str) -> Relationship | None:
    """Read a relationship as the various vocabularies spell it; ``None`` if unknown.

    Accepts IR 8477 words, OSCAL mapping tokens (``equivalent-to``, ``subset-of`` ...),
    CISO Assistant's (``intersect``, ``not_related``) and the untyped ``related``, also with
    a parenthesised note after it (``related (expanded from ...)``).
    """
    word = text.strip().lower().replace(" ", "-")
    if "(" in word:
        word = word.split("(", 1)[0].strip("-")
    return _ALIASES.get(word)
