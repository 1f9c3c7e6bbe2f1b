"""Impact of a stored diff on one organisation: gather its mappings, run the core, store the worklist.

The core (:mod:`tracker.impact.rules`) is pure; this module is the edge that reads the
organisation's controls and mappings, the diff and the new version's text, and stores the
result so digests and the API serve exactly what was computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from embeddings.protocol import Embedder
from tracker.diff import DiffResult
from tracker.diff.service import diff_archived
from tracker.domain.errors import InvalidInputError
from tracker.domain.keys import normalise_key
from tracker.impact.rules import impact
from tracker.mapping.documents import assessable, queries_from_requirements
from tracker.mapping.mapper import Mapper
from tracker.mapping.propagate import carry_over
from tracker.mapping.types import Control, Mapping, ReviewState
from tracker.review.readings import own_reading
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore, StoredDiff
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore

# Diff kinds whose old→new pairs carry the predecessor's mappings forward (marked for review).
_LINEAGE_KINDS = {"unchanged", "modified", "moved", "split", "merged"}


def _in_set(mapping_set: str, source: str, version: str) -> bool:
    """A mapping made for ``source`` (any version), for ``source@version``, or for an unnamed set."""
    return mapping_set in ("", source, f"{source}@{version}")


def org_mappings(
    engine: Engine, org: str, controls: list[Control], source: str, version: str
) -> list[Mapping]:
    """Requirement→control mappings that apply to ``source@version`` for this organisation.

    Its own mappings count when they point at one of its controls. A published crosswalk
    between standards counts too when its target is a requirement the organisation runs as
    a control (controls adopted from a catalog keep the catalog's identifiers): that is how
    "we run 800-53 and NIST maps CSF onto 800-53" becomes "CSF change X touches our AC-2".
    Rejected mappings never count.
    """
    keys = {c.key for c in controls}
    out = []
    for stored in MappingStore(engine).mappings(org, include_global=True):
        m = stored.mapping
        if m.review is ReviewState.REJECTED or m.target_key not in keys:
            continue
        if _in_set(m.source_set, source, version):
            out.append(m)
    return out


def _lineage(result: DiffResult) -> list[tuple[str, str, str]]:
    pairs: list[tuple[str, str, str]] = []
    for change in result.changes:
        if change.kind.value in _LINEAGE_KINDS:
            for old in change.old_ids:
                for new in change.new_ids:
                    pairs.append((old, new, change.kind.value))
    return pairs


def _with_seq(item: dict[str, Any], seq: int) -> dict[str, Any]:
    item["change"] = {**item["change"], "seq": seq}
    return item


@dataclass(frozen=True)
class ImpactReport:
    diff_id: int
    impact_id: int
    result: dict[str, Any]


def compute_impact(
    engine: Engine,
    org: str,
    source: str,
    old: str,
    new: str,
    embedder: Embedder | None,
    *,
    suggestions: int = 5,
    controls: list[Control] | None = None,
    old_mappings: list[Mapping] | None = None,
    stored: StoredDiff | None = None,
) -> ImpactReport:
    """Diff (stored or computed), map, decide an action per affected control, store it.

    A caller that has already read the organisation's controls, its mappings onto ``old``
    or the stored diff (the pipeline, deciding whether the organisation is interested)
    passes them in rather than having them read twice.
    """
    archive, orgs = Archive(engine), OrgStore(engine)
    controls = controls if controls is not None else ControlStore(engine).controls(org)
    if not controls:
        raise InvalidInputError(
            f"{org} has no controls", f"import some first: `tracker controls import {org} FILE` or --catalog"
        )
    stored = stored or diff_archived(archive, DiffStore(engine), source, old, new, embedder)
    # the organisation's reviewers may have corrected verdicts of this diff: theirs count here
    result = own_reading(engine, orgs.get(org).id, stored.id, stored.result)
    old_maps = old_mappings if old_mappings is not None else org_mappings(engine, org, controls, source, old)
    new_maps = org_mappings(engine, org, controls, source, new)
    carried = carry_over(old_maps, _lineage(result), side="source", version=f"{source}@{new}")
    new_reqs = archive.requirements(source, new)
    queries = {q.key: q for q in queries_from_requirements(new_reqs)}
    mapper = Mapper(controls, embedder)
    # Headings (functions, families, categories) carry no obligation of their own: their
    # changes show in the diff, but an organisation has nothing to reassess for them.
    old_reqs = archive.requirements(source, old)
    headings = {r.key for r in (*old_reqs, *new_reqs)} - {
        r.key for r in (*assessable(old_reqs), *assessable(new_reqs))
    }
    kept = [
        (seq, c)
        for seq, c in enumerate(result.changes)
        if c.kind.value != "unchanged"
        and not all(normalise_key(i) in headings for i in (*c.old_ids, *c.new_ids))
    ]
    changes = [c.to_json_dict() for _, c in kept]
    items = impact(
        changes,
        old_maps,
        new_mappings=[*new_maps, *carried],
        mapper=mapper,
        queries=queries,
        suggestions=suggestions,
    )
    summary: dict[str, int] = {}
    for item in items:
        summary[item.action.value] = summary.get(item.action.value, 0) + 1
    payload: dict[str, Any] = {
        "org": org,
        "source": source,
        "old_version": old,
        "new_version": new,
        "diff_id": stored.id,
        "engine": result.engine_version,
        "model": result.model_id,
        "summary": summary,
        # each item's change keeps its position in the stored diff, so it joins back exactly
        "items": [_with_seq(item.to_dict(), seq) for item, (seq, _) in zip(items, kept, strict=True)],
    }
    impact_id = ImpactStore(engine).save_impact(org, stored.id, payload)
    return ImpactReport(stored.id, impact_id, payload)
