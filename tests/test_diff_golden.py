"""Golden-file tests of the diff engine on small hand-made fixtures.

Each ``tests/fixtures/diff/<name>.json`` holds ``old`` and ``new`` requirement lists and the
embedder to use (``none`` or ``hashing``); its expected result is
``tests/golden/diff/<name>.json`` (the diff JSON) and ``<name>.txt`` (the text
rendering), compared exactly. After an intended change of behaviour, rewrite them with
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_diff_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.golden_cases import CASES, GOLDEN, load_case, run_case
from tracker.diff import DiffResult, Kind, Tag, render_text


def _check(path: Path, actual: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.is_file():
        pytest.fail(f"missing golden file {path}; create it with UPDATE_GOLDEN=1")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path.name} differs; if intended, rerun with UPDATE_GOLDEN=1 and review"


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    result = run_case(name)
    as_json = json.dumps(result.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
    _check(GOLDEN / f"{name}.json", as_json)
    _check(GOLDEN / f"{name}.txt", render_text(result, include_unchanged=True))


def _by_ids(result: DiffResult) -> dict[tuple[tuple[str, ...], tuple[str, ...]], Any]:
    return {(c.old_ids, c.new_ids): c for c in result.changes}


def test_noise_is_not_change() -> None:
    result = run_case("noise")
    assert {c.kind for c in result.changes} == {Kind.UNCHANGED}
    padded = _by_ids(result)[(("AC-01",), ("AC-1",))]
    assert any("noise" in reason for reason in padded.reasons)


def test_every_modified_tag_and_verdict() -> None:
    changes = {c.new_ids[0]: c for c in run_case("modified").changes}
    expect = {
        "OB-1": (True, {Tag.OBLIGATION_STRENGTHENED}),
        "OB-2": (True, {Tag.OBLIGATION_WEAKENED}),
        "OB-3": (True, {Tag.OBLIGATION_STRENGTHENED}),
        "OB-4": (True, {Tag.OBLIGATION_WEAKENED}),
        "SC-1": (True, {Tag.SCOPE_CHANGED}),
        "SC-2": (True, {Tag.SCOPE_CHANGED}),
        "TI-1": (False, {Tag.TITLE_CHANGED}),
        "PA-1": (True, {Tag.PARAMETERS_CHANGED}),
        "GU-1": (False, {Tag.GUIDANCE_ONLY}),
        "ED-1": (False, set()),
        "ED-2": (False, set()),
        "NU-1": (True, set()),
        "RW-1": (True, {Tag.SCOPE_CHANGED}),  # "customers" are now notified
        "CA-1": (False, set()),
        # an imperative advises like "should": a passive "should" recast as an instruction with
        # the same words is editorial, and nothing is weakened ...
        "IM-1": (False, set()),
        # ... while "shall" recast as an imperative loses binding force, and the reverse gains it
        "IM-2": (True, {Tag.OBLIGATION_WEAKENED}),
        "IM-3": (True, {Tag.OBLIGATION_STRENGTHENED}),
        # the same words with who approves whom swapped is not a recast: two words moved
        "IM-4": (True, set()),
    }
    for ident, (substantive, tags) in expect.items():
        change = changes[ident]
        assert change.kind is Kind.MODIFIED, ident
        assert change.substantive is substantive, (ident, change.reasons)
        assert set(change.tags) == tags, (ident, change.tags)
        assert bool(change.redlines) is (ident != "SC-2"), ident  # SC-2 changed a property only


def test_each_tag_for_and_against() -> None:
    """Every tag fires where its rule says and stays quiet on the look-alike (fixture ``tags``)."""
    changes = {c.new_ids[0]: c for c in run_case("tags").changes}
    expect: dict[str, tuple[bool | None, set[Tag]]] = {
        # house style: the publisher's rewrite of every statement is editorial, and says why
        "HS-1": (False, set()),  # "The information system enforces" -> "Enforce"
        "HS-2": (False, set()),  # "The organization develops" -> "Develop"; information system -> system
        "HS-3": (False, set()),  # "organization-defined list of X" -> "organization-defined X"
        "HS-4": (False, set()),  # parameter moved behind "the following software:"
        "HS-5": (False, set()),  # "purges/wipes" -> "purge or wipe", title "/" -> "or"
        # scope_changed for: a list extended or cut, a party qualified
        "SX-1": (True, {Tag.SCOPE_CHANGED}),  # "system or media" -> "system, system component, or media"
        "SX-2": (True, {Tag.SCOPE_CHANGED}),  # "users and devices" -> "users"
        "SX-3": (True, {Tag.SCOPE_CHANGED}),  # "user accounts" -> "privileged user accounts"
        "SX-4": (True, {Tag.SCOPE_CHANGED}),  # "legal and regulatory" -> "legal, regulatory, and contractual"
        # ... and against: quantifiers of the same extent, a lone quantifier, words in a new clause
        "SN-1": (True, set()),  # "each" -> "every", "only" dropped
        "SN-2": (False, set()),  # "for all information" -> "for information"
        "SN-3": (True, set()),  # "each user only" in an inserted phrase
        # title_changed for a new name, not for capitals
        "TI-2": (False, set()),  # shown as an editorial modification, without the tag
        "TI-3": (False, {Tag.TITLE_CHANGED}),
        "TI-4": (False, {Tag.GUIDANCE_ONLY}),  # a "title" that only repeats the identifier is none
        # numbers: citation markers are not quantities, minutes are
        "NU-2": (False, set()),
        "NU-3": (True, set()),
        # guidance_only: examples added to an unchanged statement; not when the statement changed too
        "GU-2": (False, {Tag.GUIDANCE_ONLY}),
        "GU-3": (True, {Tag.SCOPE_CHANGED}),
        # parameters: a new assignment is substantive, a label's house style is not
        "PR-1": (True, {Tag.PARAMETERS_CHANGED}),
        "PR-2": (False, set()),
    }
    for ident, (substantive, tags) in expect.items():
        change = changes[ident]
        assert change.substantive is substantive, (ident, change.reasons)
        assert set(change.tags) == tags, (ident, change.tags, change.reasons)
    for ident in ("HS-1", "HS-2", "HS-3", "HS-5", "PR-2"):
        assert any("house style" in r for r in changes[ident].reasons), ident
    assert any("information system -> system" in r for r in changes["HS-2"].reasons)
    assert any("parameter label wording" in r for r in changes["HS-3"].reasons)


def test_lineage_kinds() -> None:
    result = _by_ids(run_case("lineage"))
    assert result[(("AU-2", "AU-2(3)"), ("AU-2",))].kind is Kind.MERGED
    assert result[(("SI-3(9)",), ("AC-17(10)",))].kind is Kind.MOVED
    assert result[(("SA-12(14)",), ("SR-4(1)", "SR-4(2)"))].kind is Kind.SPLIT
    removed = result[(("SC-19",), ())]
    assert removed.kind is Kind.REMOVED and Tag.WITHDRAWN in removed.tags
    assert result[(("AC-2(10)",), ("AC-2(10)",))].kind is Kind.UNCHANGED
    reinstated = result[(("PE-7",), ("PE-7",))]
    assert reinstated.kind is Kind.MODIFIED and reinstated.substantive is True


def test_similarity_kinds() -> None:
    result = _by_ids(run_case("similarity"))
    assert result[(("GV-7",), ("GV-9",))].kind is Kind.MOVED
    assert result[(("PR-3",), ("PR-3",))].kind is Kind.MOVED  # same key, new parent
    reused_a = result[(("LLM05",), ("LLM03",))]
    reused_b = result[(("LLM03",), ("LLM04",))]
    assert reused_a.kind is reused_b.kind is Kind.MOVED
    assert Tag.IDENTIFIER_REUSED in reused_a.tags and Tag.IDENTIFIER_REUSED in reused_b.tags
    renamed = result[(("AML.T0018",), ("AML.T0018",))]
    assert (
        renamed.kind is Kind.MODIFIED and renamed.substantive is False and Tag.TITLE_CHANGED in renamed.tags
    )
    assert result[(("SC-8",), ("SC-8", "SC-8(5)"))].kind is Kind.SPLIT
    assert result[(("CM-2", "CM-9", "CM-10"), ("CM-2",))].kind is Kind.MERGED
    assert result[((), ("DE-5",))].kind is Kind.ADDED
    assert result[(("OLD",), ("LEG",))].kind is Kind.MOVED
    assert result[(("XX-4",), ("XX-4",))].kind is Kind.UNCHANGED  # its group was only renumbered


@pytest.mark.parametrize("name", CASES)
def test_every_requirement_classified(name: str) -> None:
    old, new, _ = load_case(name)
    result = run_case(name)
    seen_old = {i for c in result.changes for i in c.old_ids}
    seen_new = {i for c in result.changes for i in c.new_ids}
    # A withdrawn placeholder in the new version is accounted for by the change of the
    # old requirement with the same key (its old_ids), not listed again.
    old_keys = {k for c in result.changes for k in c.old_keys}
    seen_new |= {r.ident for r in new if r.withdrawn and r.key in old_keys}
    assert seen_old == {r.ident for r in old}
    assert seen_new == {r.ident for r in new}
    assert sum(result.summary.values()) == len(result.changes)


def test_all_kinds_and_tags_covered() -> None:
    results = [run_case(name) for name in CASES]
    kinds = {c.kind for r in results for c in r.changes}
    tags = {t for r in results for c in r.changes for t in c.tags}
    assert kinds == set(Kind)
    assert tags == set(Tag)
