"""Repository hygiene that review would otherwise have to catch by eye."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("tracker", "api", "spiders", "embeddings", "tests", "bench", "docs")
TRACKER_NUMBER = re.compile(r"issue [0-9]", re.IGNORECASE)


def _texts() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for folder in SCANNED:
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.suffix in {".py", ".md", ".html", ".toml", ".txt"} and "golden" not in p.parts
        ]
    return [p for p in files if p.is_file()]


def test_no_tracker_issue_numbers_in_code_or_docs() -> None:
    """Code and docs name the concept; an issue number means nothing to a later reader."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _texts()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if TRACKER_NUMBER.search(line) and path.name != "test_hygiene.py"
    ]
    assert found == []


def test_changelog_records_the_current_engine_and_parser_versions() -> None:
    """Stored diffs, impacts and versions record these: a change of one without a CHANGELOG line
    is caught."""
    from tracker.diff.types import ENGINE_VERSION
    from tracker.impact.model import RULES_VERSION
    from tracker.sources.formats import parsers

    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    table = text.split("## Current versions", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (.+?) \| (\S+) \|", table, flags=re.MULTILINE))
    expected = {"diff engine": ENGINE_VERSION, "impact rules": RULES_VERSION} | {
        f"parser `{p.name}`": p.version for p in parsers()
    }
    assert {k: v for k, v in rows.items() if k != "part"} == expected


def test_every_parser_module_is_listed_for_detection() -> None:
    """A format is its parser module plus its line in ``_MODULES`` (the order breaks sniff ties)."""
    import pkgutil

    import tracker.sources.parsers as package
    from tracker.sources import formats

    modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert modules == set(formats._MODULES)
