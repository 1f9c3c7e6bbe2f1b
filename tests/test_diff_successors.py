"""Successors of withdrawn requirements the publisher did not name (tracker.diff.successors).

Small typed fixtures shaped like CSF 1.1 -> 2.0: a category withdrawn from one function and
its subcategories rewritten under another, with no lineage declared.
"""

from __future__ import annotations

import pytest

from embeddings.hashing import HashingEmbedder
from tracker.diff import Change, DiffResult, Kind, Suggestion, Tag, diff_versions, render_html, render_text
from tracker.diff import successors as successors_mod
from tracker.domain.keys import normalise_key
from tracker.domain.model import Link, Requirement


def req(
    ident: str,
    statement: str = "",
    *,
    title: str = "",
    parent: str | None = None,
    guidance: str = "",
    withdrawn: bool = False,
    links: tuple[Link, ...] = (),
) -> Requirement:
    return Requirement(
        ident=ident,
        key=normalise_key(ident),
        title=title,
        statement=statement,
        guidance=guidance,
        parent=normalise_key(parent) if parent else None,
        withdrawn=withdrawn,
        links=links,
    )


OLD_FUNCTIONS = (
    req("ID", title="Identify"),
    req("ID.BE", title="Business Environment", parent="ID"),
    req("ID.AM", title="Asset Management", parent="ID"),
    req("DE", title="Detect"),
    req("DE.CM", title="Security Continuous Monitoring", parent="DE"),
)
NEW_FUNCTIONS = (
    req("GV", title="Govern"),
    req("GV.OC", title="Organizational Context", parent="GV"),
    req("ID", title="Identify"),
    req("ID.AM", title="Asset Management", parent="ID"),
    req("DE", title="Detect"),
    req("DE.CM", title="Continuous Monitoring", parent="DE"),
)
# Retained under the same identifier in both versions.
KEPT_OLD = req(
    "ID.AM-1", "Physical devices and systems within the organization are inventoried", parent="ID.AM"
)
KEPT_NEW = req(
    "ID.AM-01",
    "Inventories of hardware and the data flows of networks and systems managed by the organization "
    "are maintained",
    parent="ID.AM",
)
UNRELATED_NEW = (
    req("DE.CM-01", "Networks and network services are monitored to find adverse events", parent="DE.CM"),
    req(
        "ID.AM-08",
        "Systems, hardware, software and data are managed throughout their life cycles",
        parent="ID.AM",
    ),
)


@pytest.fixture(autouse=True)
def hashing_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashed bag-of-words cosines run lower than MiniLM's; the score floor follows them."""
    monkeypatch.setattr(successors_mod, "MIN_SCORE", 0.3)


def run(old: tuple[Requirement, ...], new: tuple[Requirement, ...]) -> DiffResult:
    return diff_versions(
        (*OLD_FUNCTIONS, KEPT_OLD, *old),
        (*NEW_FUNCTIONS, KEPT_NEW, *UNRELATED_NEW, *new),
        HashingEmbedder(1024),
    )


def change_of(result: DiffResult, old_ident: str) -> Change:
    key = normalise_key(old_ident)
    return next(c for c in result.changes if key in c.old_keys)


def test_many_to_one_is_merged_across_functions() -> None:
    result = run(
        (
            req(
                "ID.BE-2",
                "The place of the organization in critical infrastructure is identified and communicated",
                parent="ID.BE",
            ),
            req(
                "ID.BE-3",
                "Priorities for the organizational mission are established and communicated",
                parent="ID.BE",
            ),
        ),
        (
            req(
                "GV.OC-01",
                "The organizational mission and its place in critical infrastructure are understood and "
                "inform risk management",
                parent="GV.OC",
            ),
        ),
    )
    change = change_of(result, "ID.BE-2")
    assert change.kind is Kind.MERGED
    assert set(change.old_ids) == {"ID.BE-2", "ID.BE-3"}
    assert change.new_ids == ("GV.OC-01",)
    assert Tag.WITHDRAWN in change.tags
    assert sum("withdrawn without a declared successor" in r for r in change.reasons) == 2
    assert 0.6 <= change.confidence <= 0.9
    # The runner-up is offered for review beside the link.
    assert {s.old_id for s in change.suggestions} <= {"ID.BE-2", "ID.BE-3"}
    assert "ID.AM-01" in {s.new_id for s in change.suggestions}


