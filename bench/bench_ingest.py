"""Ingest the whole shared corpus into a fresh database; print time and peak memory.

Run: ``.venv/bin/python -m bench.bench_ingest [--postgres URL]``
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tracker.sources.ingest import ingest_corpus
from tracker.storage.archive import Archive
from tracker.storage.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL instead of a temporary SQLite file")
    args = parser.parse_args()
    corpus = Path(os.environ.get("TRACKER_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        archive = Archive(engine)
        per_source: dict[str, float] = defaultdict(float)
        start = time.perf_counter()
        last = start
        results = []
        for result in ingest_corpus(archive, corpus, max_bytes=64 * 1024 * 1024):
            now = time.perf_counter()
            per_source[result.version.source] += now - last
            last = now
            results.append(result)
        first = time.perf_counter() - start
        again = time.perf_counter()
        second = list(ingest_corpus(archive, corpus, max_bytes=64 * 1024 * 1024))
        repeat = time.perf_counter() - again
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stats = archive.stats()
        print(f"corpus: {corpus}  database: {engine.url.get_backend_name()}")
        print(
            f"first ingest: {len(results)} versions, {stats['requirements']:,} requirements, "
            f"{stats['artefacts']} artefacts ({stats['artefact_bytes']:,} bytes) in {first:.1f} s"
        )
        print(f"second ingest (nothing new, {sum(r.created for r in second)} created): {repeat:.1f} s")
        print(f"peak memory (max RSS of this process): {peak_mib:.0f} MiB")
        for slug, seconds in sorted(per_source.items(), key=lambda kv: -kv[1]):
            print(f"  {slug:34} {seconds:6.1f} s")
        engine.dispose()


if __name__ == "__main__":
    main()
