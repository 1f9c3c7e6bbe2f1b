"""Impact of a stored diff on one organisation: the one place that decides and stores it.

The core (:mod:`tracker.impact.rules`) is pure; this module is the edge that reads the
organisation's controls and mappings, the diff as the organisation reads it and the two
versions' requirements, and stores the typed result (:class:`StoredImpact`) so digests and
the API serve exactly what was computed. It is reached two ways, and both end in
:func:`_decide` and :func:`store_impact`:

* :func:`compute_impact`: after a diff (the pipeline, ``tracker impact``), with the mapper
  suggesting controls for gaps;
* :func:`refresh_impact`: after a reviewer's decision, inside the decision's transaction,
  without the mapper: a gap keeps the suggestions made when the impact was computed.

What is decided here, once for both: which changes enter the worklist (not unchanged ones,
not those of headings only), which mappings count (the organisation's own for the source or
the version, published crosswalks onto its controls; never rejected ones; the rules carry
those of withdrawn requirements along the diff's lineage), and which suggested controls a
gap lists (never one whose mapping to that requirement a reviewer rejected).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from embeddings.protocol import Embedder
from tracker.diff import DiffResult
from tracker.diff.service import diff_archived
from tracker.diff.types import Kind
from tracker.domain.errors import InvalidInputError
from tracker.domain.keys import normalise_key
from tracker.impact.model import Action, ImpactItem, StoredImpact
from tracker.impact.rules import impact
from tracker.mapping.documents import assessable, queries_from_requirements
from tracker.mapping.mapper import Mapper
from tracker.mapping.propagate import propagate
from tracker.mapping.types import Control, Mapping, Provenance, ReviewState
from tracker.review.learning import learned_mapper
from tracker.review.readings import own_reading, read_own
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore, StoredDiff
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore, StoredMapping
from tracker.storage.orgs import OrgStore, org_row


def _in_set(mapping_set: str, source: str, version: str) -> bool:
    """A mapping made for ``source`` (any version), for ``source@version``, or for an unnamed set."""
    return mapping_set in ("", source, f"{source}@{version}")


@dataclass(frozen=True)
class MappingSets:
    """An organisation's mappings for one diff, as the rules take them."""

    old: list[Mapping]  # onto the old version's requirements
    new: list[Mapping]  # made for the new version (before any carried along the lineage)
    rejected: frozenset[tuple[str, str]]  # (requirement key, control key) a reviewer rejected


def mapping_sets(
    engine: Engine,
    org: str,
    controls: list[Control],
    source: str,
    old: str,
    new: str,
    *,
    reviewed: StoredMapping | None = None,
) -> MappingSets:
    """The mappings that apply to ``source@old`` and ``source@new`` for this organisation.

    Its own mappings count when they point at one of its controls. A published crosswalk
    between standards counts too when its target is a requirement the organisation runs as
    a control (controls adopted from a catalog keep the catalog's identifiers): that is how
    "we run 800-53 and NIST maps CSF onto 800-53" becomes "CSF change X touches our AC-2".
    Rejected mappings never count. ``reviewed`` is a mapping a reviewer has just decided on
    in a transaction not yet committed: it stands in for the stored one.
    """
    keys = {c.key for c in controls}
    old_maps: list[Mapping] = []
    new_maps: list[Mapping] = []
    rejected: set[tuple[str, str]] = set()
    found = [
        (reviewed if reviewed is not None and stored.id == reviewed.id else stored).mapping
        for stored in MappingStore(engine).mappings(org, include_global=True)
    ]
    # After the direct ones, crosswalks chained as published (CSF 2.0 -> CSF 1.1 -> 800-53,
    # read forwards only, so two requirements sharing a control are not chained to each
    # other's controls): the weakest link decides, and each derived mapping names its hops.
    asserted = [m for m in found if m.provenance is not Provenance.MACHINE]
    derived = [m for m in propagate(asserted, bidirectional=False) if m.target_key in keys]
    for m in [*found, *derived]:
        if m.review is ReviewState.REJECTED:
            rejected.add((m.source_key, m.target_key))
            continue
        if m.target_key not in keys:
            continue
        if _in_set(m.source_set, source, old):
            old_maps.append(m)
        if _in_set(m.source_set, source, new):
            new_maps.append(m)
    return MappingSets(old_maps, new_maps, frozenset(rejected))


def org_mappings(
    engine: Engine, org: str, controls: list[Control], source: str, version: str
) -> list[Mapping]:
    """Requirement→control mappings that apply to ``source@version`` (see :func:`mapping_sets`)."""
    return mapping_sets(engine, org, controls, source, version, version).old


@dataclass(frozen=True)
class ImpactReport:
    diff_id: int
    impact_id: int
    result: StoredImpact