def test_merged_into_a_retained_requirement_keeps_its_own_predecessor() -> None:
    # Content of a withdrawn Detect subcategory now lives in a retained Identify one.
    result = run(
        (
            req(
                "DE.AE-1",
                "A baseline of the expected data flows of networks and systems is established and managed",
                parent="DE.CM",
            ),
        ),
        (),
    )
    change = change_of(result, "DE.AE-1")
    assert change.kind is Kind.MERGED
    assert set(change.old_ids) == {"ID.AM-1", "DE.AE-1"}
    assert change.new_ids == ("ID.AM-01",)
    assert any("same key ID.AM-1" in r for r in change.reasons)  # the retained pair is kept inside


def test_one_to_many_is_split() -> None:
    result = run(
        (
            req(
                "ID.BE-4",
                "Dependencies on suppliers and critical functions for delivery of services are established",
                parent="ID.BE",
            ),
        ),
        (
            req(
                "GV.OC-04",
                "Critical functions and services the organization delivers are established",
                parent="GV.OC",
            ),
            req(
                "GV.OC-05",
                "Dependencies on suppliers the organization relies on are established",
                parent="GV.OC",
            ),
        ),
    )
    change = change_of(result, "ID.BE-4")
    assert change.kind is Kind.SPLIT
    assert set(change.new_ids) == {"GV.OC-04", "GV.OC-05"}
    assert not any(c.kind is Kind.ADDED and set(c.new_ids) & {"GV.OC-04", "GV.OC-05"} for c in result.changes)


def test_moved_into_another_function_and_retained_ids_stay() -> None:
    result = run(
        (
            req(
                "ID.BE-1",
                "The organization's role in the supply chain is identified and communicated",
                parent="ID.BE",
            ),
        ),
        (
            req(
                "GV.OC-05",
                "The supply chain role of the organization and what it depends on are understood "
                "and communicated",
                parent="GV.OC",
            ),
        ),
    )
    change = change_of(result, "ID.BE-1")
    assert (change.kind, change.new_ids) == (Kind.MOVED, ("GV.OC-05",))
    kept = change_of(result, "ID.AM-1")
    assert kept.new_ids == ("ID.AM-01",)


def test_below_the_floor_only_suggestions() -> None:
    # Three new subcategories share the old one's wording about equally: no link, suggestions.
    result = run(
        (req("DE.CM-4", "Malicious code is detected", parent="DE.CM"),),
        (
            req(
                "DE.CM-09",
                "Computing hardware is monitored and malicious code is detected in software",
                parent="DE.CM",
            ),
            req(
                "DE.CM-10", "Email is monitored and malicious code is detected in attachments", parent="DE.CM"
            ),
            req(
                "DE.CM-11",
                "Web traffic is monitored and malicious code is detected in downloads",
                parent="DE.CM",
            ),
            req(
                "DE.CM-12",
                "Removable media are monitored and malicious code is detected on them",
                parent="DE.CM",
            ),
        ),
    )
    change = change_of(result, "DE.CM-4")
    assert change.kind is Kind.REMOVED
    assert 1 <= len(change.suggestions) <= 3
    assert all(isinstance(s, Suggestion) and s.old_id == "DE.CM-4" for s in change.suggestions)
    assert {s.new_id for s in change.suggestions} <= {"DE.CM-09", "DE.CM-10", "DE.CM-11", "DE.CM-12"}
    scores = [s.score for s in change.suggestions]
    assert scores == sorted(scores, reverse=True)
    assert all(s.reason for s in change.suggestions)
    assert any("suggested for review" in r for r in change.reasons)
    assert "(suggested successor, score" in render_text(result)
    assert "Suggested successors, to confirm" in render_html(result)
    # Suggestions survive the stored JSON.
    again = Change.from_json_dict(change.to_json_dict())
    assert [(s.old_id, s.new_id) for s in again.suggestions] == [
        (s.old_id, s.new_id) for s in change.suggestions
    ]


