"""The whole shared corpus ingests, with the counts its README states; a second pass adds nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tracker.sources.ingest import ingest_corpus
from tracker.storage.archive import Archive

pytestmark = pytest.mark.slow

LIMIT = 64 * 1024 * 1024


def _kinds(archive: Archive, slug: str, label: str, active_only: bool = False) -> Counter[str]:
    return Counter(r.kind for r in archive.requirements(slug, label) if not (active_only and r.withdrawn))


def test_whole_corpus(engine: Engine, corpus_dir: Path) -> None:
    archive = Archive(engine)
    first = list(ingest_corpus(archive, corpus_dir, max_bytes=LIMIT))
    assert all(r.created for r in first)
    assert len(first) == sum(1 for p in corpus_dir.glob("*/*") if p.is_dir())

    rev5 = archive.requirements("nist-sp-800-53", "rev5.0.0-2020-09")
    kinds = Counter(r.kind for r in rev5)
    assert (kinds["control"], kinds["enhancement"]) == (322, 867)
    assert sum(1 for r in rev5 if r.withdrawn and r.kind in ("control", "enhancement")) == 182
    rev4 = _kinds(archive, "nist-sp-800-53", "rev4")
    assert (rev4["control"], rev4["enhancement"]) == (256, 666)
    profiles = {p.name: len(p.keys) for p in archive.profiles("nist-sp-800-53", "rev5-oscal-5.0.1-2021-06")}
    assert profiles == {"LOW": 149, "MODERATE": 287, "HIGH": 370, "PRIVACY": 96}
    union = {p.name: len(p.keys) for p in archive.profiles("nist-sp-800-53", "rev5.2.0-2025-08")}
    assert union["MODERATE"] >= 287

    assert _kinds(archive, "nist-csf", "2.0")["subcategory"] == 106
    assert _kinds(archive, "nist-csf", "1.1")["subcategory"] == 108
    assert _kinds(archive, "nist-csf", "2.0-oscal", active_only=True)["subcategory"] == 106

    atlas = _kinds(archive, "mitre-atlas", "v5.6.0")
    assert (atlas["tactic"], atlas["technique"], atlas["subtechnique"], atlas["mitigation"]) == (
        16,
        101,
        69,
        35,
    )

    for version in archive.versions("owasp-top10-llm"):
        assert version.requirement_count == 10, version.label
    for version in archive.versions("owasp-ml-security-top10"):
        assert version.requirement_count == 10, version.label

    stats = archive.stats()
    second = list(ingest_corpus(archive, corpus_dir, max_bytes=LIMIT))
    assert not any(r.created for r in second)
    assert archive.stats() == stats
