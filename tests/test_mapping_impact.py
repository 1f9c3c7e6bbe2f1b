"""Impact: each kind of change against an organisation's mappings gives the right action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.mapping import CONTROLS, BagOfWordsEmbedder
from tracker.domain.errors import InvalidInputError
from tracker.impact.model import ImpactItem, parse_change, parse_changes
from tracker.impact.rules import Action, impact
from tracker.mapping.documents import MapQuery, controls_from_requirements
from tracker.mapping.mapper import Mapper
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.mapping.types import Relationship as R

ORG = [
    Mapping("REQ-1", "CP-9", R.SUBSET),
    Mapping("REQ-2", "AC-2", R.INTERSECTS, confidence=0.8),
    Mapping("REQ-2", "IR-4", R.INTERSECTS, review=ReviewState.REJECTED),
    Mapping("REQ-3", "PE-3", R.EQUAL),
    Mapping("REQ-4", "CM-8", R.INTERSECTS),
    Mapping("REQ-5", "SC-7", R.INTERSECTS),
    Mapping("REQ-6", "IR-4", R.INTERSECTS),
]
QUERIES = {
    "NEW-1": MapQuery("NEW-1", "Backups of information are conducted and tested"),
    "REQ-7": MapQuery("REQ-7", "Incidents shall be handled within one hour"),
}


def change(kind: str, old: list[str], new: list[str], **kw: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "old_ids": old,
        "new_ids": new,
        "confidence": 0.9,
        "reasons": [],
        "redline": None,
        **kw,
    }


def assess(changes: list[dict[str, Any]], mappings: list[Mapping] = ORG, **kw: Any) -> list[ImpactItem]:
    """The rules over changes given as the diff's JSON (validated first, errors by path)."""
    return impact(parse_changes(changes), mappings, **kw)


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(CONTROLS, BagOfWordsEmbedder())


def run(changes: list[dict[str, Any]], mapper: Mapper | None = None, **kw: Any) -> dict[str, Any]:
    items = assess(changes, mapper=mapper, queries=QUERIES, **kw)
    return {(i.change.new_ids or i.change.old_ids)[0]: i for i in items}


def test_substantive_change_means_reassess_the_mapped_controls() -> None:
    items = run(
        [change("modified", ["REQ-2"], ["REQ-2"], substantive=True, tags=["obligation_strengthened"])]
    )
    item = items["REQ-2"]
    assert item.action is Action.REASSESS
    assert [(c.control_id, c.action) for c in item.controls] == [
        ("AC-2", Action.REASSESS)
    ]  # rejected one ignored
    assert item.controls[0].score == pytest.approx(0.9 * 0.8)
    assert "obligation strengthened" in item.controls[0].reason


def test_editorial_change_means_none() -> None:
    items = run(
        [
            change("modified", ["REQ-1"], ["REQ-1"], substantive=False),
            change("modified", ["REQ-3"], ["REQ-3"], substantive=None, tags=["guidance_only"]),
            change("moved", ["REQ-4"], ["REQ-40"]),
        ]
    )
    assert {k: i.action for k, i in items.items()} == {
        "REQ-1": Action.NONE,
        "REQ-3": Action.NONE,
        "REQ-40": Action.NONE,
    }
    assert "update the reference" in items["REQ-40"].controls[0].reason


def test_withdrawn_requirement_retires_its_mappings() -> None:
    item = run([change("removed", ["REQ-5"], [])])["REQ-5"]
    assert item.action is Action.RETIRE
    assert [(c.control_id, c.action) for c in item.controls] == [("SC-7", Action.RETIRE)]
    unmapped = run([change("removed", ["REQ-99"], [])])["REQ-99"]
    assert unmapped.action is Action.NONE and unmapped.controls == ()


def test_new_requirement_without_coverage_is_a_gap_with_suggestions(mapper: Mapper) -> None:
    item = run([change("added", [], ["NEW-1"])], mapper)["NEW-1"]
    assert item.action is Action.GAP
    assert item.controls and item.controls[0].control_id == "CP-9"
    assert all(c.action is Action.GAP and 0 <= c.score <= 1 and c.needs_review for c in item.controls)
    bare = run([change("added", [], ["NEW-2"])])["NEW-2"]
    assert bare.action is Action.GAP and bare.controls == ()


def test_new_requirement_already_mapped_is_reassess() -> None:
    carried = [Mapping("NEW-1", "CP-9", R.EQUAL, provenance=Provenance.MACHINE, review=ReviewState.PROPOSED)]
    (item,) = assess([change("added", [], ["NEW-1"])], new_mappings=carried)
    assert item.action is Action.REASSESS
    assert "mapping awaits review" in item.controls[0].reason


