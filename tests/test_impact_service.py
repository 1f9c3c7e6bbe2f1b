"""The impact service on a real database: the typed stored impact round-trips through its JSON,
the pipeline's computation and a reviewer's refresh decide alike, and one function writes."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.support.api_world import World, seed
from tests.support.mapping import CONTROLS, BagOfWordsEmbedder
from tracker.diff.types import Kind
from tracker.domain.errors import InvalidInputError
from tracker.impact.model import Action, AffectedControl, StoredImpact
from tracker.impact.service import compute_impact, store_impact
from tracker.mapping.types import Control, Mapping, ReviewState
from tracker.review.decisions import refresh_impacts
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore
from tracker.storage.tables.archive import ChangeRow
from tracker.storage.tables.orgs import ImpactRow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def test_the_stored_json_reads_back_as_the_impact_computed(world: World) -> None:
    engine = world.engine
    report = compute_impact(engine, "acme", "demo-std", "v1", "v2", None)
    assert ImpactStore(engine).impact("acme", world.diff_id) == report.result
    with Session(engine) as session:
        stored_json = session.scalar(select(ImpactRow.result).where(ImpactRow.id == report.impact_id))
    assert stored_json == report.result.to_json()
    assert StoredImpact.from_json(stored_json) == report.result
    assert stored_json["summary"] == {"reassess": 1, "retire": 1, "gap": 1}
    # each item keeps its change's position in the stored diff
    diff = DiffStore(engine).get(world.diff_id).result
    assert all(diff.changes[i.seq] == i.change for i in report.result.items)
    assert [i.change.kind for i in report.result.items] == [Kind.MODIFIED, Kind.REMOVED, Kind.ADDED]


def test_a_recomputed_impact_gets_a_new_id(world: World) -> None:
    """The API's page cache and ETags key on impact ids: even the newest impact, recomputed,
    must not get its old id back (SQLite would hand it out again)."""
    ids = [compute_impact(world.engine, "globex", "demo-std", "v1", "v2", None).impact_id for _ in range(3)]
    assert ids == sorted(set(ids))


def test_older_stored_json_still_reads_and_bad_json_is_named_by_path() -> None:
    older = {
        "items": [
            {
                "change": {"kind": "modified", "old_ids": ["A"], "new_ids": ["A"], "redline": ""},
                "action": "gap",
                "reason": "A modified",
                "controls": [{"control_id": "C-1", "action": "gap", "score": 0.5, "reason": "suggested"}],
            }
        ]
    }
    (item,) = StoredImpact.from_json(older).items
    assert (item.seq, item.change.redlines, item.controls[0].needs_review) == (0, (), True)
    broken = {"items": [{**older["items"][0], "action": "panic"}]}
    with pytest.raises(InvalidInputError, match=r"\$\.items\[0\]\.action: unknown action 'panic'"):
        StoredImpact.from_json(broken)


def test_a_refresh_decides_as_the_computation_did(world: World) -> None:
    """Nothing decided in between: refreshing every change recomputes the same worklist."""
    engine = world.engine
    computed = compute_impact(engine, "acme", "demo-std", "v1", "v2", None).result
    with Session(engine) as session:
        ids = set(session.scalars(select(ChangeRow.id).where(ChangeRow.diff_id == world.diff_id)))
    assert refresh_impacts(engine, world.diff_id, change_ids=ids, orgs=["acme"]) == ["acme"]
    assert ImpactStore(engine).impact("acme", world.diff_id) == computed


def test_a_rejected_suggestion_is_never_listed_for_a_gap(world: World) -> None:
    """The mapper suggests a control for a new requirement; once a reviewer rejects that
    mapping, neither a recomputation with the mapper nor a refresh lists it again."""
    engine = world.engine
    red_team = Control(
        id="ACME-9", title="Red teaming", description="Developers red-team models before release"
    )
    # among a few unrelated controls, this one stands out for the new requirement R-4
    ControlStore(engine).import_controls("acme", [*CONTROLS, red_team], origin="test")
    stored = DiffStore(engine).get(world.diff_id)

    def suggested() -> list[str]:
        impact = ImpactStore(engine).impact("acme", world.diff_id)
        assert impact is not None
        item = next(i for i in impact.items if i.change.new_ids == ("R-4",))
        assert item.action is Action.GAP
        return [c.control_id for c in item.controls]

    compute_impact(engine, "acme", "demo-std", "v1", "v2", BagOfWordsEmbedder(), stored=stored)
    assert "ACME-9" in suggested()
    rejected = Mapping("R-4", "ACME-9", review=ReviewState.REJECTED, source_set="demo-std@v2")
    MappingStore(engine).add_mappings("acme", [rejected], origin="test")
    compute_impact(engine, "acme", "demo-std", "v1", "v2", BagOfWordsEmbedder(), stored=stored)
    assert "ACME-9" not in suggested()

    # a stored worklist from before the rejection: the refresh drops the suggestion too
    impact = ImpactStore(engine).impact("acme", world.diff_id)
    assert impact is not None

    old = AffectedControl("ACME-9", Action.GAP, 0.5, "suggested", needs_review=True)
    items = tuple(
        replace(i, controls=(*i.controls, old)) if i.change.new_ids == ("R-4",) else i for i in impact.items
    )
    store_impact(engine, replace(impact, items=items))
    assert "ACME-9" in suggested()
    with Session(engine) as session:
        r4 = session.scalar(
            select(ChangeRow.id).where(ChangeRow.diff_id == world.diff_id, ChangeRow.seq == 3)
        )
    assert r4 is not None
    refresh_impacts(engine, world.diff_id, change_ids={r4}, orgs=["acme"])
    assert "ACME-9" not in suggested()


def test_one_function_writes_stored_impact() -> None:
    """Only the impact store builds impact rows, and only the impact service calls it."""
    writers: dict[str, list[str]] = {"rows": [], "calls": []}
    for path in sorted((ROOT / "tracker").rglob("*.py")) + sorted((ROOT / "api").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        if re.search(r"(?<!class )\bImpact(Item)?Row\(", text):
            writers["rows"].append(name)
        if re.search(r"ImpactStore\.write\(|\.write_impact\(|\.save_impact\(", text):
            writers["calls"].append(name)
    assert writers == {"rows": ["tracker/storage/impacts.py"], "calls": ["tracker/impact/service.py"]}
