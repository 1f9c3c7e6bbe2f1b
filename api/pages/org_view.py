"""The signed-in organisation's side of a review page: affected controls, mappings, decisions.

Affected controls come from the organisation's stored impact of the diff when there is one
(what its digests and the impact API serve); otherwise they are computed live for the
changes on the page with the impact engine and the organisation's mappings (no gap
suggestions then: those need the mapper), and the page says so. Mappings are selected the
way :func:`tracker.review.decisions.split_mappings` hands them to the impact engine.
"""

from __future__ import annotations

from api.pages.models import ChangeView, ControlView, MappingView
from api.pages.review_data import ReviewModel
from tracker.domain.keys import normalise_key
from tracker.impact.model import AffectedControl, ImpactItem
from tracker.impact.rules import impact
from tracker.review.selection import ChangeFilter
from tracker.storage.batches import BatchStore
from tracker.storage.controls import ControlStore
from tracker.storage.db import Engine
from tracker.storage.decisions import DecisionStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore, StoredMapping


def attach_decisions(engine: Engine, model: ReviewModel, org_id: int | None) -> None:
    """Each change's history, with what the bulk actions in it were (filter, since undone)."""
    found = DecisionStore(engine).latest_by_change(org_id, [c.id for c in model.changes])
    for change in model.changes:
        change.decisions = found.get(change.id, [])
    named = {d.batch_id for c in model.changes for d in c.decisions if d.batch_id is not None}
    for batch_id, batch in BatchStore(engine).of_ids(named, org_id).items():
        note = f"bulk action {batch_id}, filter: {ChangeFilter.of(batch.filter).describe()}"
        model.batch_notes[batch_id] = note + (", since undone" if batch.undone_at else "")


def attach_org(engine: Engine, model: ReviewModel, org: str) -> None:
    """Affected controls and mapping suggestions beside each change on the page."""
    titles = {c.key: c.title for c in ControlStore(engine).controls(org, include_inactive=True)}
    slug, new_set = model.slug, f"{model.slug}@{model.diff.new}"
    mine = [
        m
        for m in MappingStore(engine).mappings(org)
        if not m.mapping.source_set or m.mapping.source_set.split("@")[0] == slug
    ]
    old_maps = [m for m in mine if m.mapping.source_set != new_set]
    new_maps = [m for m in mine if m.mapping.source_set == new_set]
    by_old: dict[str, list[StoredMapping]] = {}
    by_new: dict[str, list[StoredMapping]] = {}
    for group, index in ((old_maps, by_old), (new_maps, by_new)):
        for m in group:  # source_key normalises on every call: index once, not once per change
            index.setdefault(m.mapping.source_key, []).append(m)
    stored = ImpactStore(engine).impact(org, model.diff.id)
    items: dict[tuple[tuple[str, ...], tuple[str, ...]], ImpactItem] = {}
    if stored is not None:
        model.impact_origin = "stored"
        for each in stored.items:
            items.setdefault(each.ids, each)
    elif model.changes:
        model.impact_origin = "live"
        live = impact(
            [c.to_impact_change() for c in model.changes],
            [m.mapping for m in old_maps],
            new_mappings=[m.mapping for m in new_maps],
            include_unchanged=True,
        )
        for change, result in zip(model.changes, live, strict=True):
            items[(tuple(change.old_ids), tuple(change.new_ids))] = result
    for change in model.changes:
        item = items.get((tuple(change.old_ids), tuple(change.new_ids)))
        if item is not None:
            change.action = item.action.value
            change.action_reason = item.reason
            change.controls = [_control(c, titles) for c in item.controls]
        change.mappings = [_mapping(m, titles) for k in change.old_keys for m in by_old.get(k, ())] + [
            _mapping(m, titles) for k in change.new_keys for m in by_new.get(k, ())
        ]


def _control(control: AffectedControl, titles: dict[str, str]) -> ControlView:
    ident = control.control_id
    return ControlView(
        control_id=ident,
        title=titles.get(normalise_key(ident), "") if ident else "",
        action=control.action.value,
        score=control.score,
        reason=control.reason,
        relationship=control.relationship.value if control.relationship is not None else "",
        carried_from=control.carried_from,
        suggested_lineage=control.suggested_lineage,
    )


def _mapping(stored: StoredMapping, titles: dict[str, str]) -> MappingView:
    m = stored.mapping
    return MappingView(
        id=stored.id,
        source=m.source,
        target=m.target,
        title=titles.get(m.target_key, ""),
        relationship=m.relationship.value,
        provenance=m.provenance.value,
        confidence=m.confidence,
        review=m.review.value,
        reviewer=stored.reviewer,
        note=m.note,
    )


def unreviewed_suggestions(change: ChangeView) -> int:
    return sum(1 for m in change.mappings if m.review == "proposed")
