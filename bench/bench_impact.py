"""Impact benchmark: an organisation on SP 800-53 Rev 5, mapped to CSF 1.1, meets CSF 2.0.

Run: ``.venv/bin/python -m bench.bench_impact``.

The organisation's controls are all active 800-53 Rev 5 controls and enhancements
(1,007); its requirement→control mappings are NIST's CSF 1.1 → 800-53 crosswalk (the use
``eval/README.md`` describes for it). The changes come from the diff engine when it is
available (``tracker.diff``); until then from a stand-in *by identifier* (same key =
modified if the text differs, otherwise unchanged; only-old = removed; only-new = added),
which is crude (CSF 2.0 reorganised categories) but exercises every action. Printed: the
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
from tracker.keys import normalise_key
from tracker.mapping.crosswalk_io import read_csv
from tracker.mapping.documents import assessable, controls_from_requirements, queries_from_requirements
from tracker.mapping.impact import ImpactItem, impact
from tracker.mapping.mapper import Mapper
from tracker.mapping.types import Control
from tracker.model import Requirement
from tracker.text import normalise


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


def scenario(
    shared: Path, controls: Sequence[Control], embedder: Embedder | None
) -> tuple[list[ImpactItem], float]:
    from bench.bench_mapping import parse

    csf11 = parse(shared / "corpus/nist-csf/1.1/nist-csf-1.1.yaml")
    csf20 = parse(shared / "corpus/nist-csf/2.0/nist-csf-2.0.yaml")
    mappings = read_csv((shared / "eval/csf1.1_to_sp800-53r5.csv").read_bytes(), source_set="csf@1.1")
    changes = crude_changes(csf11, csf20)
    queries = {q.key: q for q in queries_from_requirements(csf20)}
    mapper = Mapper(controls, embedder)
    impact(changes, mappings, mapper=mapper, queries=queries)  # warm-up: embeds the new texts once
    start = time.perf_counter()
    mapper = Mapper(controls, embedder)
    items = impact(changes, mappings, mapper=mapper, queries=queries)
    return items, time.perf_counter() - start


def time_impact(shared: Path, controls: Sequence[Control], embedder: Embedder | None) -> list[ImpactItem]:
    items, seconds = scenario(shared, controls, embedder)
    affected = sum(len(i.controls) for i in items)
    print(
        f"  impact of CSF 1.1 -> 2.0 ({len(items)} changes, stand-in diff) against {len(controls)} controls: "
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
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), MemoryVectorStore())
    items = time_impact(shared, controls, embedder)
    print("actions per change:", dict(Counter(i.action.value for i in items)))
    print("control actions:", dict(Counter(c.action.value for i in items for c in i.controls)))
    govern = [i for i in items if any(normalise_key(n).startswith("GV.") for n in i.change.new_ids)]
    print(f"GOVERN subcategories (no 1.1 ancestor by identifier): {len(govern)}, all with an action:")
    for item in govern[:5]:
        top = ", ".join(f"{c.control_id} {c.score:.2f}" for c in item.controls[:3])
        print(f"  {item.change.new_ids[0]}: {item.action.value} -> {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