def test_strengthened_requirement_nobody_mapped_is_a_gap(mapper: Mapper) -> None:
    items = run(
        [
            change("modified", ["REQ-7"], ["REQ-7"], substantive=True, tags=["obligation_strengthened"]),
            change("modified", ["REQ-8"], ["REQ-8"], substantive=True, tags=[]),
        ],
        mapper,
    )
    assert items["REQ-7"].action is Action.GAP and items["REQ-7"].controls[0].control_id == "IR-4"
    # changed in substance and never mapped: nothing covers the new text, so a gap too
    assert items["REQ-8"].action is Action.GAP
    editorial = run([change("modified", ["REQ-9"], ["REQ-9"], substantive=False, tags=[])], mapper)["REQ-9"]
    assert editorial.action is Action.NONE and editorial.controls == ()


def test_split_and_merge_reassess() -> None:
    items = run(
        [change("split", ["REQ-6"], ["REQ-6a", "REQ-6b"]), change("merged", ["REQ-1", "REQ-3"], ["REQ-13"])]
    )
    assert items["REQ-6a"].action is Action.REASSESS and "split" in items["REQ-6a"].controls[0].reason
    assert {c.control_id for c in items["REQ-13"].controls} == {"CP-9", "PE-3"}


def test_unchanged_is_skipped_unless_asked() -> None:
    assert run([change("unchanged", ["REQ-1"], ["REQ-1"])]) == {}
    assert (
        run([change("unchanged", ["REQ-1"], ["REQ-1"])], include_unchanged=True)["REQ-1"].action
        is Action.NONE
    )


def test_json_shape_matches_the_cli_contract() -> None:
    (item,) = assess([change("removed", ["REQ-5"], [], redline={"statement": "[-old-]"})])
    out = item.to_json()
    assert set(out) == {"change", "action", "reason", "controls"}
    assert out["change"]["redline"] == {"statement": "[-old-]"} and out["change"]["seq"] == 0
    assert set(out["controls"][0]) >= {"control_id", "action", "score", "reason"}
    assert parse_change(out["change"]) == item.change


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "exploded"}, "$.changes[0].kind: unknown change kind"),
        ({"kind": "added", "new_ids": "A"}, "$.changes[0].new_ids: expected a list of strings"),
        ({"kind": "added", "substantive": "yes"}, "$.changes[0].substantive"),
        ({"kind": "added", "confidence": 2}, "$.changes[0].confidence"),
    ],
)
def test_malformed_changes_are_reported_by_path(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        assess([bad])
    assert message in str(info.value)


def test_diff_engine_json_is_accepted_as_is() -> None:
    diff_change = change(
        "moved",
        ["REQ-1"],
        ["REQ-10"],
        substantive=True,
        tags=["scope_changed"],
        redline={"statement": "Back up [-weekly-]{+daily+}"},
    )
    group = change("added", [], ["FAMILY-X"], tags=["group"])
    items = assess([diff_change, group])
    assert [i.change.new_ids for i in items] == [("REQ-10",), ("FAMILY-X",)]  # one item per change
    assert items[1].action is Action.NONE and items[1].controls == ()  # groupings carry no obligation
    assert items[0].action is Action.REASSESS and "scope changed" in items[0].controls[0].reason
    assert items[0].to_json()["change"]["redline"] == {"statement": "Back up [-weekly-]{+daily+}"}
    with pytest.raises(InvalidInputError, match="redline"):
        assess([change("added", [], ["X"], redline=["not", "a", "redline"])])
    with pytest.raises(InvalidInputError, match=r"\$\.changes\[0\]\.tags\[0\]: unknown tag"):
        assess([change("added", [], ["X"], tags=["exploded"])])


@pytest.mark.slow
def test_csf_2_scenario_on_the_real_corpus(corpus_dir: Path) -> None:
    """An 800-53 shop mapped to CSF 1.1 meets CSF 2.0: every new or changed subcategory has
    an action with controls, GOVERN included, and withdrawn ones retire their mappings."""
    from bench.bench_impact import scenario
    from bench.bench_mapping import parse

    sp = parse(corpus_dir / "nist-sp-800-53/rev5.0.0-2020-09/NIST_SP-800-53_rev5_catalog.json")
    items, _, _ = scenario(corpus_dir.parent, controls_from_requirements(sp), None)
    govern = [i for i in items if any(n.startswith("GV.") for n in i.change.new_ids)]
    assert len(govern) >= 25
    assert all(i.action in (Action.GAP, Action.REASSESS) and i.controls for i in govern)
    kinds = ("added", "modified", "moved")
    changed = [i for i in items if i.change.kind in kinds and i.change.substantive is not False]
    assert all(i.controls for i in changed)
    retired = [i for i in items if i.action is Action.RETIRE]
    assert retired and all(c.action is Action.RETIRE for i in retired for c in i.controls)
