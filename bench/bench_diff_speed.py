"""Speed of a full diff on this machine; prints figures (not a test).

Run: ``.venv/bin/python -m bench.bench_diff_speed [--pairs OLD:NEW,...] [--store FILE]``

Measures SP 800-53 Rev 4 -> Rev 5 (about 1,200 requirements a side) and Rev 5 FPD -> final
(which renumbers a family, so similarity and the model are needed):

- cold: a fresh embedder and an empty vector store, so the time includes loading MiniLM and
  embedding every text the diff needs (only requirements left unaligned by key and declared
  lineage, or same-key pairs suspected of identifier reuse, need a vector);
- warm: a *new* embedder object over the filled store (the model is never loaded, because
  every vector is a cache hit), i.e. what a second run of the CLI costs;
- lexical: no embedder at all, for reference.

``--store FILE`` keeps vectors in an ``.npz`` file between runs instead of in memory, which
is what "warm" means across processes.
"""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path

import numpy as np

from bench.bench_diff_common import Timer, load_version
from embeddings.cache import CachedEmbedder, MemoryVectorStore
from tracker.diff import diff_versions
from tracker.domain.text import normalise


class NpzVectorStore(MemoryVectorStore):
    """A file-backed store for the benchmark: loads an ``.npz`` at start, saves on ``flush``."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        if path.is_file():
            try:
                with np.load(path) as data:
                    for name in data.files:
                        model_id, digest = name.rsplit("|", 1)
                        super().put_many(model_id, {digest: data[name]})
            except (OSError, ValueError, zipfile.BadZipFile):
                pass  # a damaged cache is only a slower run

    def flush(self) -> None:
        arrays = {f"{model_id}|{digest}": vec for (model_id, digest), vec in self._data.items()}
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, self.path)


def _fresh() -> None:
    """Forget in-process memoisation so each timing is what a new process would pay."""
    from tracker.diff.features import stem
    from tracker.domain.text import normalise

    normalise.cache_clear()
    stem.cache_clear()


def _run(source: str, old_label: str, new_label: str, store_path: Path | None) -> None:
    from embeddings.sentence_transformer import SentenceTransformerEmbedder

    timer = Timer()
    old, new = load_version(source, old_label), load_version(source, new_label)
    sizes = f"{old_label} ({len(old.requirements)}) -> {new_label} ({len(new.requirements)})"
    print(f"== {source} {sizes}; parsing both: {timer():.2f}s; load average {os.getloadavg()[0]:.1f}")

    _fresh()
    timer = Timer()
    result = diff_versions(old, new, None)
    print(f"lexical only: {timer():.2f}s wall, {timer.cpu():.2f}s CPU  {result.summary}")

    store: MemoryVectorStore = NpzVectorStore(store_path) if store_path else MemoryVectorStore()
    already = len(store)
    cold = CachedEmbedder(SentenceTransformerEmbedder(), store, normalise=normalise)
    _fresh()
    timer = Timer()
    result = diff_versions(old, new, cold)
    elapsed, cpu = timer(), timer.cpu()
    print(
        f"cold (store had {already} vectors; includes loading MiniLM if anything needs embedding): "
        f"{elapsed:.2f}s wall, {cpu:.2f}s CPU; texts embedded {cold.misses}, cache hits {cold.hits}  "
        f"{result.summary}"
    )
    if isinstance(store, NpzVectorStore):
        store.flush()

    warm_embedder = SentenceTransformerEmbedder()
    warm = CachedEmbedder(warm_embedder, store, normalise=normalise)
    _fresh()
    timer = Timer()
    again = diff_versions(old, new, warm)
    elapsed, cpu = timer(), timer.cpu()
    same = again.to_json_dict() == result.to_json_dict()
    print(
        f"warm (new embedder over the filled store; model loaded: {warm_embedder.loaded}): "
        f"{elapsed:.2f}s wall, {cpu:.2f}s CPU; "
        f"texts embedded {warm.misses}, cache hits {warm.hits}; identical result: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="nist-sp-800-53")
    parser.add_argument(
        "--pairs",
        default="rev4:rev5.0.0-2020-09,rev5-fpd-2020-03:rev5.0.0-2020-09",
        help="comma-separated OLD:NEW version pairs",
    )
    parser.add_argument("--store", type=Path, default=None, help="npz file for vectors (default: in memory)")
    args = parser.parse_args()
    for pair in args.pairs.split(","):
        old_label, new_label = pair.split(":")
        _run(args.source, old_label, new_label, args.store)


if __name__ == "__main__":
    main()
