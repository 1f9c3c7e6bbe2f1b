"""OWASP AI Exchange chapters: heading trees keyed by control names and heading slugs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, ParsedDocument, ParsedVersion
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.ai_exchange import PARSER
from tracker.sources.parsers.latex_checklist import PARSER as LATEX
from tracker.sources.parsers.owasp_top10 import PARSER as TOP10

SNAPSHOTS = (
    "snapshot-2024-03-31",
    "snapshot-2024-12-12",
    "snapshot-2025-06-26",
    "snapshot-2025-12-29",
    "snapshot-2026-08-22",
)


def parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(str(path), path.read_bytes()))


def folder(path: Path) -> ParsedVersion:
    return assemble([(p.name, parse(p)) for p in sorted(path.glob("*.md"))], str(path))


def test_chapter_tree(fixtures_dir: Path) -> None:
    doc = parse(fixtures_dir / "ai_exchange" / "1_general_controls.md")
    assert doc.role is DocumentRole.PART and doc.title == "1. General controls"
    reqs = {r.key: r for r in doc.requirements}
    root = doc.requirements[0]
    assert (root.key, root.kind, root.title, root.depth, root.parent) == (
        "GENERAL-CONTROLS",
        "chapter",
        "General controls",
        0,
        None,
    )
    assert root.prop("number") == "1" and root.prop("permalink") == "https://owaspai.org/go/generalcontrols/"
    assert root.statement == "Controls that every organisation should have."
    governance = reqs["GENERAL-CONTROLS/GENERAL-GOVERNANCE-CONTROLS"]
    assert (governance.kind, governance.depth, governance.parent, governance.prop("number")) == (
        "section",
        1,
        "GENERAL-CONTROLS",
        "1.1",
    )
    program = reqs["GENERAL-CONTROLS/#AIPROGRAM"]
    assert (program.ident, program.title, program.kind, program.depth) == (
        "#AI PROGRAM",
        "AI PROGRAM",
        "control",
        2,
    )
    assert program.parent == governance.key
    assert program.prop("control") == "AIPROGRAM" and program.prop("category") == "governance control"
    assert program.statement == (
        "Description\n\nAI program: Install and execute a program to govern AI. See #CHECK COMPLIANCE."
    )
    assert "Category" not in program.statement and "Permalink" not in program.statement
    assert [o.modal for o in reqs["GENERAL-CONTROLS/#CHECKCOMPLIANCE"].obligations] == ["must"]
    minimize = reqs["GENERAL-CONTROLS/#DATAMINIMIZE"]
    assert minimize.parent == "GENERAL-CONTROLS/INTRODUCTION" and minimize.depth == 3


def test_repeated_headings_get_deterministic_unique_keys(fixtures_dir: Path) -> None:
    path = fixtures_dir / "ai_exchange" / "1_general_controls.md"
    keys = [r.key for r in parse(path).requirements]
    assert len(keys) == len(set(keys))
    assert "GENERAL-CONTROLS/INTRODUCTION" in keys  # the first keeps the short key
    assert "GENERAL-CONTROLS/CONTROLS-TO-LIMIT-UNWANTED-BEHAVIOUR/INTRODUCTION" in keys
    assert "GENERAL-CONTROLS/CONTROLS-TO-LIMIT-UNWANTED-BEHAVIOUR/INTRODUCTION~2" in keys
    assert keys == [r.key for r in parse(path).requirements]


def test_control_in_two_chapters_assembles(fixtures_dir: Path) -> None:
    version = folder(fixtures_dir / "ai_exchange")
    controls = [r for r in version.requirements if r.prop("control") == "TRAINADVERSARIAL"]
    assert sorted(r.key for r in controls) == [
        "DEVELOPMENT-TIME-THREATS/#TRAINADVERSARIAL",
        "THREATS-THROUGH-USE/#TRAINADVERSARIAL",
    ]  # "#TRAIN ADVERSARIAL" and "#TRAINADVERSARIAL": same name, spaces are cosmetic


def test_index_page_has_no_requirements(fixtures_dir: Path) -> None:
    doc = parse(fixtures_dir / "ai_exchange" / "ai_security_index.md")
    assert doc.requirements == () and doc.title == "Index"


def test_sniff(fixtures_dir: Path) -> None:
    for path in sorted((fixtures_dir / "ai_exchange").glob("*.md")):
        data = path.read_bytes()
        assert PARSER.sniff(path.name, data) > TOP10.sniff(path.name, data), path.name
        assert LATEX.sniff(path.name, data) == 0
    assert PARSER.sniff("LLM01_PromptInjection.md", b"## LLM01:2025 Prompt Injection\n") == 0
    assert PARSER.sniff("notes.md", b"# Notes\n") == 0
    assert PARSER.sniff("chapter.yaml", b"---\ntitle: x\nweight: 1\n---\n") == 0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"\xff\xfe---\n", "not UTF-8"),
        (b"Some text and no heading at all.\n", "no front-matter title and no headings"),
    ],
)
def test_bad_input_names_file_and_problem(data: bytes, problem: str) -> None:
    with pytest.raises(ParseError) as err:
        PARSER.parse("docs/1_general_controls.md", data)
    assert "docs/1_general_controls.md" in str(err.value) and problem in str(err.value)


@pytest.mark.parametrize("label", SNAPSHOTS)
def test_every_snapshot_assembles(corpus_dir: Path, label: str) -> None:
    version = folder(corpus_dir / "owasp-ai-exchange" / label)  # raises on a duplicate key
    controls = [r for r in version.requirements if r.kind == "control"]
    assert len(controls) >= 40
    assert "GENERAL-CONTROLS/#AIPROGRAM" in version.by_key()
    keys = version.by_key()
    for req in version.requirements:
        assert req.parent is None or req.parent in keys
        for noise in ("**", "](", "<br", "<td", "{{<"):
            assert noise not in req.statement, (label, req.key, noise)


def test_control_names_survive_respacing_and_renumbering(corpus_dir: Path) -> None:
    root = corpus_dir / "owasp-ai-exchange"
    old = folder(root / "snapshot-2024-03-31").by_key()
    new = folder(root / "snapshot-2026-08-22").by_key()
    assert old["GENERAL-CONTROLS/#AIPROGRAM"].ident == "#AIPROGRAM"
    assert new["GENERAL-CONTROLS/#AIPROGRAM"].ident == "#AI PROGRAM"
    moved = "RUNTIME-APPLICATION-SECURITY-THREATS/LEAK-SENSITIVE-INPUT-DATA"
    assert old[moved].prop("number") == "4.7"
    assert folder(root / "snapshot-2024-12-12").by_key()[moved].prop("number") == "4.5"
    both = [k for k in new if k.endswith("/#TRAINADVERSARIAL")]
    assert sorted(both) == [
        "DEVELOPMENT-TIME-THREATS/#TRAINADVERSARIAL",
        "THREATS-THROUGH-USE/#TRAINADVERSARIAL",
    ]


def test_index_and_references_chapters(corpus_dir: Path) -> None:
    root = corpus_dir / "owasp-ai-exchange" / "snapshot-2026-08-22"
    assert parse(root / "ai_security_index.md").requirements == ()
    references = parse(root / "ai_security_references.md")
    assert 1 <= len(references.requirements) <= 10
