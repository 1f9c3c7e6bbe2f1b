"""ETSI-style PDFs: clauses, provisions, running headers, contents, front matter, bad files."""

from __future__ import annotations

import importlib.util
import io
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pypdf import PageObject, PdfReader, PdfWriter
from reportlab.pdfgen import canvas  # a dev dependency: missing is a failure, never a skip

from tracker.domain.errors import ParseError
from tracker.domain.modality import strongest
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement, Strength
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.etsi_pdf import PARSER

ETSI = Path(__file__).parent / "fixtures" / "etsi"
V111 = ETSI / "etsi_ts_104223_V111.pdf"
V121 = ETSI / "etsi_ts_104223_V121.pdf"
LEAKS: tuple[str, ...] = (
    "ETSI",
    "V1.1.1",
    "....",
    "Contents",
    "Intellectual Property",
    "Foreword",
    "Modal verbs",
)
LEAKS += ("need not", "Publication", "History", "TECHNICAL SPECIFICATION", "fixture")
V111_IDENTS = [
    "1", "2", "2.1", "2.2", "3", "3.1", "3.2", "4",
    "5", "5.1", "5.1.1", "5.1.2", "5.1.2.1", "5.1.2.2",
    "5.2", "5.2-1", "5.2-1.1", "5.2-2", "5.3", "5.3.1",
    "Annex A", "A.1",
]  # fmt: skip


def _parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(path.name, path.read_bytes()))


def _by_ident(doc: ParsedDocument) -> dict[str, Requirement]:
    return {r.ident: r for r in doc.requirements}


def _all_text(doc: ParsedDocument) -> str:
    return "\n".join(f"{r.title}\n{r.statement}\n{r.guidance}" for r in doc.requirements)


@pytest.fixture(scope="module")
def v1() -> ParsedDocument:
    return _parse(V111)


@pytest.fixture(scope="module")
def v2() -> ParsedDocument:
    return _parse(V121)


def test_sniff() -> None:
    assert PARSER.sniff("a.pdf", V111.read_bytes()) >= 60
    assert PARSER.sniff("a.pdf", b"<!DOCTYPE html><html><body>%PDF-1.7 Access denied</body></html>") == 0
    assert PARSER.sniff("a.pdf", b"\n  <html><head><title>404</title></head></html>") == 0
    assert PARSER.sniff("a.json", b'{"catalog": {}}') == 0


def test_identity_from_the_title_page(v1: ParsedDocument, v2: ParsedDocument) -> None:
    assert v1.title == (
        "ETSI TS 104 223: Securing Artificial Intelligence (SAI); "
        "Baseline Cyber Security Requirements for AI Models and Systems"
    )
    assert (v1.version_hint, v1.published) == ("V1.1.1", date(2025, 4, 1))
    assert (v2.version_hint, v2.published) == ("V1.2.1", date(2025, 11, 1))
    assert v1.role is DocumentRole.CATALOG
    assert v1.format == "etsi-pdf"


def test_clause_tree(v1: ParsedDocument) -> None:
    assert [r.ident for r in v1.requirements] == V111_IDENTS
    reqs = _by_ident(v1)
    assert (reqs["5.1.2.1"].parent, reqs["5.1.2.1"].depth, reqs["5.1.2.1"].kind) == ("5.1.2", 3, "clause")
    assert reqs["5.1.2.1"].title == "Review triggers"
    assert (reqs["5.2-1"].parent, reqs["5.2-1"].kind, reqs["5.2-1"].depth) == ("5.2", "provision", 2)
    assert reqs["5.2-1.1"].parent == "5.2-1"
    assert (reqs["Annex A"].key, reqs["Annex A"].kind, reqs["Annex A"].title) == (
        "ANNEXA",
        "annex",
        "Mapping notes",
    )
    assert reqs["A.1"].parent == "ANNEXA"
    assert reqs["1"].parent is None


