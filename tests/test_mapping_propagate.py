"""Propagation of known mappings: multi-hop crosswalks and a diff's lineage."""

from __future__ import annotations

import pytest

from tracker.mapping.propagate import carry_over, propagate
from tracker.mapping.relationships import UNCERTAIN_FACTOR
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.mapping.types import Relationship as R


def m(
    src: str, tgt: str, rel: R, a: str, b: str, conf: float = 1.0, review: ReviewState = ReviewState.ACCEPTED
) -> Mapping:
    return Mapping(
        source=src, target=tgt, relationship=rel, source_set=a, target_set=b, confidence=conf, review=review
    )


def by_pair(found: list[Mapping]) -> dict[tuple[str, str], Mapping]:
    return {(x.source_key, x.target_key): x for x in found}


def test_two_hops_weakest_link_decides() -> None:
    crosswalks = [
        m("ID.AM-1", "ID.AM-01", R.EQUAL, "csf11", "csf20"),
        m("ID.AM-01", "CM-8", R.SUBSET, "csf20", "sp53", conf=0.9),
    ]
    found = by_pair(propagate(crosswalks, start_set="csf11", end_set="sp53"))
    derived = found[("ID.AM-1", "CM-8")]
    assert derived.relationship is R.SUBSET
    assert derived.confidence == pytest.approx(0.9)
    assert derived.provenance is Provenance.MACHINE and derived.review is ReviewState.PROPOSED
    assert derived.via == ("csf20:ID.AM-01",)


def test_uncertain_composition_is_intersects_with_less_confidence() -> None:
    crosswalks = [m("A1", "B1", R.SUBSET, "a", "b"), m("B1", "C1", R.SUPERSET, "b", "c")]
    derived = by_pair(propagate(crosswalks, start_set="a", end_set="c"))[("A1", "C1")]
    assert derived.relationship is R.INTERSECTS
    assert derived.confidence == pytest.approx(UNCERTAIN_FACTOR)


def test_three_hops_and_backward_reading_of_a_crosswalk() -> None:
    # a -> b published; c -> b published (read backwards as b -> c); c -> d published
    crosswalks = [
        m("A1", "B1", R.SUBSET, "a", "b"),
        m("C1", "B1", R.SUPERSET, "c", "b"),  # B1 subset of C1 when read backwards
        m("C1", "D1", R.EQUAL, "c", "d"),
    ]
    found = by_pair(propagate(crosswalks, start_set="a", end_set="d", max_hops=3))
    assert found[("A1", "D1")].relationship is R.SUBSET  # subset ∘ subset ∘ equal
    assert found[("A1", "D1")].via == ("b:B1", "c:C1")
    assert ("A1", "D1") not in by_pair(propagate(crosswalks, start_set="a", end_set="d", max_hops=2))


def test_the_most_confident_path_wins_and_rejected_or_unrelated_edges_do_not_count() -> None:
    crosswalks = [
        m("A1", "B1", R.EQUAL, "a", "b", conf=0.5),
        m("B1", "C1", R.EQUAL, "b", "c"),
        m("A1", "B2", R.SUBSET, "a", "b", conf=0.9),
        m("B2", "C1", R.SUBSET, "b", "c"),
        m("A1", "B3", R.EQUAL, "a", "b", review=ReviewState.REJECTED),
        m("B3", "C3", R.EQUAL, "b", "c"),
        m("A1", "B4", R.NO_RELATIONSHIP, "a", "b"),
        m("B4", "C4", R.EQUAL, "b", "c"),
    ]
    found = by_pair(propagate(crosswalks, start_set="a", end_set="c"))
    assert found[("A1", "C1")].relationship is R.SUBSET
    assert found[("A1", "C1")].confidence == pytest.approx(0.9)
    assert ("A1", "C3") not in found and ("A1", "C4") not in found


def test_direct_mappings_are_not_repeated_and_same_keys_in_two_sets_stay_apart() -> None:
    crosswalks = [
        m("ID.AM-1", "ID.AM-01", R.EQUAL, "csf11", "csf20"),
        m("ID.AM-01", "CM-8", R.EQUAL, "csf20", "sp53"),
        m("ID.AM-1", "CM-8", R.INTERSECTS, "csf11", "sp53"),
    ]
    found = propagate(crosswalks, start_set="csf11", end_set="sp53")
    assert found == []


def test_min_confidence_prunes_long_weak_paths() -> None:
    crosswalks = [m("A1", "B1", R.EQUAL, "a", "b", conf=0.2), m("B1", "C1", R.EQUAL, "b", "c", conf=0.2)]
    assert propagate(crosswalks, start_set="a", end_set="c", min_confidence=0.05) == []


def test_lineage_carries_mappings_to_successors_marked_for_review() -> None:
    org = [
        m("AC-2", "ACME-IAM-1", R.EQUAL, "sp53@rev4", "acme"),
        m("AC-3", "ACME-IAM-2", R.SUBSET, "sp53@rev4", "acme", review=ReviewState.ACCEPTED),
        m("AC-9", "ACME-X", R.INTERSECTS, "sp53@rev4", "acme", review=ReviewState.REJECTED),
    ]
    lineage = [
        ("AC-2", "AC-2", "unchanged"),
        ("AC-3", "AC-3a", "split"),
        ("AC-3", "AC-3b", "split"),
        ("AC-2", "AC-20", "moved"),
        ("AC-9", "AC-90", "moved"),
    ]
    carried = {(x.source, x.target): x for x in carry_over(org, lineage, version="sp53@rev5")}
    kept = carried[("AC-2", "ACME-IAM-1")]
    assert kept.review is ReviewState.ACCEPTED and kept.provenance is Provenance.PUBLISHED
    assert kept.versions == ("sp53@rev5",)
    split = carried[("AC-3a", "ACME-IAM-2")]
    assert split.relationship is R.SUBSET  # part of a subset is a subset
    assert split.review is ReviewState.PROPOSED and split.provenance is Provenance.MACHINE
    assert "carried over from AC-3 (split)" in split.note and split.via == ("AC-3",)
    assert ("AC-3b", "ACME-IAM-2") in carried
    moved = carried[("AC-20", "ACME-IAM-1")]
    assert moved.relationship is R.EQUAL and moved.needs_review and moved.confidence == pytest.approx(0.9)
    assert ("AC-90", "ACME-X") not in carried  # rejected mappings do not travel


def test_lineage_merge_and_target_side() -> None:
    org = [m("PR.AC-1", "IA-2", R.SUBSET, "csf", "sp53@rev4")]
    merged = carry_over(org, [("PR.AC-1", "PR.AA-01", "merged")])
    assert merged[0].relationship is R.INTERSECTS  # superset ∘ subset: both contain PR.AC-1
    target_moved = carry_over(org, [("IA-2", "IA-2X", "split")], side="target")
    # csf ⊂ IA-2 and IA-2X ⊂ IA-2: containment in a common superset says only "may overlap"
    assert target_moved[0].target == "IA-2X" and target_moved[0].relationship is R.INTERSECTS


def test_lineage_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown lineage kind"):
        carry_over([], [("A", "B", "teleported")])
    with pytest.raises(ValueError, match="side"):
        carry_over([], [], side="middle")
