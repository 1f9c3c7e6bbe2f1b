"""Decision logic (tracker.review.decisions, tracker.storage.decisions) on a real database: verdicts
confirmed and corrected with the original kept, mapping suggestions rejected, and the effect
on the stored change, the diff, every stored impact, the API and later digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from tests.support.api_world import World, client_for, seed
from tracker.diff.types import Kind, Tag
from tracker.digests.events import enqueue
from tracker.digests.model import SubscriptionSpec
from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.impact.model import Action, AffectedControl, StoredImpact
from tracker.impact.service import compute_impact, store_impact
from tracker.mapping.types import Provenance, ReviewState
from tracker.review.decisions import Verdict, allowed_kinds, refresh_impacts, review_mapping, review_verdict
from tracker.review.readings import reading_of
from tracker.storage.decisions import DecisionStore, Reviewer
from tracker.storage.diffs import DiffStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore
from tracker.storage.subscriptions import SubscriptionStore
from tracker.storage.tables.api import OutboxRow
from tracker.storage.tables.archive import ChangeRow


def _change(engine: Engine, diff_id: int, ident: str) -> ChangeRow:
    with Session(engine) as session:
        rows = session.scalars(select(ChangeRow).where(ChangeRow.diff_id == diff_id)).all()
        return next(r for r in rows if ident in (r.old_ids or []) + (r.new_ids or []))


OPERATOR = Reviewer(name="Olive", key_id="op")  # the operator's key: no organisation


def _reviewer(world: World, org: str = "acme", name: str = "Rita") -> Reviewer:
    return Reviewer(name=name, key_id="k1", org=org, org_id=world.orgs[org])


def _item(engine: Engine, org: str, diff_id: int, ident: str) -> dict[str, Any]:
    """The stored item of the change involving ``ident``, as the stored JSON has it."""
    result = ImpactStore(engine).impact(org, diff_id)
    assert result is not None
    found: dict[str, Any] = next(
        i.to_json() for i in result.items if ident in i.change.old_ids + i.change.new_ids
    )
    return found


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def test_migration_creates_the_decisions_table(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("review_decisions")}
    assert {"org_id", "change_id", "mapping_id", "action", "before", "after", "reviewer", "reason"} <= columns


def test_allowed_kinds_never_invent_identifiers() -> None:
    assert allowed_kinds([], ["A"]) == (Kind.ADDED,)
    assert allowed_kinds(["A"], []) == (Kind.REMOVED,)
    assert Kind.SPLIT in allowed_kinds(["A"], ["B", "C"]) and Kind.MERGED not in allowed_kinds(
        ["A"], ["B", "C"]
    )
    assert Kind.MERGED in allowed_kinds(["A", "B"], ["C"])
    assert allowed_kinds(["A"], ["A"]) == (Kind.MODIFIED, Kind.MOVED, Kind.UNCHANGED)


def test_an_organisations_confirmation_is_its_own(world: World) -> None:
    """Who, when and why stay with the deciding organisation; the shared change is untouched."""
    engine = world.engine
    row = _change(engine, world.diff_id, "R-1")
    before = datetime.now(UTC)
    outcome = review_verdict(
        engine, row.id, _reviewer(world), action="confirm", reason="should -> shall is right"
    )
    after = _change(engine, world.diff_id, "R-1")
    assert (after.kind, after.substantive, after.tags, after.data) == (
        row.kind,
        row.substantive,
        row.tags,
        row.data,
    )
    (decision,) = DecisionStore(engine).find(world.orgs["acme"])
    assert decision.id == outcome.decision_id and decision.action == "confirm"
    assert (decision.reviewer, decision.reason, decision.change_id) == (
        "Rita",
        "should -> shall is right",
        row.id,
    )
    assert before <= decision.created_at <= datetime.now(UTC)
    assert outcome.impacts_updated == ("acme",)  # one tenant never rewrites another's worklist
    assert DecisionStore(engine).find(world.orgs["globex"]) == []  # the record stays with acme
    mine, theirs = (
        reading_of(engine, row.id, world.orgs["acme"]),
        reading_of(engine, row.id, world.orgs["globex"]),
    )
    assert (mine["review"]["status"], mine["review"]["revision"], mine["review"]["scope"]) == (
        "confirmed",
        1,
        "organisation",
    )
    assert mine["confidence"] == 1.0 and mine["review"]["original"]["tags"] == ["obligation_strengthened"]
    assert (theirs["review"]["status"], theirs["review"]["revision"]) == ("unreviewed", 0)
    assert _item(engine, "acme", world.diff_id, "R-1")["change"]["confidence"] == 1.0


def test_an_organisations_correction_reaches_its_impact_api_and_digests_only(world: World) -> None:
    engine = world.engine
    row = _change(engine, world.diff_id, "R-1")
    globex_before = _item(engine, "globex", world.diff_id, "R-1")
    corrected = Verdict(Kind.MODIFIED, False, (Tag.SCOPE_CHANGED,))
    review_verdict(engine, row.id, _reviewer(world), action="correct", verdict=corrected, reason="same duty")

    stored = _change(engine, world.diff_id, "R-1")
    assert (stored.kind, stored.substantive, stored.tags) == (row.kind, row.substantive, row.tags)
    assert DiffStore(engine).get(world.diff_id).result.changes[row.seq].substantive is True
    item = _item(engine, "acme", world.diff_id, "R-1")
    assert item["change"]["tags"] == ["scope_changed"] and item["action"] == "none"  # editorial for acme
    assert _item(engine, "globex", world.diff_id, "R-1") == globex_before

    api = client_for(engine)
    shared = api.get(f"/v1/changes?diff_id={world.diff_id}", headers=world.auth("acme:read")).json()["items"]
    served = next(c for c in shared if c["old_ids"] == ["R-1"])
    assert (served["substantive"], served["review"]["status"]) == (True, "unreviewed")  # the shared verdict
    lines = api.get("/v1/orgs/acme/impact", headers=world.auth("acme:read")).json()["items"]
    assert {ln["change"]["substantive"] for ln in lines if ln["change"]["old_ids"] == ["R-1"]} == {False}
    reading = api.get(f"/v1/orgs/acme/review/changes/{row.id}", headers=world.auth("acme:read")).json()
    assert (reading["substantive"], reading["tags"], reading["review"]["scope"]) == (
        False,
        ["scope_changed"],
        "organisation",
    )
    assert (
        api.get(f"/v1/orgs/acme/review/changes/{row.id}", headers=world.auth("globex:read")).status_code
        == 404
    )

    digests = {}
    for org in ("acme", "globex"):
        sub = SubscriptionStore(engine).create(
            world.orgs[org], SubscriptionSpec(), since=datetime.now(UTC) - timedelta(days=1)
        )
        digests[org] = sub.subscription.id
    assert enqueue(engine) >= 2
    with Session(engine) as session:
        for org, substantive in (("acme", False), ("globex", True)):
            payload = session.scalar(
                select(OutboxRow.payload).where(OutboxRow.subscription_id == digests[org])
            )
            assert payload is not None
            digest = next(c for c in payload["changes"] if c["old_ids"] == ["R-1"])
            assert digest["substantive"] is substantive, org


def test_the_operators_correction_is_shared_except_where_an_org_decided(world: World) -> None:
    engine = world.engine
    row = _change(engine, world.diff_id, "R-1")
    review_verdict(engine, row.id, _reviewer(world), action="confirm", reason="acme keeps it")
    corrected = Verdict(Kind.MODIFIED, False, (Tag.SCOPE_CHANGED,))
    outcome = review_verdict(engine, row.id, OPERATOR, action="correct", verdict=corrected, reason="curated")
    assert set(outcome.impacts_updated) == {"acme", "globex"}
    stored = _change(engine, world.diff_id, "R-1")
    assert (stored.kind, stored.substantive, stored.tags) == ("modified", False, ["scope_changed"])
    review = stored.data["review"]
    assert review["status"] == "corrected" and review["revision"] == 1
    assert (review["original"]["substantive"], review["original"]["tags"]) == (
        True,
        ["obligation_strengthened"],
    )
    result = DiffStore(engine).get(world.diff_id).result
    assert (
        result.changes[row.seq].tags == (Tag.SCOPE_CHANGED,) and result.changes[row.seq].substantive is False
    )
    api = client_for(engine).get(f"/v1/changes?diff_id={world.diff_id}", headers=world.auth("globex:read"))
    served = next(c for c in api.json()["items"] if c["old_ids"] == ["R-1"])
    assert (served["substantive"], served["tags"], served["confidence"]) == (False, ["scope_changed"], 1.0)
    assert (served["review"]["status"], served["review"]["scope"]) == ("corrected", "shared")
    assert _item(engine, "globex", world.diff_id, "R-1")["action"] == "none"  # follows the operator
    acme = _item(engine, "acme", world.diff_id, "R-1")  # acme confirmed the engine's reading: kept
    assert acme["change"]["tags"] == ["obligation_strengthened"] and acme["change"]["substantive"] is True
    assert reading_of(engine, row.id, world.orgs["acme"])["review"]["revision"] == 2  # shared 1 + its own 1
    assert DecisionStore(engine).find(None)[0].reason == "curated"  # the operator's own record


def test_a_second_operator_correction_keeps_the_engines_original(world: World) -> None:
    engine = world.engine
    row = _change(engine, world.diff_id, "R-1")
    review_verdict(engine, row.id, OPERATOR, action="correct", verdict=Verdict(Kind.MODIFIED, False, ()))
    review_verdict(
        engine,
        row.id,
        OPERATOR,
        action="correct",
        verdict=Verdict(Kind.MODIFIED, True, (Tag.OBLIGATION_STRENGTHENED,)),
    )
    review = _change(engine, world.diff_id, "R-1").data["review"]
    assert review["original"]["tags"] == ["obligation_strengthened"] and review["status"] == "confirmed"
    assert review["revision"] == 2


def test_kind_corrections_that_would_invent_ids_are_refused(world: World) -> None:
    engine = world.engine
    added = _change(engine, world.diff_id, "R-4")
    with pytest.raises(InvalidInputError, match="cannot be removed"):
        review_verdict(
            engine, added.id, _reviewer(world), action="correct", verdict=Verdict(Kind.REMOVED, None, ())
        )
    with pytest.raises(InvalidInputError, match="needs the corrected verdict"):
        review_verdict(engine, added.id, _reviewer(world), action="correct")
    with pytest.raises(NotFoundError):
        review_verdict(engine, 999_999, _reviewer(world), action="confirm")
    assert DecisionStore(engine).find(world.orgs["acme"]) == []  # nothing half-done


def test_unchanged_corrected_to_modified_enters_the_impact(world: World) -> None:
    engine = world.engine
    row = _change(engine, world.diff_id, "R-2")
    assert row.kind == "unchanged"
    review_verdict(
        engine,
        row.id,
        _reviewer(world),
        action="correct",
        verdict=Verdict(Kind.MODIFIED, True, (Tag.SCOPE_CHANGED,)),
        reason="the inventory now covers datasets",
    )
    item = _item(engine, "acme", world.diff_id, "R-2")
    assert item["change"]["kind"] == "modified" and item["action"] == "gap"
    assert DiffStore(engine).get(world.diff_id).result.summary["unchanged"] == 1  # acme's reading only
    # and recomputing acme's impact from scratch keeps acme's reading
    compute_impact(engine, "acme", "demo-std", "v1", "v2", None)
    assert _item(engine, "acme", world.diff_id, "R-2")["change"]["kind"] == "modified"
    review_verdict(engine, row.id, OPERATOR, action="correct", verdict=Verdict(Kind.MODIFIED, True, ()))
    assert DiffStore(engine).get(world.diff_id).result.summary["unchanged"] == 0


def test_rejected_mapping_leaves_the_impact_of_that_org_only(world: World) -> None:
    engine = world.engine
    assert [c["control_id"] for c in _item(engine, "acme", world.diff_id, "R-1")["controls"]] == ["ACME-1"]
    mapping_id = next(m.id for m in MappingStore(engine).mappings("acme") if m.mapping.target == "ACME-1")
    row = _change(engine, world.diff_id, "R-1")
    outcome = review_mapping(
        engine,
        _reviewer(world),
        mapping_id,
        ReviewState.REJECTED,
        reason="logs, not weights",
        change_id=row.id,
    )
    assert outcome.impacts_updated == ("acme",)
    stored = next(m for m in MappingStore(engine).mappings("acme") if m.id == mapping_id)
    assert stored.mapping.review is ReviewState.REJECTED and stored.mapping.provenance is Provenance.REVIEWER
    assert stored.reviewer == "Rita" and stored.reviewed_at is not None
    item = _item(engine, "acme", world.diff_id, "R-1")
    assert item["controls"] == [] and item["action"] == "gap"  # strengthened, and nothing covers it now
    assert [c["control_id"] for c in _item(engine, "globex", world.diff_id, "R-1")["controls"]] == ["G-1"]
    (decision,) = DecisionStore(engine).find(world.orgs["acme"], subject="mapping")
    assert (decision.mapping_id, decision.before["review"], decision.after["review"]) == (
        mapping_id,
        "proposed",
        "rejected",
    )
    foreign = next(m.id for m in MappingStore(engine).mappings("globex"))
    with pytest.raises(NotFoundError):
        review_mapping(engine, _reviewer(world), foreign, ReviewState.ACCEPTED)
    with pytest.raises(InvalidInputError):
        review_mapping(engine, Reviewer("operator"), mapping_id, ReviewState.ACCEPTED)


def test_gap_suggestions_survive_a_refresh_unless_rejected(world: World) -> None:
    engine = world.engine
    result = ImpactStore(engine).impact("acme", world.diff_id)
    assert result is not None
    suggested = (
        AffectedControl("ACME-2", Action.GAP, 0.4, "suggested", needs_review=True),
        AffectedControl("ACME-3", Action.GAP, 0.3, "suggested", needs_review=True),
    )
    items = tuple(replace(i, controls=suggested) if i.change.new_ids == ("R-4",) else i for i in result.items)
    store_impact(engine, replace(result, items=items))
    assert ImpactStore(engine).impact("acme", world.diff_id) == replace(result, items=items)  # round trip
    from tracker.mapping.types import Mapping

    MappingStore(engine).add_mappings(
        "acme",
        [
            Mapping(
                "R-4", "ACME-3", review=ReviewState.REJECTED, source_set="demo-std@v2", target_set="org:acme"
            )
        ],
        origin="test",
    )
    row = _change(engine, world.diff_id, "R-4")
    assert refresh_impacts(engine, world.diff_id, change_ids={row.id}, orgs=["acme"]) == ["acme"]
    item = _item(engine, "acme", world.diff_id, "R-4")
    assert item["action"] == "gap" and [c["control_id"] for c in item["controls"]] == ["ACME-2"]


def test_a_decision_that_fails_part_way_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict or mapping, the decision record and the refreshed impacts commit together:
    a failure while the second organisation's impact is written leaves all of them as they were."""
    engine = world.engine
    row = _change(engine, world.diff_id, "R-1")
    before_change = (row.kind, row.substantive, list(row.tags or []))
    impacts = {org: ImpactStore(engine).impact(org, world.diff_id) for org in ("acme", "globex")}
    mapping_id = next(m.id for m in MappingStore(engine).mappings("acme") if m.mapping.target == "ACME-1")
    real_write = ImpactStore.write
    written: list[str] = []

    def write_then_fail(session: Session, impact: StoredImpact) -> int:
        if written:  # the first organisation's impact is written; the disk fails on the second
            raise OSError("disk full")
        written.append(impact.org)
        return real_write(session, impact)

    monkeypatch.setattr(ImpactStore, "write", staticmethod(write_then_fail))
    corrected = Verdict(Kind.MODIFIED, False, ())
    with pytest.raises(OSError):  # the operator's decision refreshes every organisation's impact
        review_verdict(engine, row.id, OPERATOR, action="correct", verdict=corrected, reason="x")
    written.clear()
    written.append("force failure on the first write")
    with pytest.raises(OSError):
        review_mapping(engine, _reviewer(world), mapping_id, ReviewState.REJECTED, reason="y")
    monkeypatch.undo()

    after = _change(engine, world.diff_id, "R-1")
    assert (after.kind, after.substantive, list(after.tags or [])) == before_change
    assert {org: ImpactStore(engine).impact(org, world.diff_id) for org in ("acme", "globex")} == impacts
    stored = next(m for m in MappingStore(engine).mappings("acme") if m.id == mapping_id)
    assert stored.mapping.review is ReviewState.PROPOSED and stored.reviewer == ""
    assert DecisionStore(engine).find(world.orgs["acme"]) == [] and DecisionStore(engine).find(None) == []
    # and the same decision goes through once the fault is gone
    review_verdict(engine, row.id, OPERATOR, action="correct", verdict=corrected, reason="x")
    assert _change(engine, world.diff_id, "R-1").substantive is False


