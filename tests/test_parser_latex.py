"""OWASP LLM governance checklist LaTeX: sections as nodes, checklist items as requirements."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, ParsedDocument, ParsedVersion
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.ai_exchange import PARSER as AI_EXCHANGE
from tracker.sources.parsers.latex_checklist import PARSER
from tracker.sources.parsers.owasp_top10 import PARSER as TOP10
from tracker.sources.parsing.markup import latex_to_text

ITEM_LINES = {"v0.5-draft": 63, "v1.0": 85, "v1.1": 85}
FILES = ("checklist.tex", "llm-challenges.tex", "llm-strategy.tex", "overview.tex")


def parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(str(path), path.read_bytes()))


def folder(path: Path) -> ParsedVersion:
    return assemble([(name, parse(path / name)) for name in FILES], str(path))


def test_checklist_items(fixtures_dir: Path) -> None:
    doc = parse(fixtures_dir / "latex" / "checklist.tex")
    assert doc.role is DocumentRole.PART and doc.title == "Checklist"
    reqs = {r.ident: r for r in doc.requirements}
    assert doc.requirements[0].kind == "chapter" and doc.requirements[0].ident == "checklist"
    section = reqs["adversarial-risk"]
    assert (section.kind, section.title, section.depth, section.statement) == (
        "section",
        "Adversarial Risk",
        1,
        "",
    )
    assert section.guidance == "Adversarial Risk includes competitors and attackers."
    items = [r for r in doc.requirements if r.parent == section.key]
    assert [r.ident for r in items] == ["adversarial-risk.1", "adversarial-risk.2", "adversarial-risk.3"]
    assert [r.key for r in items] == ["ADVERSARIAL-RISK.1", "ADVERSARIAL-RISK.2", "ADVERSARIAL-RISK.3"]
    assert items[0].statement == "Scrutinize how competitors are investing in artificial intelligence."
    assert items[1].statement == (
        "Update the Incident Response Plan for GenAI enhanced attacks & AIML incidents; "
        "costs rose 50% this year."
    )
    assert items[2].statement == "Review the organization's EULA agreements (See the vendor terms.)."
    assert all(r.kind == "item" and r.depth == 2 and not r.guidance for r in items)


def test_nested_items_labelled_list_items_and_subsections(fixtures_dir: Path) -> None:
    reqs = {r.ident: r for r in parse(fixtures_dir / "latex" / "checklist.tex").requirements}
    details = reqs["model-cards-and-risk-cards.model-details"]
    assert (details.kind, details.title, details.statement) == ("list-item", "Model details", "")
    assert details.guidance == "Model details: Basic information about the model."
    assert reqs["model-cards-and-risk-cards.list-2"].guidance == "Other attribute without a label."
    assert reqs["model-cards-and-risk-cards.1"].statement == "Review a model's model card"
    assert reqs["model-cards-and-risk-cards.2"].statement == "Establish a process to track model cards:"
    nested = reqs["model-cards-and-risk-cards.2.1"]
    assert (nested.statement, nested.parent, nested.depth) == (
        "for internally built models;",
        "MODEL-CARDS-AND-RISK-CARDS.2",
        3,
    )
    tevv = reqs["testing-evaluation-verification-and-validation-tevv"]
    assert tevv.title == "Testing, Evaluation, Verification, and Validation (TEVV)"
    assert (tevv.parent, tevv.depth) == ("MODEL-CARDS-AND-RISK-CARDS", 2)
    assert (
        reqs["testing-evaluation-verification-and-validation-tevv.1"].statement
        == "Establish continuous testing."
    )


def test_narrative_file_is_context_only(fixtures_dir: Path) -> None:
    doc = parse(fixtures_dir / "latex" / "overview.tex")
    assert [(r.ident, r.kind) for r in doc.requirements] == [
        ("overview", "chapter"),
        ("overview/who-is-this-for", "section"),
        ("overview/risk", "section"),
    ]
    assert all(not r.statement and not r.obligations for r in doc.requirements)
    root = doc.requirements[0]
    assert root.title == "Overview"
    assert root.guidance == (
        "Every internet user and company should prepare for GenAI.\n\n"
        "- Artificial intelligence is a broad term.\n- Machine learning is a subset of AI."
    )
    assert doc.requirements[1].guidance == (
        "Leaders across executive, tech and legal areas.\n\nImage depicting the pillars of trustworthy AI"
    )


def test_rewrapping_and_escapes_do_not_change_text() -> None:
    wrapped = (
        b"\\section{Legal}\n\\begin{checklist}\n"
        b"  \\item Review the vendor\\'s\n  terms \\& conditions.\n\\end{checklist}\n"
    )
    one_line = (
        "\\section{Legal}\n\\begin{checklist}\n"
        "\\item  Review the vendor\u2019s terms \\& conditions. % note\n\\end{checklist}\n"
    ).encode()
    first = PARSER.parse("checklist.tex", wrapped).requirements
    second = PARSER.parse("checklist.tex", one_line).requirements
    assert [(r.key, r.statement) for r in first] == [(r.key, r.statement) for r in second]
    assert first[-1].statement == "Review the vendor's terms & conditions."


def test_latex_to_text_keeps_escaped_braces_and_drops_commands() -> None:
    tex = r"Set \{x\} to \emph{\textbf{y}}\\ see \url{https://a.example/x} \label{l}\ref{l}--done"
    assert latex_to_text(tex) == "Set {x} to y see https://a.example/x \u2013done"


def test_sniff() -> None:
    body = b"\\chapter{Checklist}\n\\section{Legal}\n"
    assert PARSER.sniff("checklist.tex", body) == 85
    assert PARSER.sniff("empty.tex", b"just text") > 0  # ours, so parse explains what is missing
    assert PARSER.sniff("paper.txt", b"\\documentclass{article}\n") > 0
    assert PARSER.sniff("notes.md", b"## LLM01: Prompt Injection\n") == 0
    assert PARSER.sniff("data.json", b'{"section": 1}') == 0
    assert TOP10.sniff("checklist.tex", body) == 0 and AI_EXCHANGE.sniff("checklist.tex", body) == 0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"\x00\x00\x00\x01", "binary"),
        (b"\\section{Caf\xe9}", "not UTF-8"),
        (b"Some text.\n\\begin{itemize}\\item one\\end{itemize}\n", "no \\chapter, \\section"),
        (b"\\section{Unclosed {title}\nText.\n", "unbalanced braces in a heading at line 1"),
    ],
)
def test_bad_input_names_file_and_problem(data: bytes, problem: str) -> None:
    with pytest.raises(ParseError) as err:
        PARSER.parse("v1/checklist.tex", data)
    assert "v1/checklist.tex" in str(err.value) and problem in str(err.value)


@pytest.mark.parametrize(("label", "count"), sorted(ITEM_LINES.items()))
def test_every_item_of_the_checklist_is_a_node(corpus_dir: Path, label: str, count: int) -> None:
    path = corpus_dir / "owasp-llm-governance-checklist" / label / "checklist.tex"
    assert len(re.findall(r"^\s*\\item\b", path.read_text(encoding="utf-8"), re.MULTILINE)) == count
    items = [r for r in parse(path).requirements if r.kind in ("item", "list-item")]
    assert len(items) == count
    assert all(r.statement for r in items if r.kind == "item")


@pytest.mark.parametrize("label", sorted(ITEM_LINES))
def test_every_version_assembles_without_latex_residue(corpus_dir: Path, label: str) -> None:
    version = folder(corpus_dir / "owasp-llm-governance-checklist" / label)
    keys = version.by_key()
    assert "ADVERSARIAL-RISK.1" in keys and "OVERVIEW" in keys
    for req in version.requirements:
        assert req.parent is None or req.parent in keys
        for text in (req.title, req.statement, req.guidance):
            assert not re.search(r"\\[a-zA-Z]|[{}]|%", text), (label, req.ident, text[:80])
    narrative = [r for r in version.requirements if not r.key.startswith(("CHECKLIST", "ADVERSARIAL"))]
    assert any(r.ident.startswith("overview/") for r in narrative)


def test_small_edit_between_v1_0_and_v1_1(corpus_dir: Path) -> None:
    """v1.1 only unwraps lines and swaps quote styles; three texts really change."""
    root = corpus_dir / "owasp-llm-governance-checklist"
    old = {r.key: r for r in parse(root / "v1.0" / "checklist.tex").requirements}
    new = {r.key: r for r in parse(root / "v1.1" / "checklist.tex").requirements}
    assert old.keys() == new.keys()
    changed = sorted(
        k for k in old if (old[k].statement, old[k].guidance) != (new[k].statement, new[k].guidance)
    )
    assert changed == ["MODEL-CARDS-AND-RISK-CARDS.1", "REGULATORY"]
    assert new["MODEL-CARDS-AND-RISK-CARDS.1"].statement == "Review a model's model card"
