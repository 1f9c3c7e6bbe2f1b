"""Any guidance page read as an outline (tracker.sources.parsers.html_outline): sections from headings,
page furniture dropped, and a diff that shows which section changed and how."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.diff import diff_versions
from tracker.diff.types import Kind, Tag
from tracker.domain.errors import ParseError
from tracker.domain.model import ParsedDocument, ParsedVersion
from tracker.sources.formats import _finish, assemble, detect, parse_document
from tracker.sources.parsers.html_outline import PARSER

FIXTURES = Path(__file__).parent / "fixtures" / "outline"


def _doc(name: str) -> ParsedDocument:
    """Parsed as the registry's ``format = "html-outline"`` would (no detection)."""
    return _finish(PARSER.parse(name, (FIXTURES / name).read_bytes()))


def _version(name: str) -> ParsedVersion:
    return assemble([(name, _doc(name))])


def test_sections_from_headings_without_the_page_furniture() -> None:
    doc = _doc("guide-v1.html")
    assert doc.format == "html-outline" and doc.title == "Secure model deployment"
    reqs = {r.ident: r for r in doc.requirements}
    assert list(reqs) == [
        "Introduction",
        "1",
        "1.1",
        "1.2",
        "2",
        "Further reading",
        "3",
        "Further reading (2)",
    ]  # fmt: skip  (cookie banner, navigation, related content, newsletter and footer are gone)
    assert (reqs["1"].title, reqs["1.1"].title) == ("Secure design", "Threat modelling")
    assert reqs["1.1"].parent == reqs["1"].key and reqs["1"].parent is None
    assert reqs["Further reading (2)"].parent == reqs["3"].key
    assert (
        reqs["Introduction"].statement
        == "This guidance helps operators deploy machine-learning models securely."
    )
    assert reqs["1.1"].statement == (
        "- Model the threats to your system before you build it.\n"
        "- Operators should review the threat model after every major release."
    )
    assert [o.modal for o in reqs["1.1"].obligations] == ["should"]
    text = " ".join(r.statement for r in doc.requirements)
    assert "cookies" not in text.lower() and "Crown copyright" not in text and "Other pages" not in text


def test_a_new_edition_diffs_section_by_section() -> None:
    result = diff_versions(_version("guide-v1.html"), _version("guide-v2.html"))
    changed = {(c.old_ids, c.new_ids): c for c in result.changes if c.kind is not Kind.UNCHANGED}
    assert set(changed) == {
        (("1.1",), ("1.1",)),
        ((), ("1.3",)),
        (("3",), ()),
        (("Further reading (2)",), ()),
    }
    strengthened = changed[(("1.1",), ("1.1",))]
    assert strengthened.substantive is True and Tag.OBLIGATION_STRENGTHENED in strengthened.tags


def test_it_is_the_fallback_and_says_what_it_needs() -> None:
    mirror = Path(__file__).parent.parent / "data" / "mirror" / "www.ncsc.gov.uk"
    page = (mirror / "collection" / "guidelines-secure-ai-system-development" / "index.html").read_bytes()
    assert detect("index.html", page) is PARSER
    assert [r.ident for r in parse_document("index.html", page).requirements][:2] == [
        "Secure design",
        "Secure development",
    ]
    eurlex = (Path(__file__).parent / "fixtures" / "eurlex" / "act-v1.html").read_bytes()
    assert detect("act.html", eurlex).name == "eurlex-html"  # a specific parser wins
    with pytest.raises(ParseError) as err:
        PARSER.parse("flat.html", b"<html><body><main><p>Only a paragraph.</p></main></body></html>")
    assert "flat.html" in str(err.value) and "no section headings" in str(err.value)
    assert "select" in err.value.hint
    assert PARSER.sniff("notes.txt", b"plain text, not HTML") == 0
