"""Bulk review (tracker.review.bulk, tracker.review.selection) on a real database: a filter
chooses the right changes, each gets its own decision naming the batch and its filter, undo
restores what was read before, a later single decision survives the undo, a stale preview
skips what moved, and the JSON API answers the same (with problems naming the fix)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.support.api_world import SOURCE, World, client_for, seed
from tests.support.pages_world import sign_in
from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Tag
from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.review.bulk import BulkVerdict, apply_bulk, preview, undo_bulk
from tracker.review.decisions import Verdict, review_verdict
from tracker.review.readings import reading_of
from tracker.review.selection import ChangeFilter
from tracker.storage.batches import BatchStore
from tracker.storage.decisions import DecisionStore, Reviewer
from tracker.storage.diffs import DiffStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.tables.archive import ChangeRow

ACTOR = "statement differs by house style only: actor dropped (the party named ...)"
BOTH = f"{ACTOR}; information system -> system (shortened)"


def _mod(ident: str, substantive: bool, tags: tuple[Tag, ...] = (), reason: str = "") -> Change:
    return Change(Kind.MODIFIED, (ident,), (ident,), substantive=substantive, tags=tags, reasons=(reason,))


def land_big_diff(engine: Engine) -> int:
    """A Rev-4-to-Rev-5-like diff of the demo source (v2 -> v3-draft): families, guidance-only
    edits, house-style rewrites, a withdrawal, an addition and an unchanged control."""
    changes = (
        _mod("AC-1", False, (Tag.GUIDANCE_ONLY,), "guidance changed only"),
        _mod("AC-2", False, (), ACTOR),
        _mod("AC-3", False, (), BOTH),
        _mod("SI-4", True, (Tag.SCOPE_CHANGED,), "scope words changed: +'cloud'"),
        Change(Kind.ADDED, (), ("SI-5",)),
        Change(Kind.REMOVED, ("AC-9",), (), tags=(Tag.WITHDRAWN,)),
        Change(Kind.UNCHANGED, ("AC-10",), ("AC-10",), substantive=False),
        _mod("SI-6", False, (Tag.GUIDANCE_ONLY,), "guidance changed only"),
    )
    result = DiffResult(SOURCE.slug, "v2", "v3-draft", ENGINE_VERSION, None, changes)
    return DiffStore(engine).save(result).id


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


@pytest.fixture
def big(world: World) -> int:
    return land_big_diff(world.engine)


def _rita(world: World, org: str = "acme", name: str = "Rita") -> Reviewer:
    return Reviewer(name=name, key_id="k1", org=org, org_id=world.orgs[org])


def _ids(engine: Engine, diff_id: int) -> dict[str, int]:
    """Change id by the first identifier it involves."""
    with Session(engine) as session:
        rows = session.scalars(select(ChangeRow).where(ChangeRow.diff_id == diff_id)).all()
        return {((r.new_ids or []) + (r.old_ids or []))[0]: r.id for r in rows}


def _chosen(world: World, diff_id: int, **criteria: Any) -> set[str]:
    names = {v: k for k, v in _ids(world.engine, diff_id).items()}
    found = preview(world.engine, diff_id, _rita(world), ChangeFilter(**criteria))
    return {names[cid] for cid in found.change_ids}


def test_the_filter_selects_by_tag_rule_kind_family_verdict_and_status(world: World, big: int) -> None:
    assert _chosen(world, big, tags=(Tag.GUIDANCE_ONLY,)) == {"AC-1", "SI-6"}
    assert _chosen(world, big, rules=("actor dropped",)) == {"AC-2", "AC-3"}
    assert _chosen(world, big, rules=("actor dropped", "information system -> system")) == {"AC-3"}
    assert _chosen(world, big, kinds=(Kind.REMOVED, Kind.ADDED)) == {"AC-9", "SI-5"}
    assert _chosen(world, big, prefixes=("si-",)) == {"SI-4", "SI-5", "SI-6"}  # unchanged left out
    assert _chosen(world, big, kinds=(Kind.UNCHANGED,)) == {"AC-10"}
    assert _chosen(world, big, substantive="yes") == {"SI-4"}
    assert _chosen(world, big, text="cloud") == {"SI-4"}
    assert len(_chosen(world, big)) == 7  # every changed requirement
    review_verdict(world.engine, _ids(world.engine, big)["AC-1"], _rita(world), action="confirm")
    assert _chosen(world, big, tags=(Tag.GUIDANCE_ONLY,), status="unreviewed") == {"SI-6"}
    assert _chosen(world, big, tags=(Tag.GUIDANCE_ONLY,), status="reviewed") == {"AC-1"}


def test_bad_filters_are_refused_naming_the_fix(world: World, big: int) -> None:
    with pytest.raises(InvalidInputError) as unknown:
        ChangeFilter(rules=("actor removed",))
    assert "actor dropped" in unknown.value.hint  # lists the rules there are
    with pytest.raises(InvalidInputError):
        ChangeFilter(substantive="maybe")
    with pytest.raises(InvalidInputError) as empty:
        apply_bulk(world.engine, big, _rita(world), ChangeFilter(prefixes=("ZZ-",)), action="confirm")
    assert "selects no change" in empty.value.problem and "dry_run" in empty.value.hint
    with pytest.raises(InvalidInputError):  # bulk decisions are an organisation's own reading
        apply_bulk(world.engine, big, Reviewer("Olive"), ChangeFilter(), action="confirm")
    with pytest.raises(NotFoundError):
        preview(world.engine, 999_999, _rita(world), ChangeFilter())
    assert DecisionStore(world.engine).find(world.orgs["acme"]) == []


def test_each_chosen_change_gets_its_own_decision_naming_the_batch(world: World, big: int) -> None:
    engine, acme = world.engine, world.orgs["acme"]
    flt = ChangeFilter(tags=(Tag.GUIDANCE_ONLY,), status="unreviewed")
    outcome = apply_bulk(engine, big, _rita(world), flt, action="confirm", reason="guidance is not a duty")
    ids = _ids(engine, big)
    assert set(outcome.decided) == {ids["AC-1"], ids["SI-6"]} and outcome.skipped == ()
    decisions = DecisionStore(engine).find(acme, diff_id=big)
    assert {d.change_id for d in decisions} == set(outcome.decided)
    assert {(d.action, d.batch_id, d.reason, d.reviewer) for d in decisions} == {
        ("confirm", outcome.batch_id, "guidance is not a duty", "Rita")
    }
    batch = BatchStore(engine).get(outcome.batch_id, acme)
    assert batch is not None and batch.decided == 2 and batch.undone_at is None
    assert ChangeFilter.of(batch.filter) == flt  # the filter that chose them is on record
    reading = reading_of(engine, ids["SI-6"], acme)
    assert (reading["review"]["status"], reading["review"]["scope"], reading["confidence"]) == (
        "confirmed",
        "organisation",
        1.0,
    )
    assert reading_of(engine, ids["SI-6"], world.orgs["globex"])["review"]["status"] == "unreviewed"
    assert BatchStore(engine).get(outcome.batch_id, world.orgs["globex"]) is None


def test_undo_restores_earlier_readings_and_keeps_later_decisions(world: World, big: int) -> None:
    engine, acme = world.engine, world.orgs["acme"]
    ids = _ids(engine, big)
    # before the batch: AC-2 corrected one by one (the batch will overwrite it, the undo bring it back)
    own = Verdict(Kind.MODIFIED, True, (Tag.SCOPE_CHANGED,))
    review_verdict(engine, ids["AC-2"], _rita(world), action="correct", verdict=own, reason="reads wider")
    flt = ChangeFilter(prefixes=("AC-",), kinds=(Kind.MODIFIED,))
    bulk = apply_bulk(
        engine,
        big,
        _rita(world),
        flt,
        action="correct",
        verdict=BulkVerdict(False, tags=()),
        reason="editorial",
    )
    assert set(bulk.decided) == {ids["AC-1"], ids["AC-2"], ids["AC-3"]}
    assert reading_of(engine, ids["AC-2"], acme)["substantive"] is False
    assert reading_of(engine, ids["AC-1"], acme)["tags"] == []  # the correction set the tags
    revision = reading_of(engine, ids["AC-1"], acme)["review"]["revision"]
    # after the batch: AC-3 decided again by a colleague; the undo must not clobber it
    later = Verdict(Kind.MODIFIED, None, ())
    review_verdict(
        engine, ids["AC-3"], _rita(world, name="Sam"), action="correct", verdict=later, reason="n/a"
    )

    undone = undo_bulk(engine, bulk.batch_id, _rita(world, name="Uma"))
    assert set(undone.restored) == {ids["AC-1"], ids["AC-2"]} and undone.kept == (ids["AC-3"],)
    ac1, ac2, ac3 = (reading_of(engine, ids[i], acme) for i in ("AC-1", "AC-2", "AC-3"))
    assert (ac1["review"]["status"], ac1["review"]["scope"], ac1["tags"]) == (
        "unreviewed",
        "shared",
        ["guidance_only"],
    )
    assert ac1["review"]["revision"] > revision  # an undo moves the revision on, never back
    assert (ac2["substantive"], ac2["tags"], ac2["review"]["status"]) == (
        True,
        ["scope_changed"],
        "corrected",
    )
    assert ac3["substantive"] is None  # Sam's later decision stands
    batch = BatchStore(engine).get(bulk.batch_id, acme)
    assert batch is not None and batch.undone_by == "Uma" and batch.undone_at is not None
    undos = [d for d in DecisionStore(engine).find(acme, diff_id=big) if d.action == "undo"]
    assert {d.change_id for d in undos} == set(undone.restored)
    assert all(d.batch_id == bulk.batch_id and d.before["substantive"] is False for d in undos)
    with pytest.raises(ConflictError):
        undo_bulk(engine, bulk.batch_id, _rita(world))
    with pytest.raises(NotFoundError):  # another tenant's batch does not exist for globex
        undo_bulk(engine, bulk.batch_id, _rita(world, org="globex"))
    # the stale view check of single decisions sees the undo
    with pytest.raises(ConflictError):
        review_verdict(engine, ids["AC-1"], _rita(world), action="confirm", expected_revision=revision)
    fresh = reading_of(engine, ids["AC-1"], acme)["review"]["revision"]
    review_verdict(engine, ids["AC-1"], _rita(world), action="confirm", expected_revision=fresh)


def test_a_stale_preview_skips_changes_decided_since(world: World, big: int) -> None:
    engine, acme = world.engine, world.orgs["acme"]
    ids = _ids(engine, big)
    flt = ChangeFilter(prefixes=("AC-",))
    seen = preview(engine, big, _rita(world), flt)
    assert len(seen.change_ids) == 4
    review_verdict(
        engine,
        ids["AC-1"],
        _rita(world, name="Sam"),
        action="correct",
        verdict=Verdict(Kind.MODIFIED, True, ()),
    )
    done = apply_bulk(engine, big, _rita(world), flt, action="confirm", as_of=seen.as_of)
    assert done.skipped == (ids["AC-1"],) and ids["AC-1"] not in done.decided and len(done.decided) == 3
    assert reading_of(engine, ids["AC-1"], acme)["substantive"] is True  # Sam's verdict, not overwritten
    with pytest.raises(ConflictError):  # every chosen change moved since that preview
        apply_bulk(
            engine, big, _rita(world), ChangeFilter(prefixes=("AC-1",)), action="confirm", as_of=seen.as_of
        )
    # the operator's shared decision counts as a move too
    again = preview(engine, big, _rita(world), ChangeFilter(kinds=(Kind.ADDED,)))
    review_verdict(engine, ids["SI-5"], Reviewer("Olive"), action="confirm")
    with pytest.raises(ConflictError):
        apply_bulk(
            engine, big, _rita(world), ChangeFilter(kinds=(Kind.ADDED,)), action="confirm", as_of=again.as_of
        )


def test_a_bulk_correction_never_invents_identifiers(world: World, big: int) -> None:
    verdict = BulkVerdict(True, kind=Kind.MERGED)
    with pytest.raises(InvalidInputError) as refused:
        apply_bulk(
            world.engine, big, _rita(world), ChangeFilter(), action="correct", verdict=verdict, reason="x"
        )
    assert "cannot be merged" in refused.value.problem and "narrow the filter" in refused.value.hint
    with pytest.raises(InvalidInputError):  # a correction says why
        apply_bulk(world.engine, big, _rita(world), ChangeFilter(), action="correct", verdict=verdict)
    assert DecisionStore(world.engine).find(world.orgs["acme"]) == []


def test_bulk_and_undo_reach_the_stored_impact(world: World) -> None:
    engine = world.engine

    def r1() -> dict[str, Any]:
        result = ImpactStore(engine).impact("acme", world.diff_id)
        assert result is not None
        found: dict[str, Any] = next(i.to_json() for i in result.items if "R-1" in i.change.old_ids)
        return found

    before = r1()
    flt = ChangeFilter(tags=(Tag.OBLIGATION_STRENGTHENED,))
    done = apply_bulk(
        engine,
        world.diff_id,
        _rita(world),
        flt,
        action="correct",
        verdict=BulkVerdict(False),
        reason="same duty",
    )
    assert done.impacts_updated == ("acme",)
    assert r1()["change"]["substantive"] is False
    undo_bulk(engine, done.batch_id, _rita(world))
    assert r1() == before


def test_the_api_previews_applies_and_undoes(world: World, big: int) -> None:
    client = client_for(world.engine)
    url = f"/v1/orgs/acme/review/diffs/{big}/bulk"
    write, read = world.auth("acme:write"), world.auth("acme:read")
    body = {"filter": {"tags": ["guidance_only"], "status": "unreviewed"}, "reason": "guidance only"}
    dry = client.post(url, json={**body, "dry_run": True}, headers=write)
    assert dry.status_code == 200, dry.text
    ids = _ids(world.engine, big)
    assert dry.json()["count"] == 2 and set(dry.json()["change_ids"]) == {ids["AC-1"], ids["SI-6"]}
    assert dry.json()["labels"] == ["AC-1", "SI-6"]
    assert DecisionStore(world.engine).find(world.orgs["acme"]) == []  # a dry run records nothing
    made = client.post(url, json={**body, "as_of": dry.json()["as_of"]}, headers=write)
    assert made.status_code == 201, made.text
    batch_id = made.json()["batch_id"]
    assert made.json()["count"] == 2 and made.json()["filter"] == body["filter"]
    located = client.get(made.headers["location"], headers=read)  # Location names the batch
    assert located.status_code == 200 and located.json()["id"] == batch_id
    listed = client.get(f"/v1/orgs/acme/review/decisions?diff_id={big}", headers=read).json()["items"]
    assert {d["batch_id"] for d in listed} == {batch_id}
    assert all(d["batch_filter"] == body["filter"] for d in listed)  # why each change was chosen
    got = client.get(f"{url}/{batch_id}", headers=read).json()
    assert (got["decided"], got["filter"], got["undone_at"]) == (2, body["filter"], None)
    assert [b["id"] for b in client.get(url, headers=read).json()] == [batch_id]

    assert client.post(url, json=body, headers=read).status_code == 403
    assert (
        client.delete(
            f"/v1/orgs/globex/review/diffs/{big}/bulk/{batch_id}", headers=world.auth("globex:write")
        ).status_code
        == 404
    )
    undone = client.delete(f"{url}/{batch_id}", headers=write)
    assert undone.status_code == 200 and set(undone.json()["restored"]) == {ids["AC-1"], ids["SI-6"]}
    again = client.delete(f"{url}/{batch_id}", headers=write)
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{url}/{batch_id}", headers=read).json()["undone_at"]


def test_the_api_names_the_fix_for_bad_bulk_requests(world: World, big: int) -> None:
    client = client_for(world.engine)
    url = f"/v1/orgs/acme/review/diffs/{big}/bulk"
    write = world.auth("acme:write")
    rule = client.post(url, json={"filter": {"rules": ["actor removed"]}}, headers=write)
    assert rule.status_code == 422 and "actor dropped" in rule.json()["detail"]
    empty = client.post(url, json={"filter": {"prefixes": ["ZZ-"]}}, headers=write)
    assert empty.status_code == 422 and "dry_run" in empty.json()["detail"]
    tag = client.post(url, json={"filter": {"tags": ["nonsense"]}}, headers=write)
    assert tag.status_code == 422 and tag.json()["errors"][0]["loc"][:3] == ["body", "filter", "tags"]
    no_verdict = client.post(url, json={"action": "correct", "reason": "x"}, headers=write)
    assert no_verdict.status_code == 422 and "verdict" in no_verdict.json()["detail"]
    assert client.post("/v1/orgs/acme/review/diffs/999999/bulk", json={}, headers=write).status_code == 404


def test_the_review_page_confirms_all_shown_and_undoes(world: World, big: int) -> None:
    """Without script: the bulk form carries the page's filter; the notice offers Undo; each
    change's history names the bulk action and its filter."""
    client = client_for(world.engine)
    page_url = f"/ui/sources/{SOURCE.slug}/review/v2/v3-draft"
    sign_in(client, world.keys["acme:write"], nxt=page_url)
    listed = client.get(page_url + "?tag=guidance_only").text
    assert "Confirm all 2 shown" in listed and 'name="tag" value="guidance_only"' in listed
    form = _form(listed, "bulk-form")
    ids = _ids(world.engine, big)
    # a colleague decides one of the two after the page was rendered: it is skipped
    review_verdict(
        world.engine,
        ids["SI-6"],
        _rita(world, name="Sam"),
        action="correct",
        verdict=Verdict(Kind.MODIFIED, True, ()),
        reason="wider",
    )
    done = client.post(f"/ui/diffs/{big}/bulk", data={**form, "reason": "bulk ok"}, follow_redirects=True)
    assert done.status_code == 200
    assert "Confirmed 1 verdict in bulk action" in done.text and "1 change of the 2 shown" in done.text
    assert "Undo" in done.text and "guidance only" in done.text
    acme = world.orgs["acme"]
    assert reading_of(world.engine, ids["AC-1"], acme)["review"]["status"] == "confirmed"
    assert reading_of(world.engine, ids["SI-6"], acme)["substantive"] is True
    assert "(in bulk action" in done.text and "filter: changed, guidance only" in done.text
    undo = _form(done.text, "undo-form")
    batch_id = int(re.search(r"/ui/bulk/(\d+)/undo", done.text).group(1))  # type: ignore[union-attr]
    back = client.post(f"/ui/bulk/{batch_id}/undo", data=undo, follow_redirects=True)
    assert f"Undid bulk action {batch_id}: 1 change back" in back.text
    assert reading_of(world.engine, ids["AC-1"], acme)["review"]["status"] == "unreviewed"
    assert "since undone" in back.text and 'action="/ui/bulk/' not in back.text  # nothing left to undo
    again = client.post(f"/ui/bulk/{batch_id}/undo", data=undo, follow_redirects=True)
    assert "Nothing to undo" in again.text
    reader = client_for(world.engine)
    sign_in(reader, world.keys["acme:read"], nxt=page_url)
    assert "Confirm all" not in reader.get(page_url).text  # a read key sees no bulk form


