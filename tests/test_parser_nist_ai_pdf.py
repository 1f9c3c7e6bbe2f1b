"""NIST AI 100-1 and AI 600-1 PDFs in NIST's layouts: Core tables, suggested actions, keys."""

from __future__ import annotations

import importlib.util
import io
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import Engine

from tracker.cli.main import cli
from tracker.domain.errors import ParseError
from tracker.domain.model import ParsedDocument, Requirement
from tracker.sources.formats import _finish, detect, parse_document
from tracker.sources.parsers.nist_ai_pdf import PARSER

SAMPLES = Path(__file__).parents[1] / "data" / "mirror"
NIST = SAMPLES / "nvlpubs.nist.gov" / "nistpubs" / "ai"
AI_100_1 = NIST / "NIST.AI.100-1.pdf"
AI_600_1 = NIST / "NIST.AI.600-1.pdf"
ETSI = Path(__file__).parent / "fixtures" / "etsi" / "etsi_ts_104223_V111.pdf"
RENDITION = Path(__file__).parent / "fixtures" / "nist_ai" / "nist-ai-600-1-library.yaml"


def _parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(path.name, path.read_bytes()))


def _by_ident(doc: ParsedDocument) -> dict[str, Requirement]:
    return {r.ident: r for r in doc.requirements}


@pytest.fixture(scope="module")
def rmf() -> ParsedDocument:
    return _parse(AI_100_1)


@pytest.fixture(scope="module")
def gai() -> ParsedDocument:
    return _parse(AI_600_1)


def test_sniff_takes_nist_pdfs_and_nothing_else() -> None:
    assert PARSER.sniff(AI_100_1.name, AI_100_1.read_bytes()) == 90
    assert PARSER.sniff("download.pdf", AI_600_1.read_bytes()) == 85  # by the title in its metadata
    assert PARSER.sniff(ETSI.name, ETSI.read_bytes()) == 0
    assert PARSER.sniff("NIST.AI.600-1.pdf", b"<!DOCTYPE html><html>%PDF-1.7</html>") == 0
    assert PARSER.sniff("NIST.AI.600-1.json", b'[{"section_about": ""}]') == 0
    assert detect(AI_600_1.name, AI_600_1.read_bytes()).name == "nist-ai-pdf"
    assert detect(ETSI.name, ETSI.read_bytes()).name == "etsi-pdf"


def test_ai_100_1_core_tree(rmf: ParsedDocument) -> None:
    assert (rmf.title, rmf.version_hint, rmf.published) == (
        "NIST AI 100-1: Artificial Intelligence Risk Management Framework (AI RMF 1.0)",
        "1.0",
        date(2023, 1, 1),
    )
    assert [(r.ident, r.kind, r.parent, r.depth) for r in rmf.requirements[:6]] == [
        ("GOVERN", "function", None, 0),
        ("GOVERN 1", "category", "GOVERN", 1),
        ("GOVERN 1.1", "subcategory", "GOVERN1", 2),
        ("GOVERN 1.2", "subcategory", "GOVERN1", 2),
        ("GOVERN 2", "category", "GOVERN", 1),
        ("GOVERN 2.1", "subcategory", "GOVERN2", 2),
    ]
    assert [r.ident for r in rmf.requirements if r.kind == "function"] == [
        "GOVERN",
        "MAP",
        "MEASURE",
        "MANAGE",
    ]
    reqs = _by_ident(rmf)
    assert reqs["GOVERN 1"].statement == (
        "Policies, processes and practices for mapping, measuring and managing AI risks are in place, "
        "transparent and applied effectively."
    )  # a category cell wrapping over four lines beside two subcategories
    assert reqs["GOVERN 1.2"].statement == (
        "The characteristics of trustworthy AI are built into organizational policies, processes and "
        "practices."
    )  # "organiza-" + "tional" rejoined
    # the MANAGE table row is broken by a page break in both cells
    assert (
        reqs["MANAGE 1"].statement == "Risks are prioritized and acted upon based on their projected impact."
    )
    assert (
        reqs["MANAGE 1.1"].statement
        == "A decision is made on whether the AI system meets its intended purposes."
    )
    text = "\n".join(r.statement for r in rmf.requirements)
    for leaked in ("NIST AI 100-1", "AI RMF 1.0", "Categories", "Subcategories", "Table", "Profiles"):
        assert leaked not in text, leaked


def test_ai_100_1_keys_are_those_of_the_machine_readable_renditions(
    rmf: ParsedDocument, corpus_dir: Path
) -> None:
    folder = corpus_dir / "nist-ai-rmf"
    renditions = [
        next((folder / "1.0").glob("*.yaml")),
        next((folder / "playbook-json-2026-05").glob("*.json")),
    ]
    for path in renditions:
        other = {r.key: r for r in parse_document(path.name, path.read_bytes()).requirements}
        for req in rmf.requirements:
            assert req.key in other, (path.name, req.ident)
            assert (other[req.key].kind, other[req.key].parent, other[req.key].depth) == (
                req.kind,
                req.parent,
                req.depth,
            ), (path.name, req.ident)


