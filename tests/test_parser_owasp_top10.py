"""OWASP Top 10 Markdown: one entry per file, prevention as the statement."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, ParsedDocument, ParsedVersion, Requirement
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.ai_exchange import PARSER as AI_EXCHANGE
from tracker.sources.parsers.latex_checklist import PARSER as LATEX
from tracker.sources.parsers.owasp_top10 import PARSER
from tracker.sources.parsing.markup import md_inline

LLM_VERSIONS = (
    "2023-v0.1-draft",
    "2023-v0.9-draft",
    "2023-v1.0",
    "2023-v1.1",
    "2025-rc-2024-11-08",
    "2025-release",
    "2025-maint-2025-11",
    "2026-draft-2026-07-05",
    "2026-draft-2026-07-16",
)
ML_VERSIONS = ("v0.1-draft", "v0.2-draft", "v0.3-draft", "head-2025-12")
MARKDOWN_NOISE = ("**", "](", "<br", "\\#", "{#", "###")


def parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(str(path), path.read_bytes()))


def entry(path: Path) -> Requirement:
    doc = parse(path)
    assert doc.role is DocumentRole.PART
    assert len(doc.requirements) == 1
    return doc.requirements[0]


def folder(path: Path) -> ParsedVersion:
    return assemble([(p.name, parse(p)) for p in sorted(path.iterdir())], str(path))


# --- small fixtures -----------------------------------------------------------------------------


def test_2025_entry_splits_prevention_from_guidance(fixtures_dir: Path) -> None:
    req = entry(fixtures_dir / "owasp_top10" / "2025" / "LLM01_PromptInjection.md")
    assert (req.ident, req.key, req.title, req.kind) == ("LLM01", "LLM1", "Prompt Injection", "entry")
    assert req.prop("list") == "2025"
    assert req.prop("ident-source") == "heading"
    assert req.statement.startswith("The following measures can mitigate")
    assert "Constrain model behavior\n\nProvide specific instructions" in req.statement  # numbering dropped
    assert "Description" not in req.statement and "support chatbot" not in req.statement
    assert req.guidance.startswith("Description\n\nA prompt injection occurs")
    assert "- Direct injection: the user types the attack." in req.guidance
    assert "Mitigation: filter the input" in req.guidance  # a bold label inside a scenario stays there
    assert "Prompt injection explained: Example Blog" in req.guidance
    assert {o.modal for o in req.obligations} == {"must", "should"}
    for noise in (*MARKDOWN_NOISE, "https://"):
        assert noise not in req.statement + req.guidance


def test_document_title_is_the_list(fixtures_dir: Path) -> None:
    root = fixtures_dir / "owasp_top10"
    assert parse(root / "2025" / "LLM01_PromptInjection.md").title == "OWASP Top 10 for LLM Applications"
    ml = parse(root / "drafts" / "ML01_2023-Input_Manipulation_Attack.md")
    assert ml.title == "OWASP Machine Learning Security Top Ten 2023"  # front-matter 'document'


def test_fenced_code_is_kept_verbatim_and_never_a_heading() -> None:
    data = (
        b"## LLM09: Example\n\n### Prevention and Mitigation Strategies\n\nFilter input such as:\n\n"
        b"```python\n# Description\nprompt = '**ignore** all'\n```\n\n### Description\n\nWords.\n"
    )
    req = PARSER.parse("LLM09_Example.md", data).requirements[0]
    assert req.statement == "Filter input such as:\n\n# Description\nprompt = '**ignore** all'"
    assert req.guidance == "Description\n\nWords."


def test_preface_is_a_part_without_requirements(fixtures_dir: Path) -> None:
    doc = parse(fixtures_dir / "owasp_top10" / "2025" / "LLM00_Preface.md")
    assert doc.role is DocumentRole.PART
    assert doc.requirements == ()
    assert doc.title == "Letter from the Project Leads"


def test_index_page_listing_entries_is_not_an_entry(fixtures_dir: Path) -> None:
    doc = parse(fixtures_dir / "owasp_top10" / "drafts" / "index.md")
    assert doc.requirements == ()
    assert doc.title.startswith("OWASP Top 10 List")


def test_folder_assembles_entries_in_file_order(fixtures_dir: Path) -> None:
    version = folder(fixtures_dir / "owasp_top10" / "2025")
    assert [r.ident for r in version.requirements] == ["LLM01", "LLM02"]
    assert version.title == "Letter from the Project Leads"


def test_bold_label_draft_with_number_in_heading(fixtures_dir: Path) -> None:
    req = entry(fixtures_dir / "owasp_top10" / "drafts" / "Data_Leakage.md")
    assert (req.ident, req.title, req.prop("list")) == ("LLM02", "Data Leakage", "2023")
    assert req.statement == "- Implement strict output filtering.\n- Use differential privacy."
    assert "Common Data Leakage Vulnerabilities" in req.guidance
    assert "Scenario #1: A user asks" in req.guidance


def test_unnumbered_draft_is_keyed_by_title_slug(fixtures_dir: Path) -> None:
    req = entry(fixtures_dir / "owasp_top10" / "drafts" / "PromptInjection.md")
    assert (req.ident, req.key, req.title) == ("prompt-injection", "PROMPT-INJECTION", "Prompt Injection")
    assert req.prop("ident-source") == "title"
    assert req.statement == "- Enforce privilege control on LLM access to backend systems."


def test_number_from_file_name_when_heading_has_none(fixtures_dir: Path) -> None:
    req = entry(fixtures_dir / "owasp_top10" / "drafts" / "LLM03_Training_Data_Poisoning.md")
    assert (req.ident, req.title, req.prop("ident-source")) == (
        "LLM03",
        "Training Data Poisoning",
        "filename",
    )


def test_ml_entry_front_matter(fixtures_dir: Path) -> None:
    req = entry(fixtures_dir / "owasp_top10" / "drafts" / "ML01_2023-Input_Manipulation_Attack.md")
    assert (req.ident, req.title, req.prop("list")) == ("ML01", "Input Manipulation Attack", "2023")
    assert req.prop("ident-source") == "front-matter"
    assert (req.prop("exploitability"), req.prop("detectability")) == ("5", "3")
    assert (
        req.statement == "Adversarial training: One approach is to train the model on adversarial examples."
    )
    assert "Threat Agents | Impact\nAttacker skilled | Misclassification" in req.guidance
    assert "Scenario #1: Image classification\n\nA model is trained" in req.guidance


def test_markup_only_changes_vanish() -> None:
    plain = (
        b"## LLM05: Example Entry\n\n### Description\n\nSome words about the risk.\n\n"
        b"### How to Prevent\n\n- Validate the **input**\n  before use.\n- Encode [output](http://a.example).\n"
    )
    restyled = (
        b"## LLM05:2025 Example Entry\n\n**Description:**  \nSome *words* about   the risk.\n\n"
        b"**How to Prevent:**\n\n1. Validate the __input__ before use.\n\n"
        b"2. Encode [output][ref].\n\n[ref]: https://b.example/x_(y)\n"
    )
    first = _finish(PARSER.parse("LLM05_a.md", plain)).requirements[0]
    second = _finish(PARSER.parse("LLM05_b.md", restyled)).requirements[0]
    assert first.statement == second.statement == "- Validate the input before use.\n- Encode output."
    assert first.guidance == second.guidance == "Description\n\nSome words about the risk."
    assert first.key == second.key == "LLM5"


def test_inline_code_and_html_are_handled() -> None:
    text = md_inline("Call `fn(*args, **kw)` with <b>care</b> &amp; <br> `a\\*b` \\*literal\\*")
    assert text == "Call fn(*args, **kw) with care & a\\*b *literal*"
    assert md_inline("See [the wiki](https://w.example/a_(b) 'Title') ![logo](l.png)") == "See the wiki"


def test_sniff_tells_entries_from_other_markdown(fixtures_dir: Path) -> None:
    for path in sorted((fixtures_dir / "owasp_top10").rglob("*.md")):
        data = path.read_bytes()
        assert PARSER.sniff(path.name, data) > AI_EXCHANGE.sniff(path.name, data), path.name
        assert LATEX.sniff(path.name, data) == 0
    chapter = (fixtures_dir / "ai_exchange" / "1_general_controls.md").read_bytes()
    assert PARSER.sniff("1_general_controls.md", chapter) == 0
    assert PARSER.sniff("README.md", b"# My project\n\nHello.\n") == 0
    assert PARSER.sniff("LLM01_PromptInjection.json", b'{"a": 1}') == 0
    assert PARSER.sniff("x.md", b"\x00\xff\xfe garbage") == 0


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("LLM01_Empty.md", b"  \n", "empty"),
        ("LLM01_Binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("LLM01_Latin1.md", "## LLM01: Caf\u00e9\n".encode("latin-1"), "not UTF-8"),
        ("Notes.md", b"Just a paragraph, no heading.\n", "no entry heading"),
        ("Notes.md", b"## Some Topic\n\nText without sections.\n", "no entry id"),
    ],
)
def test_bad_input_names_file_and_problem(name: str, data: bytes, problem: str) -> None:
    with pytest.raises(ParseError) as err:
        PARSER.parse(f"corpus/x/{name}", data)
    assert f"corpus/x/{name}" in str(err.value)
    assert problem in str(err.value)


# --- the real corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize("label", LLM_VERSIONS)
def test_every_llm_release_has_ten_entries(corpus_dir: Path, label: str) -> None:
    version = folder(corpus_dir / "owasp-top10-llm" / label)
    assert len(version.requirements) == 10
    for req in version.requirements:
        assert req.statement, f"{label} {req.ident} has no prevention section"
        assert req.title and req.guidance
        for noise in MARKDOWN_NOISE:
            assert noise not in req.statement, (label, req.ident, noise)
    if label != "2023-v0.9-draft":  # the only version that prints no numbers
        assert sorted(r.key for r in version.requirements) == sorted(f"LLM{n}" for n in range(1, 11))


@pytest.mark.parametrize("label", ML_VERSIONS)
def test_every_ml_release_has_ten_entries(corpus_dir: Path, label: str) -> None:
    version = folder(corpus_dir / "owasp-ml-security-top10" / label)
    assert [r.ident for r in version.requirements] == [f"ML{n:02d}" for n in range(1, 11)]
    assert all(r.statement and r.prop("list") == "2023" for r in version.requirements)


def test_prefaces_and_index_are_not_entries(corpus_dir: Path) -> None:
    root = corpus_dir / "owasp-top10-llm"
    assert parse(root / "2023-v0.1-draft" / "index.md").requirements == ()
    for label in LLM_VERSIONS[4:]:
        doc = parse(root / label / "LLM00_Preface.md")
        assert doc.requirements == () and doc.title == "Letter from the Project Leads"


def test_llm_titles_and_identifier_reuse(corpus_dir: Path) -> None:
    root = corpus_dir / "owasp-top10-llm"
    release = folder(root / "2025-release").by_key()
    v11 = folder(root / "2023-v1.1").by_key()
    assert release["LLM7"].title == "System Prompt Leakage"
    assert release["LLM7"].prop("list") == "2025"
    assert v11["LLM3"].title == "Training Data Poisoning"
    assert release["LLM3"].title == "Supply Chain"  # same id, different risk: the diff must catch it
    draft = folder(root / "2026-draft-2026-07-16").by_key()
    assert (draft["LLM3"].title, draft["LLM8"].title) == ("Excessive Agency", "Hidden Context Exposure")


def test_unnumbered_and_file_numbered_drafts(corpus_dir: Path) -> None:
    root = corpus_dir / "owasp-top10-llm"
    v09 = folder(root / "2023-v0.9-draft").by_key()
    assert "PROMPT-INJECTION" in v09 and "INSECURE-PLUGIN-DESIGN" in v09  # file is InscurePluginDesign.md
    assert all(r.prop("ident-source") == "title" for r in v09.values())
    v10 = folder(root / "2023-v1.0").by_key()
    assert v10["LLM1"].prop("ident-source") == "filename" and v10["LLM1"].title == "Prompt Injection"
    v01 = folder(root / "2023-v0.1-draft").by_key()
    assert v01["LLM2"].title == "Data Leakage"  # numbered in the heading, not in Data_Leakage.md


def test_ml_renames_between_drafts(corpus_dir: Path) -> None:
    root = corpus_dir / "owasp-ml-security-top10"
    v02, v03 = folder(root / "v0.2-draft").by_key(), folder(root / "v0.3-draft").by_key()
    assert (v02["ML1"].title, v03["ML1"].title) == ("Adversarial Attack", "Input Manipulation Attack")
    assert folder(root / "head-2025-12").by_key()["ML5"].title == "Model Theft"


def test_release_to_maintenance_keeps_most_statements(corpus_dir: Path) -> None:
    """Typo, link and Markdown fixes: most prevention text must come out identical."""
    root = corpus_dir / "owasp-top10-llm"
    release = folder(root / "2025-release").by_key()
    maint = folder(root / "2025-maint-2025-11").by_key()
    same = [key for key in release if release[key].statement == maint[key].statement]
    assert len(same) >= 7, same