def test_a_decision_on_a_stale_view_is_refused_and_changes_nothing(world: World) -> None:
    """Two reviewers of one organisation open the same change; the second to decide is told
    who decided first and nothing of theirs is written. Another organisation's decisions are
    not in its view and never conflict; the operator's are, and do."""
    engine = world.engine
    row = _change(engine, world.diff_id, "R-1")
    review_verdict(engine, row.id, _reviewer(world), action="confirm", reason="ok", expected_revision=0)
    impacts = {org: ImpactStore(engine).impact(org, world.diff_id) for org in ("acme", "globex")}

    stale = Verdict(Kind.MODIFIED, False, ())
    with pytest.raises(ConflictError) as same_org:
        review_verdict(
            engine, row.id, _reviewer(world, name="Sam"), action="correct", verdict=stale, expected_revision=0
        )
    assert "'Rita' at " in same_org.value.problem and "revision 1" in same_org.value.problem
    assert "expected_revision 1" in same_org.value.hint
    assert {org: ImpactStore(engine).impact(org, world.diff_id) for org in ("acme", "globex")} == impacts
    assert len(DecisionStore(engine).find(world.orgs["acme"])) == 1

    # globex has its own view, still at revision 0: acme's decision is no conflict for it
    review_verdict(engine, row.id, _reviewer(world, "globex", "Gil"), action="confirm", expected_revision=0)
    # the operator's shared decision moves every organisation's view on
    review_verdict(engine, row.id, OPERATOR, action="confirm", expected_revision=0)
    with pytest.raises(ConflictError) as after_operator:
        review_verdict(
            engine, row.id, _reviewer(world, "globex", "Gil"), action="confirm", expected_revision=1
        )
    assert "the operator at " in after_operator.value.problem and "Olive" not in after_operator.value.problem

    # decided again on the current revision, it goes through; without a revision, last writer wins
    review_verdict(
        engine, row.id, _reviewer(world, name="Sam"), action="correct", verdict=stale, expected_revision=2
    )
    review_verdict(engine, row.id, _reviewer(world), action="confirm")
    reading = reading_of(engine, row.id, world.orgs["acme"])
    assert reading["substantive"] is False and reading["review"]["revision"] == 4  # 1 shared + 3 acme