def store_impact(db: Engine | Session, stored: StoredImpact) -> int:
    """The one writer of stored impact (its ``impacts`` row and ``impact_items`` lines), in the
    caller's transaction when given a session (a reviewer's decision and the impacts it changes
    commit together), else in its own. Returns the new impact id."""
    if isinstance(db, Session):
        return ImpactStore.write(db, stored)
    with Session(db) as session, session.begin():
        return ImpactStore.write(session, stored)


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
    controls = controls if controls is not None else ControlStore(engine).controls(org)
    if not controls:
        raise InvalidInputError(
            f"{org} has no controls", f"import some first: `tracker controls import {org} FILE` or --catalog"
        )
    archive = Archive(engine)
    stored = stored or diff_archived(archive, DiffStore(engine), source, old, new, embedder)
    # the organisation's reviewers may have corrected verdicts of this diff: theirs count here
    reading = own_reading(engine, OrgStore(engine).get(org).id, stored.id, stored.result)
    maps = mapping_sets(engine, org, controls, source, old, new)
    if old_mappings is not None:
        maps = replace(maps, old=old_mappings)
    # gap suggestions come from the learned ranker when the organisation's (and the shared)
    # decisions and crosswalks label pairs into its controls; else from the unsupervised fusion
    mapper = learned_mapper(
        engine, org, controls, embedder, target_set=f"org:{org}", query_set=f"{source}@{new}"
    )
    result = _decide(org, stored.id, reading, maps, archive, mapper=mapper, suggestions=suggestions)
    return ImpactReport(stored.id, store_impact(engine, result), result)


def refresh_impact(
    session: Session, engine: Engine, org: str, diff_id: int, *, reviewed: StoredMapping | None = None
) -> bool:
    """Recompute an organisation's stored impact of a diff after a reviewer's decision, inside
    the decision's transaction (it reads the verdicts that transaction has written). The same
    decisions as :func:`compute_impact`, without the mapper: a gap keeps the suggestions the
    stored impact had. False when the organisation has no stored impact of the diff."""
    org_id = org_row(session, org).id
    previous = ImpactStore.read(session, org_id, diff_id)
    if previous is None:
        return False
    reading = read_own(session, org_id, diff_id, DiffStore.read(session, diff_id).result)
    maps = mapping_sets(
        engine,
        org,
        ControlStore(engine).controls(org),
        reading.source,
        reading.old_version,
        reading.new_version,
        reviewed=reviewed,
    )
    result = _decide(org, diff_id, reading, maps, Archive(engine), previous=previous)
    store_impact(session, result)
    return True


def _decide(
    org: str,
    diff_id: int,
    reading: DiffResult,
    maps: MappingSets,
    archive: Archive,
    *,
    mapper: Mapper | None = None,
    suggestions: int = 5,
    previous: StoredImpact | None = None,
) -> StoredImpact:
    """The worklist of one diff as ``org`` reads it: what enters, and what a gap lists."""
    source, new = reading.source, reading.new_version
    old_reqs, new_reqs = archive.requirements(source, reading.old_version), archive.requirements(source, new)
    # Headings (functions, families, categories) carry no obligation of their own: their
    # changes show in the diff, but an organisation has nothing to reassess for them.
    headings = {r.key for r in (*old_reqs, *new_reqs)} - {
        r.key for r in (*assessable(old_reqs), *assessable(new_reqs))
    }
    kept = [
        (seq, c)
        for seq, c in enumerate(reading.changes)
        if c.kind is not Kind.UNCHANGED
        and not all(normalise_key(i) in headings for i in (*c.old_ids, *c.new_ids))
    ]
    queries = {q.key: q for q in queries_from_requirements(new_reqs)} if mapper is not None else None
    items = impact(
        [c for _, c in kept],
        maps.old,
        # the organisation's own for the new version: the rules carry the old ones along the
        # diff's lineage (moved, merged, split, and suggested successors of withdrawn ones)
        new_mappings=maps.new,
        mapper=mapper,
        queries=queries,
        suggestions=suggestions,
    )
    before = {i.ids: i for i in previous.items} if previous is not None else {}
    settled = tuple(
        # each item keeps its change's position in the stored diff, so it joins back exactly
        _gap_controls(replace(item, seq=seq), before.get(item.ids), maps.rejected)
        for item, (seq, _) in zip(items, kept, strict=True)
    )
    return StoredImpact.of(org, diff_id, reading, settled)


def _gap_controls(
    item: ImpactItem, before: ImpactItem | None, rejected: frozenset[tuple[str, str]]
) -> ImpactItem:
    """A gap lists the controls suggested to cover it: the mapper's, or (recomputed without the
    mapper) those the stored impact listed, but never a control whose mapping to one of the
    change's requirements a reviewer has rejected."""
    if item.action is not Action.GAP:
        return item
    controls = list(item.controls)
    have = {normalise_key(c.control_id) for c in controls}
    for control in before.controls if before is not None else ():
        key = normalise_key(control.control_id)
        if control.action is Action.GAP and key not in have:
            controls.append(control)
            have.add(key)
    keys = {normalise_key(i) for i in (*item.change.old_ids, *item.change.new_ids)}
    kept = tuple(
        c
        for c in controls
        if c.action is not Action.GAP or not any((k, normalise_key(c.control_id)) in rejected for k in keys)
    )
    return replace(item, controls=kept)
