"""Shared helpers for the diff benchmarks: where the corpus is, and reading a version folder."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tracker.domain.model import ParsedVersion

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """``TRACKER_CORPUS_DIR``, else ``../shared/corpus`` next to the repository."""
    configured = os.environ.get("TRACKER_CORPUS_DIR")
    return Path(configured) if configured else (ROOT / ".." / "shared" / "corpus").resolve()


def eval_dir() -> Path:
    configured = os.environ.get("TRACKER_EVAL_DIR")
    return Path(configured) if configured else (corpus_dir().parent / "eval").resolve()


def load_version(source: str, label: str) -> ParsedVersion:
    """Parse and assemble every file of ``<corpus>/<source>/<label>/`` (parsers' choice of files)."""
    from tracker.domain.errors import UnknownFormatError
    from tracker.sources.formats import assemble, parse_document

    folder = corpus_dir() / source / label
    if not folder.is_dir():
        raise SystemExit(f"no such version folder: {folder}")
    named = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            named.append((path.name, parse_document(path.name, path.read_bytes())))
        except UnknownFormatError:
            continue
    return assemble(named, where=f"{source}/{label}")


def versions(source: str) -> list[str]:
    return sorted(p.name for p in (corpus_dir() / source).iterdir() if p.is_dir())


class Timer:
    """Wall-clock seconds since creation; ``cpu()`` is this process's CPU seconds (all threads).

    On a shared machine wall time includes waiting for other processes; CPU time is what the
    work itself cost, the better proxy for an otherwise idle machine.
    """

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def __call__(self) -> float:
        return time.perf_counter() - self.start

    def cpu(self) -> float:
        return time.process_time() - self.cpu_start


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