def _form(html: str, css_class: str) -> dict[str, str]:
    """The hidden fields of the form with this class."""
    start = html.index(f'class="{css_class}"')
    body = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))


def test_the_page_filters_by_house_style_rule_and_family(world: World, big: int) -> None:
    """The page's rule and identifier filters are the bulk filter's: the bulk form carries them."""
    client = client_for(world.engine)
    page_url = f"/ui/sources/{SOURCE.slug}/review/v2/v3-draft"
    sign_in(client, world.keys["acme:write"], nxt=page_url)
    by_rule = client.get(page_url + "?rule=actor+dropped").text
    assert "2 matching changes" in by_rule and "Confirm all 2 shown" in by_rule
    assert _form(by_rule, "bulk-form")["rule"] == "actor dropped"
    family = client.get(page_url + "?prefix=si-&substantive=no").text
    assert "Confirm all 1 shown" in family  # SI-6 (SI-4 is substantive, SI-5 n/a)
    form = _form(family, "bulk-form")
    client.post(f"/ui/diffs/{big}/bulk", data=form, follow_redirects=True)
    (batch,) = BatchStore(world.engine).for_diff(world.orgs["acme"], big)
    assert batch.filter == {"substantive": "no", "prefixes": ["si-"]}
    assert "Confirm all 7 shown" in client.get(page_url + "?rule=nonsense").text  # unknown: ignored


