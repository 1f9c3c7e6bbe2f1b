"""An organisation's impact worklist as an OSCAL plan of action and milestones (POA&M).

Why a POA&M and not assessment results: the worklist is a list of open things to do (look
at this control again, close this gap, retire that control) caused by a change of a
standard, which is exactly what a POA&M tracks until each item is closed; GRC tools import
POA&M items into their remediation queues. Assessment results record what an assessor
found when testing controls, and nobody has tested anything yet: presenting a change of
guidance as a finding would claim an assessment that never happened.

Each changed requirement becomes an ``observation`` (what changed, from which version to
which); each (change, control) pair that asks for an action becomes a ``poam-item``
pointing at its observation, with the control, the action, the score and the mapping's
relationship as properties in the tracker's namespace. Controls of the SP 800-53 shape are
named by their catalog id (``ac-2.1``), as OSCAL references them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tracker.domain.errors import NotFoundError
from tracker.impact.model import Action, AffectedControl, ImpactItem, StoredImpact
from tracker.mapping.crosswalks.common import TRACKER_NS
from tracker.mapping.crosswalks.oscal_ids import (
    OSCAL_VERSION,
    catalog_id,
    content_uuid,
    name_uuid,
    timestamp,
)

POAM_MEDIA_TYPE = "application/oscal.poam+json"
_TITLES = {Action.REASSESS: "Reassess", Action.GAP: "Close the gap at", Action.RETIRE: "Consider retiring"}


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": TRACKER_NS, "value": value}


def _ids(ids: tuple[str, ...]) -> str:
    return " + ".join(ids) or "(none)"


def _observation(impact: StoredImpact, item: ImpactItem, collected: str) -> dict[str, Any]:
    change = item.change
    what = f"{change.kind.value} {_ids(change.old_ids)} -> {_ids(change.new_ids)}"
    lines = [f"{impact.source} {impact.old_version} -> {impact.new_version}: {what}."]
    lines += [reason for reason in change.reasons if reason.strip()]
    props = [_prop("change-kind", change.kind.value), _prop("source", impact.source)]
    if change.substantive is not None:
        props.append(_prop("substantive", "true" if change.substantive else "false"))
    return {
        "uuid": name_uuid("observation", impact.org, str(impact.diff_id), str(item.seq)),
        "title": f"{impact.source}: {what}",
        "description": "\n\n".join(lines),
        "props": props,
        "methods": ["EXAMINE"],
        "types": ["control-objective"],
        "collected": collected,
    }


def _poam_item(
    impact: StoredImpact, item: ImpactItem, control: AffectedControl, observation: str
) -> dict[str, Any]:
    ident = catalog_id(control.control_id)
    props = [
        _prop("control-id", ident),
        _prop("action", control.action.value),
        _prop("score", f"{control.score:.4g}"),
        _prop("diff-id", str(impact.diff_id)),
    ]
    if control.relationship is not None:
        props.append(_prop("relationship", control.relationship.value))
    if control.needs_review:
        props.append(_prop("needs-review", "true"))
    change = item.change
    description = (
        f"{impact.source} changed from {impact.old_version} to {impact.new_version} "
        f"({change.kind.value}: {_ids(change.old_ids)} -> {_ids(change.new_ids)}). "
        f"{control.reason or item.reason}"
    ).strip()
    return {
        "uuid": name_uuid("poam-item", impact.org, str(impact.diff_id), str(item.seq), control.control_id),
        "title": f"{_TITLES[control.action]} {control.control_id} after {impact.source} {impact.new_version}",
        "description": description,
        "props": props,
        "related-observations": [{"observation-uuid": observation}],
    }


def write_poam(impact: StoredImpact, *, last_modified: datetime | None = None) -> str:
    """The POA&M JSON of one stored impact; every control with an action is one item.

    The document UUID is derived from the content (same worklist, same UUID; a recomputed
    impact that differs gets a new one); ``last-modified`` is the export time unless given.
    Raises :class:`NotFoundError` when no control asks for an action: OSCAL requires at least
    one POA&M item, and an empty plan would be an invented one.
    """
    stamp = timestamp(last_modified)
    observations: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for item in impact.items:
        acting = [c for c in item.controls if c.action is not Action.NONE]
        if not acting:
            continue
        observation = _observation(impact, item, stamp)
        observations.append(observation)
        items += [_poam_item(impact, item, c, observation["uuid"]) for c in acting]
    if not items:
        raise NotFoundError(
            f"the impact of {impact.source} {impact.old_version} -> {impact.new_version} on {impact.org} "
            "asks for no action on any control",
            "there is nothing to plan: a POA&M needs at least one item",
        )
    title = f"{impact.org}: actions after {impact.source} {impact.old_version} -> {impact.new_version}"
    content: dict[str, Any] = {
        "metadata": {"title": title, "version": str(impact.diff_id), "oscal-version": OSCAL_VERSION},
        "system-id": {"identifier-type": TRACKER_NS, "id": f"org:{impact.org}"},
        "observations": observations,
        "poam-items": items,
    }
    metadata = {
        "title": title,
        "last-modified": stamp,
        "version": str(impact.diff_id),
        "oscal-version": OSCAL_VERSION,
        "props": [_prop("engine", impact.engine)] + ([_prop("model", impact.model)] if impact.model else []),
    }
    doc = {
        "plan-of-action-and-milestones": {
            # collected is the export time, so it is left out of what the UUID is derived from
            "uuid": content_uuid("poam", _without_times(content)),
            "metadata": metadata,
            **{k: v for k, v in content.items() if k != "metadata"},
        }
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _without_times(content: dict[str, Any]) -> dict[str, Any]:
    observations = [{k: v for k, v in o.items() if k != "collected"} for o in content["observations"]]
    return {**content, "observations": observations}