def test_the_api_serves_the_revision_and_answers_409_on_a_stale_one(world: World) -> None:
    engine = world.engine
    client = client_for(engine)
    write = world.auth("acme:write")
    change_id = _change(engine, world.diff_id, "R-1").id
    url = f"/v1/orgs/acme/review/changes/{change_id}"

    def review() -> dict[str, Any]:
        found: dict[str, Any] = client.get(url, headers=world.auth("acme:read")).json()
        return found

    first = review()
    assert first["review"] == {
        "status": "unreviewed",
        "revision": 0,
        "scope": "shared",
        "decided_at": None,
        "original": None,
    }
    assert (
        client.post(
            f"{url}/verdict", json={"action": "confirm", "expected_revision": 0}, headers=write
        ).status_code
        == 201
    )
    now = review()["review"]
    assert (now["status"], now["revision"], now["scope"]) == ("confirmed", 1, "organisation")
    assert now["original"]["tags"] == ["obligation_strengthened"] and now["decided_at"]

    body = {"action": "correct", "kind": "modified", "substantive": False, "expected_revision": 0}
    refused = client.post(f"{url}/verdict", json={**body, "reason": "stale"}, headers=write)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "revision 1" in refused.json()["detail"]
    assert review()["substantive"] is True  # the correction on the stale view was not applied
    accepted = client.post(
        f"{url}/verdict", json={**body, "expected_revision": 1, "reason": "now"}, headers=write
    )
    assert accepted.status_code == 201 and review()["substantive"] is False
    assert (
        client.get("/v1/orgs/acme/review/changes/999999", headers=world.auth("acme:read")).status_code == 404
    )