def test_overlapping_batches_undo_in_any_order(world: World, big: int) -> None:
    """Batch A (family AC-) then batch B (guidance only) overlap on AC-1: undoing A keeps B's
    decision on AC-1; undoing B then leaves AC-1 unreviewed (A is undone already)."""
    engine, acme = world.engine, world.orgs["acme"]
    ids = _ids(engine, big)
    a = apply_bulk(engine, big, _rita(world), ChangeFilter(prefixes=("AC-",)), action="confirm")
    b = apply_bulk(
        engine,
        big,
        _rita(world),
        ChangeFilter(tags=(Tag.GUIDANCE_ONLY,)),
        action="correct",
        verdict=BulkVerdict(None),
        reason="guidance has no duty to weigh",
    )
    undone_a = undo_bulk(engine, a.batch_id, _rita(world))
    assert ids["AC-1"] in undone_a.kept and ids["AC-2"] in undone_a.restored
    assert reading_of(engine, ids["AC-1"], acme)["substantive"] is None  # B's correction stands
    undone_b = undo_bulk(engine, b.batch_id, _rita(world))
    assert set(undone_b.restored) == {ids["AC-1"], ids["SI-6"]} and undone_b.kept == ()
    for ident in ("AC-1", "AC-2", "SI-6"):
        reading = reading_of(engine, ids[ident], acme)
        assert reading["review"]["status"] == "unreviewed", ident
    assert reading_of(engine, ids["AC-1"], acme)["substantive"] is False  # the engine's verdict again
