"""Impact benchmark: an organisation on SP 800-53 Rev 5, mapped to CSF 1.1, meets CSF 2.0.

Run: ``.venv/bin/python -m bench.bench_impact``.

The organisation's controls are all active 800-53 Rev 5 controls and enhancements
(1,007); its requirement→control mappings are NIST's CSF 1.1 → 800-53 crosswalk (the use
``eval/README.md`` describes for it). The changes come from the diff engine (``tracker.diff``;
a by-identifier stand-in is kept for when it is absent); groupings (functions,
categories) are left out. Mappings of moved/split/merged subcategories are carried over
along the diff's lineage and marked for review. Printed: the
actions, a few GOVERN gaps with their suggested controls, and the warm timing.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embeddings.protocol import Embedder
from tracker.domain.keys import normalise_key
from tracker.domain.model import Requirement
from tracker.domain.text import normalise
from tracker.impact.model import ImpactItem, parse_changes
from tracker.impact.rules import impact
from tracker.mapping.crosswalks.files import read_csv
from tracker.mapping.documents import assessable, controls_from_requirements, queries_from_requirements
from tracker.mapping.mapper import Mapper
from tracker.mapping.propagate import LINEAGE, carry_over
from tracker.mapping.types import Control


def crude_changes(old: Sequence[Requirement], new: Sequence[Requirement]) -> list[dict[str, Any]]:
    """A by-identifier stand-in for the diff engine, shaped like its JSON changes."""
    old_by = {r.key: r for r in assessable(old)}
    new_by = {r.key: r for r in assessable(new)}
    changes: list[dict[str, Any]] = []
    for key, req in new_by.items():
        if key in old_by:
            same = normalise(old_by[key].statement) == normalise(req.statement)
            changes.append(
                {
                    "kind": "unchanged" if same else "modified",
                    "old_ids": [old_by[key].ident],
                    "new_ids": [req.ident],
                    "substantive": None if not same else False,
                    "tags": [],
                    "confidence": 0.5,
                    "reasons": ["same identifier (stand-in diff)"],
                    "redline": "",
                }
            )
        else:
            changes.append({"kind": "added", "old_ids": [], "new_ids": [req.ident], "confidence": 0.5})
    for key, req in old_by.items():
        if key not in new_by:
            changes.append({"kind": "removed", "old_ids": [req.ident], "new_ids": [], "confidence": 0.5})
    return changes


def diff_changes(
    old: Sequence[Requirement], new: Sequence[Requirement], embedder: Embedder | None
) -> tuple[list[dict[str, Any]], str]:
    """The diff engine's changes (JSON shape), or the by-identifier stand-in without it."""
    try:
        from tracker.diff.engine import diff_versions
    except ImportError:  # pragma: no cover - the diff engine ships with the project
        return crude_changes(old, new), "stand-in diff by identifier"
    result = diff_versions(old, new, embedder, source="nist-csf", old_version="1.1", new_version="2.0")
    return [c.to_json_dict() for c in result.changes], f"diff engine {result.engine_version}"


def scenario(
    shared: Path, controls: Sequence[Control], embedder: Embedder | None
) -> tuple[list[ImpactItem], float, str]:
    """Impact of CSF 1.1 -> 2.0 for an organisation mapped through NIST's crosswalk."""
    from bench.bench_mapping import parse

    csf11 = parse(shared / "corpus/nist-csf/1.1/nist-csf-1.1.yaml")
    csf20 = parse(shared / "corpus/nist-csf/2.0/nist-csf-2.0.yaml")
    mappings = read_csv((shared / "eval/csf1.1_to_sp800-53r5.csv").read_bytes(), source_set="csf@1.1")
    changes, engine = diff_changes(csf11, csf20, embedder)
    groups = {r.key for r in (*csf11, *csf20)} - {r.key for r in (*assessable(csf11), *assessable(csf20))}
    changes = [c for c in changes if not {normalise_key(i) for i in (*c["old_ids"], *c["new_ids"])} <= groups]
    lineage = [
        (old, new, c["kind"])
        for c in changes
        if c["kind"] in LINEAGE
        for old in c["old_ids"]
        for new in c["new_ids"]
    ]
    carried = carry_over(mappings, lineage, version="csf@2.0")
    typed = parse_changes(changes)
    queries = {q.key: q for q in queries_from_requirements(csf20)}
    mapper = Mapper(controls, embedder)
    # warm-up: embeds the new version's texts once, as a stored diff would have done
    impact(typed, mappings, new_mappings=carried, mapper=mapper, queries=queries)
    start = time.perf_counter()
    mapper = Mapper(controls, embedder)
    items = impact(typed, mappings, new_mappings=carried, mapper=mapper, queries=queries)
    return items, time.perf_counter() - start, engine


def time_impact(shared: Path, controls: Sequence[Control], embedder: Embedder | None) -> list[ImpactItem]:
    items, seconds, engine = scenario(shared, controls, embedder)
    affected = sum(len(i.controls) for i in items)
    print(
        f"  impact of CSF 1.1 -> 2.0 ({len(items)} changes, {engine}) against {len(controls)} controls: "
        f"{seconds:.2f} s warm (index + impact), {affected} control actions"
    )
    return items


def main() -> int:
    from bench.bench_mapping import parse, shared_dir
    from embeddings.cache import CachedEmbedder, MemoryVectorStore
    from embeddings.sentence_transformer import SentenceTransformerEmbedder

    shared = shared_dir()
    sp = parse(shared / "corpus/nist-sp-800-53/rev5.0.0-2020-09/NIST_SP-800-53_rev5_catalog.json")
    controls = controls_from_requirements(sp)
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), MemoryVectorStore(), normalise=normalise)
    items = time_impact(shared, controls, embedder)
    print("actions per change:", dict(Counter(i.action.value for i in items)))
    print("control actions:", dict(Counter(c.action.value for i in items for c in i.controls)))
    retired = [i for i in items if i.action.value == "retire"]
    print(
        f"retired mappings: {sum(len(i.controls) for i in retired)} on {len(retired)} withdrawn subcategories"
    )
    govern = [i for i in items if any(normalise_key(n).startswith("GV.") for n in i.change.new_ids)]
    with_action = sum(1 for i in govern if i.action.value != "none")
    print(f"GOVERN subcategories: {len(govern)}, {with_action} with reassess/gap and controls listed:")
    for item in govern[:6]:
        top = ", ".join(f"{c.control_id} {c.score:.2f}" for c in item.controls[:3])
        print(f"  {item.change.new_ids[0]}: {item.action.value} -> {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