def test_a_mapping_decision_on_a_stale_view_is_refused(world: World) -> None:
    engine = world.engine
    client = client_for(engine)
    mapping_id = next(m.id for m in MappingStore(engine).mappings("acme") if m.mapping.target == "ACME-1")
    impacts = ImpactStore(engine).impact("acme", world.diff_id)
    review_mapping(
        engine,
        _reviewer(world),
        mapping_id,
        ReviewState.ACCEPTED,
        reason="fits",
        expected=ReviewState.PROPOSED,
    )
    with pytest.raises(ConflictError) as stale:
        review_mapping(
            engine,
            _reviewer(world, name="Sam"),
            mapping_id,
            ReviewState.REJECTED,
            expected=ReviewState.PROPOSED,
        )
    assert "accepted by 'Rita'" in stale.value.problem and "expected_review accepted" in stale.value.hint
    stored = next(m for m in MappingStore(engine).mappings("acme") if m.id == mapping_id)
    assert stored.mapping.review is ReviewState.ACCEPTED and stored.reviewer == "Rita"
    assert len(DecisionStore(engine).find(world.orgs["acme"])) == 1

    url = f"/v1/orgs/acme/mappings/{mapping_id}"
    write = world.auth("acme:write")
    refused = client.patch(url, json={"review": "rejected", "expected_review": "proposed"}, headers=write)
    assert refused.status_code == 409 and "accepted by 'Rita'" in refused.json()["detail"]
    decisions = f"/v1/orgs/acme/review/mappings/{mapping_id}"
    assert (
        client.post(
            decisions, json={"review": "rejected", "expected_review": "proposed"}, headers=write
        ).status_code
        == 409
    )
    assert (
        ImpactStore(engine).impact("acme", world.diff_id) != impacts
    )  # only the accepted decision's refresh
    patched = client.patch(url, json={"review": "rejected", "expected_review": "accepted"}, headers=write)
    assert patched.status_code == 200 and patched.json()["review"] == "rejected"


