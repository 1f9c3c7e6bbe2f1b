"""The IR 8477 composition table and the relationship vocabularies."""

from __future__ import annotations

import itertools

import pytest

from tracker.mapping.relationships import (
    COMPOSITION,
    UNCERTAIN_FACTOR,
    compose,
    compose_path,
    parse_relationship,
)
from tracker.mapping.types import Relationship as R

TYPED = (R.EQUAL, R.SUBSET, R.SUPERSET, R.INTERSECTS)


def test_table_is_complete_over_the_typed_relationships() -> None:
    assert set(COMPOSITION) == set(itertools.product(TYPED, TYPED))


@pytest.mark.parametrize(
    ("first", "second", "expected", "certain"),
    [
        (R.EQUAL, R.SUBSET, R.SUBSET, True),
        (R.SUBSET, R.EQUAL, R.SUBSET, True),
        (R.SUBSET, R.SUBSET, R.SUBSET, True),
        (R.SUPERSET, R.SUPERSET, R.SUPERSET, True),
        (R.SUBSET, R.SUPERSET, R.INTERSECTS, False),  # A ⊂ B ⊃ C: A and C may be disjoint
        (R.SUPERSET, R.SUBSET, R.INTERSECTS, True),  # A ⊃ B ⊂ C: both contain B
        (R.INTERSECTS, R.SUBSET, R.INTERSECTS, True),
        (R.INTERSECTS, R.INTERSECTS, R.INTERSECTS, False),
        (R.EQUAL, R.EQUAL, R.EQUAL, True),
    ],
)
def test_weakest_link_decides(first: R, second: R, expected: R, certain: bool) -> None:
    assert compose(first, second) == (expected, certain)


def test_equal_is_the_identity_of_composition() -> None:
    for rel in TYPED:
        assert compose(R.EQUAL, rel) == (rel, True)
        assert compose(rel, R.EQUAL) == (rel, True)


def test_composition_never_strengthens() -> None:
    order = {R.EQUAL: 3, R.SUBSET: 2, R.SUPERSET: 2, R.INTERSECTS: 1}
    for (a, b), (c, _) in COMPOSITION.items():
        assert order[c] <= min(order[a], order[b])


def test_no_relationship_breaks_a_path() -> None:
    assert compose(R.NO_RELATIONSHIP, R.EQUAL) is None
    assert compose_path([R.EQUAL, R.NO_RELATIONSHIP, R.EQUAL]) is None
    assert compose_path([]) is None


def test_compose_path_multiplies_uncertainty() -> None:
    assert compose_path([R.SUBSET, R.SUPERSET, R.INTERSECTS]) == (R.INTERSECTS, UNCERTAIN_FACTOR**2)
    assert compose_path([R.EQUAL, R.SUBSET, R.SUBSET]) == (R.SUBSET, 1.0)


def test_inverse_swaps_containment() -> None:
    assert R.SUBSET.inverse() is R.SUPERSET
    assert R.SUPERSET.inverse() is R.SUBSET
    assert R.INTERSECTS.inverse() is R.INTERSECTS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("related", R.INTERSECTS),
        ('related (expanded from "-1 controls of all families")', R.INTERSECTS),
        ("equivalent-to", R.EQUAL),
        ("Subset-Of", R.SUBSET),
        ("superset", R.SUPERSET),
        ("intersect", R.INTERSECTS),
        ("not_related", R.NO_RELATIONSHIP),
        ("no relationship", R.NO_RELATIONSHIP),
        ("kind of similar", None),
    ],
)
def test_parse_relationship_vocabularies(text: str, expected: R | None) -> None:
    assert parse_relationship(text) is expected
