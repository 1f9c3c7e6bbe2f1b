"""Crawl benchmark: a full cycle over every registered source against a local mirror.

Run: ``.venv/bin/python -m bench.bench_crawl [--corpus DIR] [--jobs N]``.

The mirror is built from the shared corpus (``TRACKER_CORPUS_DIR``, default
``../shared/corpus``) plus ``data/mirror/`` samples and served on loopback; a fresh SQLite
database is used. One priming cycle archives every source; then the measured cycles run
with nothing changed: the normal one (conditional GET: every entry point answers 304), and
one with ``--force`` (validators ignored: everything is downloaded again and recognised by
content hash). Printed per cycle: wall time, bytes fetched by the crawls (bodies), bytes the
mirror sent (status lines, headers and bodies), requests and 304s, and outcomes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine

from tracker.crawl.launcher import CrawlResult, run_many
from tracker.demo.mirror import MirrorServer
from tracker.demo.mirror_build import build_mirror, default_samples
from tracker.settings import Settings
from tracker.sources import registry as registry_mod
from tracker.storage.db import make_engine, upgrade


def _cycle(name: str, server: MirrorServer, engine: Engine, slugs: list[str], jobs: int, force: bool) -> None:
    before = server.stats.snapshot()
    started = time.perf_counter()
    results: list[CrawlResult] = run_many(engine, slugs, jobs=jobs, force=force)
    seconds = time.perf_counter() - started
    after = server.stats.snapshot()
    outcomes = Counter(r.outcome for r in results)
    fetched = sum(r.bytes_fetched for r in results)
    sent, requests, not_modified = (after[k] - before[k] for k in ("bytes_sent", "requests", "not_modified"))
    print(
        f"{name:<36} {seconds:6.2f} s  fetched {fetched:>10,} B  mirror sent {sent:>10,} B"
        f"  requests {requests:>3} (304: {not_modified:>2})  {dict(sorted(outcomes.items()))}"
    )
    for r in results:
        if r.outcome in ("failed", "error"):
            print(f"    {r.source}: {r.message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=Settings.from_env().corpus_dir)
    parser.add_argument("--jobs", type=int, default=4, help="crawl processes at a time")
    args = parser.parse_args()
    registry = registry_mod.load()
    slugs = [s.slug for s in registry.sources if s.enabled]
    corpus = args.corpus if (args.corpus / "MANIFEST.json").is_file() else None
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        root = Path(tmp)
        report = build_mirror(root / "mirror", registry, corpus, samples=default_samples())
        files = [p for p in (root / "mirror").rglob("*") if p.is_file()]
        print(
            f"mirror: {len(files)} files, {sum(p.stat().st_size for p in files):,} bytes "
            f"({'corpus ' + str(corpus) if corpus else 'samples only: corpus not found'}); "
            f"{len(slugs)} sources; {args.jobs} crawl processes at a time; {os.cpu_count()} CPUs"
        )
        print(f"revealed from the corpus: { {k: v[-1] for k, v in report.revealed.items()} }")
        os.environ["TRACKER_DATABASE_URL"] = f"sqlite:///{root / 'bench.sqlite3'}"
        engine = make_engine(os.environ["TRACKER_DATABASE_URL"])
        upgrade(engine)
        with MirrorServer(root / "mirror") as server:
            os.environ["TRACKER_MIRROR_URL"] = server.url
            _cycle("priming cycle (archive everything)", server, engine, slugs, args.jobs, force=False)
            _cycle("full cycle, nothing changed", server, engine, slugs, args.jobs, force=False)
            _cycle("same, sequential (1 process)", server, engine, slugs, 1, force=False)
            _cycle("same, validators ignored (--force)", server, engine, slugs, args.jobs, force=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