def test_statement_versus_guidance(v1: ParsedDocument) -> None:
    reqs = _by_ident(v1)
    assert reqs["5.1.1"].statement.startswith("Developers and system operators should give staff")
    assert reqs["5.1.1"].guidance == (
        "NOTE: Training can draw on published threat catalogues and on incidents seen within the "
        "organization."
    )
    assert reqs["5.1.2.2"].guidance.startswith("EXAMPLE: A developer accepts the risk")
    assert reqs["5.2"].statement == ""
    assert reqs["5.2"].guidance == "This clause covers the protection of assets during model development."
    assert reqs["5.2-1"].statement == (
        "Developers shall keep an inventory of models, datasets and prompts, including their provenance."
    )
    assert reqs["5.2-1"].guidance == "NOTE: An inventory can be generated from the build pipeline."
    assert reqs["5.3.1"].statement.endswith(
        "The disclosure should cover:\n- the purpose of processing;\n- the retention period."
    )
    # "may" in definitions and in an informative annex describes; it does not permit
    assert "may expose it" in reqs["3.1"].guidance and reqs["3.1"].statement == ""
    assert "may cite either" in reqs["A.1"].guidance and reqs["A.1"].obligations == ()
    assert reqs["1"].statement == "" and reqs["1"].guidance.startswith("The present document sets out")


def test_paragraph_split_by_a_page_break_is_whole(v1: ParsedDocument) -> None:
    assert _by_ident(v1)["5.1.2"].statement == (
        "System operators shall maintain a threat model for each AI system that covers the data, model and "
        "interface attack surfaces, and shall keep it with the system's design records."
    )


def test_headers_footers_contents_front_matter_and_history_do_not_leak(v1: ParsedDocument) -> None:
    text = _all_text(v1)
    for leaked in LEAKS:
        assert leaked not in text, leaked
    assert not any(line.strip().isdigit() for line in text.splitlines())  # page numbers


def test_obligations_and_applicability(v1: ParsedDocument, v2: ParsedDocument) -> None:
    old, new = _by_ident(v1), _by_ident(v2)
    assert [o.modal for o in old["5.1.2"].obligations] == ["shall", "shall"]
    assert [o.modal for o in old["5.3.1"].obligations] == ["shall", "should"]
    assert old["5.1.2"].prop("applies_to") == "System Operators"
    assert old["5.1.2.2"].prop("applies_to") == "System Operators"  # inherited from its clause
    assert new["5.1.2.2"].prop("applies_to") == "Developers, System Operators"
    assert old["5.1.1"].prop("applies_to") == ""


def test_version_differences(v1: ParsedDocument, v2: ParsedDocument) -> None:
    old, new = _by_ident(v1), _by_ident(v2)
    assert set(new) - set(old) == {"5.2-3", "5.3.2"}
    assert set(old) - set(new) == {"5.2-2"}
    assert strongest(old["5.1.1"].obligations) is Strength.SHOULD
    assert strongest(new["5.1.1"].obligations) is Strength.MUST
    assert old["5.2-1"] == new["5.2-1"]
    version = assemble([(V121.name, v2)], "etsi/V1.2.1")
    assert version.version_hint == "V1.2.1"
    assert len(version.requirements) == len(v2.requirements)


def test_scanned_pdf_needs_ocr() -> None:
    with pytest.raises(ParseError, match=r"^scanned\.pdf: no text layer; OCR the document first"):
        PARSER.parse("scanned.pdf", (ETSI / "scanned.pdf").read_bytes())