def test_publisher_declared_successor_wins_over_similarity() -> None:
    old = (
        req(
            "ID.BE-1",
            "The organization's role in the supply chain is identified and communicated",
            parent="ID.BE",
        ),
    )
    new = (
        # The placeholder names GV.OC-02; GV.OC-05 reads more like the old text.
        req(
            "ID.BE-01",
            withdrawn=True,
            links=(Link("incorporated-into", normalise_key("GV.OC-02")),),
            parent="ID.BE",
        ),
        req(
            "GV.OC-02",
            "Internal and external stakeholders and their expectations are understood",
            parent="GV.OC",
        ),
        req(
            "GV.OC-05",
            "The organization's role in the supply chain is understood and communicated",
            parent="GV.OC",
        ),
    )
    change = change_of(run(old, new), "ID.BE-1")
    assert change.new_ids[0] == "GV.OC-02"
    assert any("declared by the publisher" in r for r in change.reasons)
    assert not any("without a declared successor" in r for r in change.reasons)
    assert not change.suggestions


def test_unrelated_withdrawal_is_removed_without_suggestions() -> None:
    change = change_of(
        run(
            (req("ID.BE-9", "Facsimile transmissions over telephone lines are encrypted", parent="ID.BE"),),
            (),
        ),
        "ID.BE-9",
    )
    assert change.kind is Kind.REMOVED
    assert change.suggestions == ()


def test_lexical_mode_still_suggests_or_links() -> None:
    old = (
        *OLD_FUNCTIONS,
        req(
            "ID.BE-1",
            "The organization's role in the supply chain is identified and communicated",
            parent="ID.BE",
        ),
    )
    new = (
        *NEW_FUNCTIONS,
        req(
            "GV.OC-05",
            "The organization's role in the supply chain is understood and communicated",
            parent="GV.OC",
        ),
    )
    change = change_of(diff_versions(old, new, None), "ID.BE-1")
    assert change.new_ids == ("GV.OC-05",) or [s.new_id for s in change.suggestions][:1] == ["GV.OC-05"]


@pytest.mark.parametrize("floor", [0.0, 1.0])
def test_the_floor_decides_link_or_suggestion(monkeypatch: pytest.MonkeyPatch, floor: float) -> None:
    monkeypatch.setattr(successors_mod, "LINK_FLOOR", floor)
    result = run(
        (req("DE.CM-4", "Malicious code is detected", parent="DE.CM"),),
        (
            req(
                "DE.CM-09",
                "Computing hardware is monitored and malicious code is detected in software",
                parent="DE.CM",
            ),
            req(
                "DE.CM-10", "Email is monitored and malicious code is detected in attachments", parent="DE.CM"
            ),
        ),
    )
    change = change_of(result, "DE.CM-4")
    if floor == 1.0:
        assert change.kind is Kind.REMOVED and change.suggestions
    else:
        assert change.kind in (Kind.MOVED, Kind.SPLIT, Kind.MERGED) and Tag.WITHDRAWN in change.tags


def test_a_publisher_that_declares_lineage_means_its_silence() -> None:
    # Two placeholders name their successor; the third names none: it has none.
    old = (
        req("AC-1", "Develop an access control policy"),
        req("AC-2", "Manage system accounts and review them"),
        req("SC-19", "Establish usage restrictions for voice over internet protocol technologies"),
    )
    new = (
        req("AC-1", withdrawn=True, links=(Link("incorporated-into", "AC-9"),)),
        req("AC-2", withdrawn=True, links=(Link("moved-to", "AC-8"),)),
        req("SC-19", withdrawn=True),
        req("AC-8", "Manage system accounts and review them regularly"),
        req("AC-9", "Develop and document an access control policy"),
        req("SC-50", "Voice and video conferencing technologies have usage restrictions and guidance"),
    )
    result = diff_versions(old, new, HashingEmbedder(1024))
    change = change_of(result, "SC-19")
    assert change.kind is Kind.REMOVED and not change.suggestions
    # Without the declared neighbours the same silence is missing data, and a successor is sought.
    alone = diff_versions(old[2:], new[2:3] + new[5:], HashingEmbedder(1024))
    change = change_of(alone, "SC-19")
    assert change.kind is not Kind.REMOVED or change.suggestions