def test_the_operator_corrects_the_shared_verdict_through_the_api(world: World) -> None:
    engine = world.engine
    client = client_for(engine)
    change_id = _change(engine, world.diff_id, "R-1").id
    url = f"/v1/changes/{change_id}/verdict"
    body = {"action": "correct", "kind": "modified", "substantive": False, "reason": "curated"}
    refused = client.post(url, json=body, headers=world.auth("acme:admin"))  # an organisation's key
    assert refused.status_code == 403
    stale = client.post(url, json={**body, "expected_revision": 3}, headers=world.auth("operator"))
    assert stale.status_code == 409
    made = client.post(url, json={**body, "expected_revision": 0}, headers=world.auth("operator"))
    assert made.status_code == 201, made.text
    assert (made.json()["subject"], made.json()["after"]["substantive"]) == ("verdict", False)
    shared = client.get(f"/v1/changes?diff_id={world.diff_id}", headers=world.auth("globex:read")).json()
    served = next(c for c in shared["items"] if c["id"] == change_id)
    assert (served["substantive"], served["review"]["revision"], served["review"]["scope"]) == (
        False,
        1,
        "shared",
    )
    assert _item(engine, "globex", world.diff_id, "R-1")["change"]["substantive"] is False
    assert DecisionStore(engine).find(world.orgs["acme"]) == []  # the operator's record is its own
