"""Lineage across a reorganisation: where do CSF 1.1's withdrawn subcategories go in 2.0?

Run: ``.venv/bin/python -m bench.bench_lineage [--lexical] [--new 2.0,2.0-oscal]``

Against NIST's successor notes (``eval/csf_1.1_to_2.0_successors_dev.csv``, the ID and DE
functions), for every withdrawn 1.1 subcategory:

- *own link*: the engine's change for it is ``moved``, ``merged`` or ``split`` and names at
  least one of NIST's successors;
- *shown (top 3)*: one of NIST's successors is among the first three candidates a reviewer is
  shown: the engine's own successors, then its lineage suggestions;
- retained identifiers: the change of a retained subcategory pairs it with itself.

The plain-MiniLM reference ranks every active CSF 2.0 subcategory by the cosine of its
statement with the 1.1 subcategory's category title and statement. Timing: the 1.1 -> 2.0
diff with a cold cache (includes embedding; the model is loaded before the clock starts)
and warm (every vector cached).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass

import numpy as np

from bench.bench_diff_common import Timer, corpus_dir, eval_dir, load_version, log
from embeddings.cache import CachedEmbedder, MemoryVectorStore
from embeddings.protocol import Embedder
from tracker.diff import DiffResult, Kind, diff_versions
from tracker.domain.keys import normalise_key
from tracker.domain.model import ParsedVersion

SHOWN = 3
LINKS = (Kind.MOVED, Kind.MERGED, Kind.SPLIT)


@dataclass(frozen=True)
class Row:
    old_key: str
    change_type: str
    successors: frozenset[str]


def _labels() -> list[Row]:
    with (eval_dir() / "csf_1.1_to_2.0_successors_dev.csv").open(newline="") as fh:
        return [
            Row(
                normalise_key(r["id_v11"]),
                r["change_type"],
                frozenset(normalise_key(s) for s in r["successors_v20"].split(";") if s),
            )
            for r in csv.DictReader(fh)
        ]


def _shown(result: DiffResult, key: str) -> tuple[tuple[str, ...], tuple[str, ...], Kind | None]:
    """(own successors, first SHOWN candidates, kind) for an old key."""
    for c in result.changes:
        if key in c.old_keys:
            own = tuple(c.new_keys) if c.kind in LINKS else ()
            suggested = tuple(
                normalise_key(s.new_id) for s in c.suggestions if normalise_key(s.old_id) == key
            )
            return own, tuple(dict.fromkeys((*own, *suggested)))[:SHOWN], c.kind
    return (), (), None


def score(result: DiffResult, rows: list[Row], verbose: bool) -> None:
    withdrawn = [r for r in rows if r.change_type.startswith("withdrawn")]
    retained = [r for r in rows if r.change_type == "retained_id"]
    own_hits = shown_hits = 0
    for r in withdrawn:
        own, shown, kind = _shown(result, r.old_key)
        own_ok = bool(set(own) & r.successors)
        shown_ok = bool(set(shown) & r.successors)
        own_hits += own_ok
        shown_hits += shown_ok
        if verbose:
            mark = "OWN " if own_ok else ("SHOW" if shown_ok else "MISS")
            gold = ";".join(sorted(r.successors))
            print(f"    {mark} {r.old_key:8} {kind.value if kind else '-':9} {list(shown)} gold {gold}")
    kept = sum(1 for r in retained if _shown_self(result, r.old_key))
    n = len(withdrawn)
    print(
        f"  withdrawn {n}: successor as own link {own_hits}/{n} = {own_hits / n:.2f}; "
        f"among shown (top {SHOWN}) {shown_hits}/{n} = {shown_hits / n:.2f}"
    )
    print(f"  retained {len(retained)}: matched to themselves {kept}/{len(retained)}")


def _shown_self(result: DiffResult, key: str) -> bool:
    return any(key in c.old_keys and key in c.new_keys for c in result.changes)


def plain_minilm(embedder: Embedder, old: ParsedVersion, new: ParsedVersion, rows: list[Row]) -> None:
    titles = {r.key: r.title for r in old.requirements}
    olds = {r.key: r for r in old.requirements}
    cands = [r for r in new.requirements if r.statement and not r.withdrawn and r.kind == "subcategory"]
    withdrawn = [r for r in rows if r.change_type.startswith("withdrawn") and r.old_key in olds]
    queries = [
        f"{titles.get(olds[r.old_key].parent or '', '')}. {olds[r.old_key].statement}" for r in withdrawn
    ]
    q = np.asarray(embedder.encode(queries), dtype=np.float64)
    c = np.asarray(embedder.encode([r.statement for r in cands]), dtype=np.float64)
    order = np.argsort(-(q @ c.T), axis=1)
    at1 = sum(1 for k, r in enumerate(withdrawn) if cands[order[k, 0]].key in r.successors)
    at3 = sum(1 for k, r in enumerate(withdrawn) if {cands[i].key for i in order[k, :SHOWN]} & r.successors)
    n = len(withdrawn)
    print(
        f"  plain MiniLM reference: successor first {at1}/{n} = {at1 / n:.2f}; "
        f"in top 3 {at3}/{n} = {at3 / n:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexical", action="store_true", help="no embedder: lexical similarity only")
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="the model's number format (fp32: the figures this benchmark has always printed; "
        "bf16: the product's default)",
    )
    parser.add_argument("--new", default="2.0,2.0-oscal", help="CSF 2.0 version folders to diff against")
    parser.add_argument("--verbose", action="store_true", help="one line per withdrawn subcategory")
    args = parser.parse_args()
    log(f"corpus: {corpus_dir()}")
    rows = _labels()
    old = load_version("nist-csf", "1.1")
    embedder: Embedder | None = None
    if not args.lexical:
        from embeddings.sentence_transformer import SentenceTransformerEmbedder
        from tracker.domain.text import normalise

        model = SentenceTransformerEmbedder(precision=args.precision)
        model.encode(["warm up"])  # load the model before any clock starts
    for label in args.new.split(","):
        new = load_version("nist-csf", label)
        if not args.lexical:
            embedder = CachedEmbedder(model, MemoryVectorStore(), normalise=normalise)
        print(f"== CSF 1.1 -> {label} ({embedder.model_id if embedder else 'lexical only'}) ==")
        timings = []
        result = None
        for _ in range(2):
            timer = Timer()
            result = diff_versions(
                old, new, embedder, source="nist-csf", old_version="1.1", new_version=label
            )
            timings.append((timer(), timer.cpu()))
        assert result is not None
        (cold, cold_cpu), (warm, warm_cpu) = timings
        print(
            f"  diff: cold {cold:.2f}s wall ({cold_cpu:.2f}s CPU), "
            f"warm {warm:.2f}s wall ({warm_cpu:.2f}s CPU); "
            f"engine {result.engine_version}; summary {result.summary}"
        )
        score(result, rows, args.verbose)
        if not args.lexical:
            plain_minilm(model, old, new, rows)
        print(flush=True)


if __name__ == "__main__":
    main()
