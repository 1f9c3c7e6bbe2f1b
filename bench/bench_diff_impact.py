"""What the diff's lineage does to an organisation's worklist (printed by ``bench_diff_quality``).

The scenario of ``eval/README.md``: an organisation runs the SP 800-53 Rev 5 controls and had
mapped them to CSF 1.1 through NIST's crosswalk (``eval/csf1.1_to_sp800-53r5.csv``); CSF 2.0
arrives. The impact rules run twice on the same diff, mappings, mapper and filtering (no
unchanged requirements, no headings, as the impact service does), once with
``follow_lineage=False`` (the rules before mappings followed lineage: a withdrawn
requirement's mappings ``retire``, its successor is a ``gap``) and once with it on. Figures:
items (changes) by action, control actions by action, and how many controls were carried.
"""

from __future__ import annotations

from collections import Counter

from bench.bench_diff_common import Timer, eval_dir, load_version
from embeddings.protocol import Embedder
from tracker.diff import DiffResult, Kind
from tracker.domain.keys import normalise_key
from tracker.domain.model import ParsedVersion
from tracker.impact.model import ImpactItem
from tracker.impact.rules import impact
from tracker.mapping.crosswalks.files import read_csv
from tracker.mapping.documents import assessable, controls_from_requirements, queries_from_requirements
from tracker.mapping.mapper import Mapper

CATALOG = ("nist-sp-800-53", "rev5.0.0-2020-09")
CROSSWALK = "csf1.1_to_sp800-53r5.csv"


def _counts(items: list[ImpactItem]) -> tuple[dict[str, int], dict[str, int]]:
    by_item = Counter(i.action.value for i in items)
    by_control = Counter(c.action.value for i in items for c in i.controls)
    order = ("reassess", "gap", "retire", "none")
    return (
        {a: by_item[a] for a in order if by_item[a]},
        {a: by_control[a] for a in order if by_control[a]},
    )


def csf_impact(result: DiffResult, old: ParsedVersion, new: ParsedVersion, embedder: Embedder | None) -> None:
    """Print the worklist's counts by action before and after mappings follow lineage."""
    timer = Timer()
    controls = controls_from_requirements(load_version(*CATALOG).requirements)
    mappings = read_csv((eval_dir() / CROSSWALK).read_bytes(), source_set="csf@1.1")
    reqs = (*old.requirements, *new.requirements)
    headings = {r.key for r in reqs} - {
        r.key for r in (*assessable(old.requirements), *assessable(new.requirements))
    }
    changes = [
        c
        for c in result.changes
        if c.kind is not Kind.UNCHANGED
        and not all(normalise_key(i) in headings for i in (*c.old_ids, *c.new_ids))
    ]
    queries = {q.key: q for q in queries_from_requirements(new.requirements)}
    mapper = Mapper(controls, embedder)
    print(
        f"  {len(changes)} changes (no headings, no unchanged), {len(mappings)} crosswalk mappings, "
        f"{len(controls)} controls; mapper {embedder.model_id if embedder else 'lexical'}"
    )
    for label, follow in (("BEFORE (lineage ignored)", False), ("AFTER (lineage followed)", True)):
        items = impact(changes, mappings, mapper=mapper, queries=queries, follow_lineage=follow)
        by_item, by_control = _counts(items)
        print(f"  {label}: items {by_item}; control actions {by_control}")
        if follow:
            carried = [c for i in items for c in i.controls if c.carried_from]
            suggested = sum(1 for c in carried if c.suggested_lineage)
            withdrawn = [i for i in items if i.change.kind is Kind.REMOVED]
            print(
                f"    controls carried along lineage: {len(carried)} ({len(carried) - suggested} linked, "
                f"{suggested} along suggestions); withdrawn requirements: {len(withdrawn)}, "
                f"{sum(1 for i in withdrawn if i.action.value == 'retire')} still retire"
            )
    print(f"  ({timer():.1f}s including the mapper's index)")