def test_ai_600_1_actions_risks_and_actor_tasks(gai: ParsedDocument) -> None:
    assert gai.title == (
        "NIST AI 600-1: Artificial Intelligence Risk Management Framework: Generative Artificial "
        "Intelligence Profile"
    )
    assert gai.published == date(2024, 7, 1)
    actions = [r for r in gai.requirements if r.kind == "action"]
    assert [(r.ident, r.key, r.parent, r.depth) for r in actions] == [
        ("GV-1.1-001", "GV-1.1-1", "GOVERN1.1", 3),
        ("GV-1.2-001", "GV-1.2-1", "GOVERN1.2", 3),
        ("GV-1.2-002", "GV-1.2-2", "GOVERN1.2", 3),
        ("MP-1.1-001", "MP-1.1-1", "MAP1.1", 3),
        ("MS-2.2-001", "MS-2.2-1", "MEASURE2.2", 3),
        ("MG-2.3-001", "MG-2.3-1", "MANAGE2.3", 3),
    ]
    reqs = _by_ident(gai)
    assert (reqs["GOVERN 1.1"].kind, reqs["GOVERN 1.1"].parent, reqs["GOVERN 1"].parent) == (
        "subcategory",
        "GOVERN1",
        "GOVERN",
    )
    assert reqs["MAP 1.1"].statement.endswith("will be deployed are understood and documented.")
    first = reqs["GV-1.1-001"]
    assert first.prop("gai-risks") == "Data Privacy; Harmful Bias and Homogenization; Intellectual Property"
    assert first.prop("ai-actors") == "Governance and Oversight"
    assert (
        reqs["MP-1.1-001"].prop("ai-actors")
        == "AI Deployment; AI Design; AI Development; Operation and Monitoring; TEVV"
    )
    # a row broken by a page break, with a hyphenated word, risks wrapping in their column
    broken = reqs["GV-1.2-002"]
    assert broken.statement == (
        "Define acceptable uses of generative AI in the organization and the review a new use must "
        "pass before it "
        "is allowed, with the people who decide and the records they keep of each decision and of "
        "the risks they "
        "weighed when they made it."
    )
    assert broken.prop("gai-risks") == (
        "Confabulation; Dangerous, Violent, or Hateful Content; Obscene, Degrading, and/or Abusive Content"
    )
    # the table header opened on the page before its first row
    assert (
        reqs["MS-2.2-001"].statement
        == "Assess whether people whose data trains or tests a model have agreed to that use."
    )
    text = "\n".join(r.statement for r in gai.requirements)
    for leaked in (
        "Action ID",
        "Suggested Action",
        "AI Actor Tasks",
        "NIST AI 600-1",
        "Generative AI Profile",
    ):
        assert leaked not in text, leaked


def test_a_pdf_without_the_nist_tables() -> None:
    with pytest.raises(ParseError, match=r"^NIST\.AI\.600-1\.pdf: neither the AI RMF Core tables") as err:
        PARSER.parse("NIST.AI.600-1.pdf", ETSI.read_bytes())
    assert "format 'raw'" in err.value.hint


def test_samples_are_reproduced_by_their_generator() -> None:
    pytest.importorskip("reportlab")
    spec = importlib.util.spec_from_file_location("nist_samples", SAMPLES / "nist_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for built, committed in ((module.ai_100_1(), AI_100_1), (module.ai_600_1(), AI_600_1)):
        fresh = [page.extract_text() for page in PdfReader(io.BytesIO(built)).pages]
        assert fresh == [page.extract_text() for page in PdfReader(committed).pages], committed.name


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_show_prints_one_key_for_an_action_from_the_pdf_and_from_the_rendition(db_env: Engine) -> None:
    _cli("ingest", str(AI_600_1), "--source", "nist-ai-600-1", "--version", "2024-07")
    _cli("ingest", str(RENDITION), "--source", "nist-ai-600-1", "--version", "2024-07-library")
    from_pdf = _cli("show", "nist-ai-600-1", "2024-07", "GV-1.1-001").splitlines()
    from_yaml = _cli("show", "nist-ai-600-1", "2024-07-library", "gv-1.1-001").splitlines()
    assert from_pdf[0].startswith("GV-1.1-001") and from_yaml[0].startswith("GV-1.1-001")
    key = [line for line in from_pdf if "key:" in line]
    assert key and key[0].endswith("key: GV-1.1-1")
    assert [line.split("key:")[1] for line in from_yaml if "key:" in line] == [" GV-1.1-1"]
    assert from_pdf[-1] == from_yaml[-1]  # the same statement, read from either rendition