def _encrypt(user: str, owner: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(V111))
    writer.encrypt(user, owner, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf() -> None:
    with pytest.raises(ParseError, match=r"^locked\.pdf: the PDF is encrypted"):
        PARSER.parse("locked.pdf", _encrypt("secret", "owner"))
    # an owner password alone (no user password) only restricts printing and copying: readable
    doc = PARSER.parse("restricted.pdf", _encrypt("", "owner"))
    assert len(doc.requirements) == len(V111_IDENTS)


@pytest.mark.parametrize(
    "data",
    [
        V111.read_bytes()[:3000],
        V111.read_bytes()[:-300],
        b"%PDF-1.4\n" + bytes(range(256)) * 8,
        b"%PDF-1.4\n",
    ],
    ids=["truncated", "no-trailer", "garbage", "header-only"],
)
def test_corrupt_pdf(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^bad\.pdf: corrupt or unreadable PDF"):
        PARSER.parse("bad.pdf", data)


def test_html_saved_as_pdf() -> None:
    with pytest.raises(ParseError, match=r"^x\.pdf: this is an HTML or XML page, not a PDF"):
        PARSER.parse("x.pdf", b"<!DOCTYPE html>\n<html><body>Please log in</body></html>")
    with pytest.raises(ParseError, match=r"^y\.pdf: not a PDF"):
        PARSER.parse("y.pdf", b"PK\x03\x04 a zip file")


def test_pdf_without_pages() -> None:
    out = io.BytesIO()
    PdfWriter().write(out)
    with pytest.raises(ParseError, match=r"^empty\.pdf: the PDF has no pages"):
        PARSER.parse("empty.pdf", out.getvalue())


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_etsi_fixtures", ETSI / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reproduces_the_committed_fixtures() -> None:
    outputs = _generator().outputs()
    assert sorted(outputs) == sorted(p.name for p in ETSI.glob("*.pdf"))
    for name, data in outputs.items():
        fresh = [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
        committed = [page.extract_text() for page in PdfReader(ETSI / name).pages]
        assert fresh == committed, name


def _pdf(*pages: list[str], title: str = "") -> bytes:
    """A plain PDF with one line of text per entry ("" leaves a gap)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, invariant=1)
    if title:
        pdf.setTitle(title)
    for lines in pages:
        for i, line in enumerate(lines):
            pdf.drawString(72, 760 - 14 * i, line)
        pdf.showPage()
    pdf.save()
    return bytes(out.getvalue())


def test_pdf_without_numbered_clauses() -> None:
    with pytest.raises(ParseError, match=r"^minutes\.pdf: no numbered clauses"):
        PARSER.parse("minutes.pdf", _pdf(["Minutes of the meeting held on Tuesday."]))


def test_generic_clause_pdf_and_numbers_inside_sentences() -> None:
    data = _pdf(
        ["1 Scope", "This policy covers laptops.", "", "2 Requirements",
         "Staff shall encrypt disks and shall", "2 Factor authentication is used for",
         "remote access; accounts should be role-", "based.", "",
         "3 Exceptions", "Exceptions may be granted by the CISO."],
        title="Laptop policy",
    )  # fmt: skip
    doc = _finish(PARSER.parse("policy.pdf", data))
    assert (doc.title, doc.version_hint, doc.published) == ("Laptop policy", "", None)
    assert [r.ident for r in doc.requirements] == ["1", "2", "3"]
    assert _by_ident(doc)["2"].statement == (
        "Staff shall encrypt disks and shall 2 Factor authentication is used for remote access; "
        "accounts should be role-based."
    )


def test_contents_without_dot_leaders_is_discarded() -> None:
    toc = [
        "Contents",
        "",
        "1 Scope 3",
        "2 Provisions 3",
        "2.1 Logging 3",
        "",
        "Foreword",
        "Written for tests.",
    ]
    body = ["1 Scope", "This document covers logging.", "", "2 Provisions", "", "2.1 Logging",
            "Operators shall keep logs for a year."]  # fmt: skip
    doc = _finish(PARSER.parse("toc.pdf", _pdf(toc, body)))
    assert [(r.ident, r.title) for r in doc.requirements] == [
        ("1", "Scope"),
        ("2", "Provisions"),
        ("2.1", "Logging"),
    ]
    assert "Written for tests" not in _all_text(doc)


def test_plain_text_fallback_when_layout_extraction_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    original = PageObject.extract_text

    def no_layout(self: PageObject, *args: Any, **kwargs: Any) -> str:
        if kwargs.get("extraction_mode") == "layout":
            raise ValueError("font without widths")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PageObject, "extract_text", no_layout)
    doc = _parse(V111)
    assert [r.ident for r in doc.requirements] == V111_IDENTS
    assert "ETSI" not in _all_text(doc)
    assert _by_ident(doc)["5.1.1"].guidance.startswith("NOTE: Training can draw")


FAULTS = ETSI / "etsi_en_304223_faults.pdf"


@pytest.fixture(scope="module")
def faults() -> ParsedDocument:
    return _parse(FAULTS)


def test_numbering_gaps_cost_only_the_missing_clauses(faults: ParsedDocument) -> None:
    # "5", "3.2", "5.1.2" and "6" are never printed: each clause hangs under its nearest
    # printed ancestor and nothing after a gap falls under an earlier clause
    assert [(r.ident, r.parent) for r in faults.requirements] == [
        ("1", None), ("2", None), ("3", None), ("3.1", "3"), ("3.3", "3"), ("4", None),
        ("5.1", None), ("5.1.1", "5.1"), ("5.1.1-1", "5.1.1"), ("5.1.1-2", "5.1.1"),
        ("5.1.3", "5.1"), ("5.1.3-1", "5.1.3"), ("5.2", None), ("5.2-1", "5.2"),
        ("7", None), ("7-1", "7"), ("Annex A", None), ("A.1", "ANNEXA"),
    ]  # fmt: skip
    assert (faults.version_hint, faults.published) == ("V2.1.1", date(2025, 12, 1))


def test_stakeholder_tags_become_roles(faults: ParsedDocument) -> None:
    reqs = _by_ident(faults)
    assert reqs["5.1.1-1"].roles == ("Developers", "System Operators")
    assert reqs["5.1.1-1"].statement == (
        "Each organization shall give its staff role-specific training on threats to AI systems."
    )  # the tag left the text; "organiza-tion" rejoined, the compound "role-specific" kept
    assert reqs["5.1.1-2"].roles == ("System Operators",)  # the bare "5.1.1-2 [...]:" form
    assert reqs["5.1.1-2"].statement.startswith("Training should be repeated")
    assert reqs["7-1"].prop("applies_to") == "Data Custodians, Developers"
    assert reqs["5.1.1"].roles == ("Data Custodians", "Developers", "System Operators")
    assert not any("[" in r.statement for r in faults.requirements)


def test_provision_split_by_a_page_break_keeps_its_tag_and_text(faults: ParsedDocument) -> None:
    provision = _by_ident(faults)["5.1.3-1"]
    assert provision.roles == ("Data Custodians",)
    assert provision.statement == (
        "Data custodians shall record where each training dataset came from, who may change it and "
        "how its integrity is checked before every training run."
    )


def test_two_column_tables_read_row_by_row(faults: ParsedDocument) -> None:
    reqs = _by_ident(faults)
    assert reqs["3.3"].guidance.split("\n\n") == [
        "AI: Artificial Intelligence",
        "ML: Machine Learning",
        "SBOM: Software Bill of Materials, listing the components of a system and their origin",
    ]
    rows = reqs["4"].guidance.split("\n\n")
    assert rows[2] == (
        "System Operators: Any organization that embeds or deploys an AI model or system within its "
        "infrastructure and makes it available to end-users through an interface."
    )
    heads = ["Stakeholder", "Developers", "System Operators", "Data Custodians"]
    assert [row.split(":")[0] for row in rows] == heads


def test_annex_title_on_the_line_below(faults: ParsedDocument) -> None:
    annex = _by_ident(faults)["Annex A"]
    assert (annex.title, annex.kind) == ("Mapping notes", "annex")
    assert "Mapping notes" not in annex.guidance
    text = _all_text(faults)
    for leaked in ("ETSI", "V2.1.1", "History", "Publication", "Foreword"):
        assert leaked not in text, leaked


def test_a_stray_numbered_line_does_not_displace_later_clauses() -> None:
    body = ["1 Scope", "This policy covers links.", "", "2 Links", "Links shall be encrypted at",
            "", "7 Mbit Or faster links are exempt", "", "3 Exceptions",
            "Exceptions may be granted.", "", "4 Review", "The policy is reviewed yearly."]  # fmt: skip
    doc = _finish(PARSER.parse("links.pdf", _pdf(body)))
    assert [r.ident for r in doc.requirements] == ["1", "2", "3", "4"]
