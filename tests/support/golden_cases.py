"""The hand-made diff fixtures: ``tests/fixtures/diff/<name>.json`` as requirements, and their diff.

Each fixture holds ``old`` and ``new`` requirement lists and the embedder to use (``none`` or
``hashing``); :func:`run_case` diffs them as the golden-file tests do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from embeddings.hashing import HashingEmbedder
from embeddings.protocol import Embedder
from tests.support.factories import requirement as make_requirement
from tracker.diff import DiffResult, diff_versions
from tracker.domain.keys import normalise_key
from tracker.domain.model import Link, Requirement

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "diff"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "diff"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def from_fixture(data: dict[str, Any], order: int = 0) -> Requirement:
    """A :class:`Requirement` from fixture JSON, with keys and obligations filled in as parsers do."""
    parent = data.get("parent")
    return make_requirement(
        data["ident"],
        data.get("statement", ""),
        data.get("title", ""),
        guidance=data.get("guidance", ""),
        parent=normalise_key(parent) if parent else None,
        order=order,
        kind=data.get("kind", "requirement"),
        withdrawn=bool(data.get("withdrawn", False)),
        links=tuple(Link(rel, normalise_key(target)) for rel, target in data.get("links", ())),
        params=tuple((pid, value) for pid, value in data.get("params", ())),
        properties=tuple((k, v) for k, v in data.get("properties", ())),
    )


def load_case(name: str) -> tuple[tuple[Requirement, ...], tuple[Requirement, ...], Embedder | None]:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    old = tuple(from_fixture(r, i) for i, r in enumerate(data["old"]))
    new = tuple(from_fixture(r, i) for i, r in enumerate(data["new"]))
    embedder: Embedder | None = HashingEmbedder() if data.get("embedder") == "hashing" else None
    return old, new, embedder


def run_case(name: str) -> DiffResult:
    old, new, embedder = load_case(name)
    return diff_versions(
        old, new, embedder, source="fixture", old_version=f"{name}-old", new_version=f"{name}-new"
    )
