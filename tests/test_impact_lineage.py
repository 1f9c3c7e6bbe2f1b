"""Impact follows lineage: mappings of a withdrawn requirement carry to its successors as
``reassess`` (marked where they came from), ``retire`` only when nothing succeeds it; and the
same through the impact service on a real database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from tests.support.api_world import client_for
from tests.support.factories import parsed_version, requirement
from tests.support.pages_world import sign_in
from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Suggestion, Tag
from tracker.domain.model import Source
from tracker.impact.model import RULES_VERSION, Action, AffectedControl, ImpactItem, StoredImpact
from tracker.impact.rules import impact
from tracker.impact.service import compute_impact
from tracker.mapping.types import Control, Mapping, ReviewState
from tracker.mapping.types import Relationship as R
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore

OLD = [
    Mapping("A-1", "C-1", R.INTERSECTS, confidence=0.9),
    Mapping("A-2", "C-1", R.INTERSECTS, confidence=0.6),
    Mapping("A-2", "C-2", R.SUBSET),
    Mapping("A-3", "C-3", R.INTERSECTS, confidence=0.8),
    Mapping("A-4", "C-4", R.INTERSECTS),
]


def by_control(item: ImpactItem) -> dict[str, AffectedControl]:
    return {c.control_id: c for c in item.controls}


def withdrawn(old: str, *suggested: tuple[str, float]) -> Change:
    return Change(
        Kind.REMOVED,
        (old,),
        (),
        tags=(Tag.WITHDRAWN,),
        confidence=0.8,
        suggestions=tuple(Suggestion(new, score, "similar meaning", old_id=old) for new, score in suggested),
    )


def test_merged_carries_the_union_of_its_predecessors_mappings() -> None:
    merged = Change(Kind.MERGED, ("A-1", "A-2"), ("B-1",), substantive=True, tags=(Tag.WITHDRAWN,))
    (item,) = impact([merged], OLD)
    assert item.action is Action.REASSESS
    controls = by_control(item)
    assert set(controls) == {"C-1", "C-2"}  # C-1, mapped to both, listed once
    assert controls["C-1"].carried_from == ("A-1", "A-2")
    assert controls["C-2"].carried_from == ("A-2",)
    assert controls["C-1"].score == pytest.approx(0.9)  # the strongest of its two mappings
    assert controls["C-1"].reason.startswith("carried over from A-1, A-2 (merged), review: ")
    # the rules before lineage was followed: the same controls, nothing marked carried
    (before,) = impact([merged], OLD, follow_lineage=False)
    assert {c.control_id for c in before.controls} == {"C-1", "C-2"}
    assert all(not c.carried_from for c in before.controls)


def test_moved_carries_to_the_new_identifier() -> None:
    moved = Change(Kind.MOVED, ("A-3",), ("B-3",), substantive=True, tags=(Tag.SCOPE_CHANGED,))
    (item,) = impact([moved], OLD)
    (control,) = item.controls
    assert (control.control_id, control.action, control.carried_from) == ("C-3", Action.REASSESS, ("A-3",))
    assert "scope changed" in control.reason and "carried over from A-3 (moved)" in control.reason


def test_split_carries_to_each_part() -> None:
    split = Change(Kind.SPLIT, ("A-2",), ("B-1", "B-2"), substantive=True, confidence=0.7)
    (item,) = impact([split], OLD)
    assert item.action is Action.REASSESS and item.change.new_ids == ("B-1", "B-2")
    assert {(c.control_id, c.carried_from) for c in item.controls} == {("C-1", ("A-2",)), ("C-2", ("A-2",))}
    assert all("split" in c.reason for c in item.controls)


def test_a_successor_with_its_own_mapping_keeps_it_and_gains_the_carried_ones() -> None:
    merged = Change(Kind.MERGED, ("A-1", "A-2"), ("B-1",), substantive=True)
    own = [Mapping("B-1", "C-1", R.EQUAL), Mapping("B-1", "C-9", R.SUBSET, review=ReviewState.PROPOSED)]
    (item,) = impact([merged], OLD, new_mappings=own)
    controls = by_control(item)
    assert set(controls) == {"C-1", "C-2", "C-9"}
    assert controls["C-1"].carried_from == () and controls["C-1"].relationship is R.EQUAL  # its own
    assert controls["C-9"].carried_from == () and controls["C-9"].needs_review
    assert controls["C-2"].carried_from == ("A-2",)
    # before: the predecessors' mappings alone, the successor's own ignored
    (before,) = impact([merged], OLD, new_mappings=own, follow_lineage=False)
    assert {c.control_id for c in before.controls} == {"C-1", "C-2"}


def test_a_suggested_successor_takes_the_mappings_for_a_person_to_confirm() -> None:
    changes = [
        withdrawn("A-3", ("B-3", 0.9), ("B-4", 0.7)),
        Change(Kind.ADDED, (), ("B-3",)),
        Change(Kind.ADDED, (), ("B-4",)),
    ]
    removed, b3, b4 = impact(changes, OLD)
    assert b3.action is Action.REASSESS
    (control,) = b3.controls
    assert control.control_id == "C-3" and control.carried_from == ("A-3",)
    assert control.suggested_lineage and control.needs_review
    assert control.score == pytest.approx(0.8 * 0.5)  # below any linked carry of the mapping
    assert "suggested successor" in control.reason and "confirm" in control.reason
    assert "A-3" in b3.reason
    # the withdrawn requirement points at its successor; nothing is retired
    assert removed.action is Action.NONE
    assert [(c.control_id, c.action) for c in removed.controls] == [("C-3", Action.NONE)]
    assert "B-3" in removed.controls[0].reason
    # a suggestion well behind the best is not carried: B-4 stays a gap
    assert b4.action is Action.GAP and not b4.controls
    # the old rule: retire the mapping, and the successor is a gap
    before = impact(changes, OLD, follow_lineage=False)
    assert [i.action for i in before] == [Action.RETIRE, Action.GAP, Action.GAP]


def test_suggestions_close_to_the_best_all_take_the_mappings() -> None:
    changes = [
        withdrawn("A-3", ("B-3", 0.9), ("B-4", 0.89)),
        Change(Kind.ADDED, (), ("B-3",)),
        Change(Kind.MODIFIED, ("B-4",), ("B-4",), substantive=True),
    ]
    _, b3, b4 = impact(changes, [*OLD, Mapping("B-4", "C-3", R.EQUAL)])
    assert [c.control_id for c in b3.controls] == ["C-3"] and b3.controls[0].suggested_lineage
    # B-4's own mapping of C-3 is stronger than the suggested carry: kept, not doubled
    assert [(c.control_id, c.suggested_lineage, c.carried_from) for c in b4.controls] == [("C-3", False, ())]


def test_a_suggested_successor_outside_the_worklist_is_decided_on_the_withdrawn_item() -> None:
    (item,) = impact([withdrawn("A-3", ("B-7", 0.9))], OLD)  # B-7 unchanged: not in the worklist
    assert item.action is Action.REASSESS
    (control,) = item.controls
    assert control.suggested_lineage and control.needs_review and "B-7" in control.reason


def test_nothing_succeeds_means_retire() -> None:
    (item,) = impact([withdrawn("A-4")], OLD)
    assert item.action is Action.RETIRE
    assert [(c.control_id, c.action, c.carried_from) for c in item.controls] == [("C-4", Action.RETIRE, ())]


def test_carried_controls_round_trip_through_the_stored_json() -> None:
    changes = [withdrawn("A-3", ("B-3", 0.9)), Change(Kind.ADDED, (), ("B-3",))]
    items = impact(changes, OLD)
    diff = DiffResult("s", "v1", "v2", ENGINE_VERSION, None, tuple(changes))
    stored = StoredImpact.of("acme", 1, diff, items)
    data = stored.to_json()
    assert data["rules"] == RULES_VERSION
    control = data["items"][1]["controls"][0]  # type: ignore[index,call-overload]
    assert control["carried_from"] == ["A-3"] and control["suggested_lineage"] is True
    assert StoredImpact.from_json(data) == stored
    older = {k: v for k, v in data.items() if k != "rules"}
    assert StoredImpact.from_json(older).rules == "1"  # stored before the rules followed lineage


# -- end to end: the impact service on a real database -------------------------------------

SOURCE = Source(slug="lineage-std", title="Lineage Standard", publisher="Test Body")


def test_compute_impact_follows_lineage(engine: Engine) -> None:
    """v1 -> v2 withdraws A-1 and A-2 (merged into B-1), A-3 (only a suggested successor, B-3)
    and A-4 (nothing succeeds it): the stored worklist reassesses the carried controls, retires
    only A-4's, and the successor keeps its own mapping."""
    req = requirement
    archive = Archive(engine)
    archive.add_version(
        SOURCE,
        "v1",
        [("v1.md", b"v1")],
        parsed_version(
            req("A-1", "Operators shall log access to models.", "Logging"),
            req("A-2", "Operators shall review access logs.", "Log review"),
            req("A-3", "Operators shall test backups.", "Backups"),
            req("A-4", "Operators shall fax reports.", "Fax"),
        ),
        published=date(2024, 1, 1),
    )
    archive.add_version(
        SOURCE,
        "v2",
        [("v2.md", b"v2")],
        parsed_version(
            req("B-1", "Operators shall log and review access to models.", "Access logging"),
            req("B-3", "Operators shall restore backups regularly.", "Recovery"),
        ),
        published=date(2025, 1, 1),
    )
    changes = (
        Change(
            Kind.MERGED, ("A-1", "A-2"), ("B-1",), substantive=True, tags=(Tag.WITHDRAWN,), confidence=0.9
        ),
        withdrawn("A-3", ("B-3", 0.7)),
        withdrawn("A-4"),
        Change(Kind.ADDED, (), ("B-3",)),
    )
    diff_id = DiffStore(engine).save(DiffResult(SOURCE.slug, "v1", "v2", ENGINE_VERSION, None, changes)).id
    OrgStore(engine).create("acme", "Acme")
    ControlStore(engine).import_controls(
        "acme", [Control(id=f"C-{n}", title=f"Control {n}") for n in (1, 2, 3, 4, 9)], origin="test"
    )
    mine = [
        Mapping("A-1", "C-1", source_set="lineage-std@v1"),
        Mapping("A-2", "C-2", source_set="lineage-std@v1"),
        Mapping("A-3", "C-3", source_set="lineage-std@v1"),
        Mapping("A-4", "C-4", source_set="lineage-std@v1"),
        Mapping("B-1", "C-9", R.EQUAL, source_set="lineage-std@v2"),
    ]
    MappingStore(engine).add_mappings("acme", mine, origin="test")

    report = compute_impact(engine, "acme", SOURCE.slug, "v1", "v2", None)
    stored = ImpactStore(engine).impact("acme", diff_id)
    assert stored is not None and stored == report.result and stored.rules == RULES_VERSION
    merged = stored.item(("A-1", "A-2"), ("B-1",))
    assert merged is not None and merged.action is Action.REASSESS
    assert {(c.control_id, c.carried_from) for c in merged.controls} == {
        ("C-9", ()),
        ("C-1", ("A-1",)),
        ("C-2", ("A-2",)),
    }
    b3 = stored.item((), ("B-3",))
    assert b3 is not None and b3.action is Action.REASSESS
    assert [(c.control_id, c.carried_from, c.suggested_lineage) for c in b3.controls] == [
        ("C-3", ("A-3",), True)
    ]
    assert stored.summary == {"reassess": 2, "none": 1, "retire": 1}
    retired = stored.item(("A-4",), ())
    assert retired is not None and [c.control_id for c in retired.controls] == ["C-4"]
    assert stored.item(("A-3",), ()).action is Action.NONE  # type: ignore[union-attr]

    # the impact API's worklist and the review page show where a carried control came from
    org_id = OrgStore(engine).get("acme").id
    token = ApiKeys(engine).create(Scope.READ, org_id, "acme read")[1]
    with client_for(engine) as client:
        lines = client.get(
            "/v1/orgs/acme/impact?action=reassess", headers={"Authorization": f"Bearer {token}"}
        ).json()["items"]
        line = next(x for x in lines if x["control_id"] == "C-3")
        assert (line["carried_from"], line["suggested_lineage"]) == (["A-3"], True)
        assert line["reason"].startswith("carried over from A-3")
        direct = next(x for x in lines if x["control_id"] == "C-9")
        assert (direct["carried_from"], direct["suggested_lineage"]) == ([], False)
        sign_in(client, token)
        page = client.get(f"/ui/sources/{SOURCE.slug}/review/v1/v2").text
        assert "carried over from A-3" in page and "suggested lineage" in page
