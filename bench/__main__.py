"""Run every benchmark in turn (``python -m bench``) or some (``python -m bench ingest diff_speed``).

Each prints its own figures; nothing here asserts a target.
"""

from __future__ import annotations

import subprocess
import sys

ALL = (
    "ingest",
    "diff_speed",
    "diff_quality",
    "lineage",
    "mapping",
    "impact",
    "crawl",
    "api",
    "review",
    "embeddings",
    "map_speed",
    "fanout",
    "digest",
)


def main(names: list[str]) -> int:
    failed = 0
    for name in names or ALL:
        print(f"\n=== bench_{name} ===", flush=True)
        code = subprocess.call([sys.executable, "-m", f"bench.bench_{name}"])
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
