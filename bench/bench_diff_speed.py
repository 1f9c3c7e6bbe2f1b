"""Speed of a full diff on this machine; prints figures (not a test).

Run: ``.venv/bin/python -m bench.bench_diff_speed [--old rev4] [--new rev5.0.0-2020-09] [--store FILE]``

Measures SP 800-53 Rev 4 -> Rev 5 (about 1,200 requirements a side):

- cold: a fresh process-level embedder and an empty vector store, so the time includes
  loading MiniLM and embedding every text the diff needs;
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="nist-sp-800-53")
    parser.add_argument("--old", default="rev4")
    parser.add_argument("--new", default="rev5.0.0-2020-09")
    parser.add_argument("--store", type=Path, default=None, help="npz file for vectors (default: in memory)")
    args = parser.parse_args()
    from embeddings.sentence_transformer import SentenceTransformerEmbedder

    timer = Timer()
    old, new = load_version(args.source, args.old), load_version(args.source, args.new)
    sizes = f"{args.old} ({len(old.requirements)}) and {args.new} ({len(new.requirements)})"
    print(f"parse {args.source} {sizes}: {timer():.2f}s")

    timer = Timer()
    result = diff_versions(old, new, None)
    print(f"lexical only: {timer():.2f}s  {result.summary}")

    store: MemoryVectorStore = NpzVectorStore(args.store) if args.store else MemoryVectorStore()
    already = len(store)
    cold = CachedEmbedder(SentenceTransformerEmbedder(), store)
    timer = Timer()
    result = diff_versions(old, new, cold)
    elapsed = timer()
    print(
        f"cold (model load + embedding, store had {already} vectors): {elapsed:.2f}s; "
        f"texts embedded {cold.misses}, cache hits {cold.hits}  {result.summary}"
    )
    if isinstance(store, NpzVectorStore):
        store.flush()

    warm_embedder = SentenceTransformerEmbedder()
    warm = CachedEmbedder(warm_embedder, store)
    timer = Timer()
    again = diff_versions(old, new, warm)
    elapsed = timer()
    same = again.to_json_dict() == result.to_json_dict()
    print(
        f"warm (vectors cached, model loaded: {warm_embedder.loaded}): {elapsed:.2f}s; "
        f"texts embedded {warm.misses}, cache hits {warm.hits}; identical result: {same}"
    )


if __name__ == "__main__":
    main()
