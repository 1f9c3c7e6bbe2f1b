"""EUR-Lex act HTML (tracker.sources.parsers.eurlex) on hand-written pages in the Official Journal
layout: structure and identifiers as EU law cites them, what is text and what is noise, and
the diff of a corrected printing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.diff import diff_versions
from tracker.diff.types import Kind, Tag
from tracker.domain.errors import ParseError
from tracker.domain.model import ParsedVersion, Strength
from tracker.sources.formats import assemble, detect, parse_document
from tracker.sources.parsers.eurlex import PARSER

FIXTURES = Path(__file__).parent / "fixtures" / "eurlex"


def _version(name: str) -> ParsedVersion:
    return assemble([(name, parse_document(name, (FIXTURES / name).read_bytes()))])


def test_structure_and_identifiers() -> None:
    doc = parse_document("act-v1.html", (FIXTURES / "act-v1.html").read_bytes())
    assert doc.format == "eurlex-html"
    assert doc.title.startswith("REGULATION (EU) 2099/1 OF THE EUROPEAN PARLIAMENT") and "2099" in doc.title
    reqs = {r.ident: r for r in doc.requirements}
    assert list(reqs) == [
        "Recitals", "Recital 1", "Recital 2", "Recital 3",
        "Chapter I", "Article 1", "Article 1(1)", "Article 1(2)",
        "Article 2", "Article 2, point (1)", "Article 2, point (2)",
        "Chapter II", "Chapter II, Section 1", "Article 3", "Article 3(1)",
        "Article 3(1)(a)", "Article 3(1)(b)", "Article 3(1)(b)(i)", "Article 3(1)(b)(ii)", "Article 3(2)",
        "Annex I", "Annex I, point 1", "Annex I, point 1(a)", "Annex I, point 2",
        "Annex II", "Annex II, Section A", "Annex II, Section A, point 1", "Annex II, Section A, point 2",
        "Annex II, Section B", "Annex II, Section B, point 1",
    ]  # fmt: skip
    assert (reqs["Chapter II"].title, reqs["Chapter II, Section 1"].title) == (
        "OBLIGATIONS OF PROVIDERS",
        "Safeguards",
    )
    assert reqs["Article 3"].title == "Safeguards against misuse" and reqs["Article 3"].kind == "article"
    assert reqs["Article 3"].parent == reqs["Chapter II, Section 1"].key
    assert reqs["Article 3(1)(b)(ii)"].parent == reqs["Article 3(1)(b)"].key
    assert reqs["Article 3(1)(b)(ii)"].key == "ARTICLE3.1.B.II"
    assert reqs["Article 2, point (1)"].parent == reqs["Article 2"].key
    # a paragraph keeps its lead-in and the subparagraph after its points; a point its own text
    assert reqs["Article 3(1)"].statement == (
        "Providers shall implement the following safeguards:\n"
        "Point (b) of the first subparagraph is without prejudice to Regulation (EU) 2016/679."
    )
    assert reqs["Article 3(1)(b)"].statement == "filtering of outputs, in particular:"
    assert [o.strength for o in reqs["Article 3(2)"].obligations] == [Strength.SHOULD]
    # recitals give reasons: guidance, never statement; footnote references are gone
    assert reqs["Recital 2"].statement == ""
    assert reqs["Recital 2"].guidance == (
        "Personal data should be processed in accordance with Regulation (EU) 2016/679."
    )
    # the closing formula and the footnotes are text of no provision
    text = " ".join(r.statement + r.guidance for r in doc.requirements)
    assert "Done at Brussels" not in text and "binding in its entirety" not in text and "OJ L 119" not in text
    assert reqs["Annex I"].title == "Technical documentation referred to in Article 3"
    assert reqs["Annex I"].statement.startswith("The technical documentation shall contain")
    # points restart in each section of an annex, so a section is part of their identifier
    assert reqs["Annex II, Section B"].title == "Information to be submitted by deployers"
    assert reqs["Annex II, Section B, point 1"].statement == "The name of the deployer."
    assert reqs["Annex II, Section B, point 1"].parent == reqs["Annex II, Section B"].key


def test_a_corrected_printing_diffs_provision_by_provision() -> None:
    result = diff_versions(_version("act-v1.html"), _version("act-v2.html"))
    changed = {(c.old_ids, c.new_ids): c for c in result.changes if c.kind is not Kind.UNCHANGED}
    assert set(changed) == {
        (("Recital 3",), ("Recital 3",)),
        (("Article 1(1)",), ("Article 1(1)",)),
        (("Article 3(1)(b)(ii)",), ("Article 3(1)(b)(ii)",)),
        ((), ("Article 3(1)(c)",)),
        (("Article 3(2)",), ("Article 3(2)",)),
        (("Annex I, point 2",), ()),
    }  # the renumbered footnote of Recital 2 is no change at all
    recital = changed[(("Recital 3",), ("Recital 3",))]
    assert recital.substantive is False and recital.tags == (Tag.GUIDANCE_ONLY,)
    assert changed[(("Article 1(1)",), ("Article 1(1)",))].substantive is False  # hyphenation
    assert changed[(("Article 3(1)(b)(ii)",), ("Article 3(1)(b)(ii)",))].substantive is True
    strengthened = changed[(("Article 3(2)",), ("Article 3(2)",))]
    assert strengthened.substantive is True and Tag.OBLIGATION_STRENGTHENED in strengthened.tags
    assert changed[((), ("Article 3(1)(c)",))].kind is Kind.ADDED
    assert changed[(("Annex I, point 2",), ())].kind is Kind.REMOVED


def test_older_pages_without_eli_anchors() -> None:
    page = b"""<html><head><meta name="DC.publisher" content="eur-lex.europa.eu"></head><body>
<p class="doc-ti">COMMISSION REGULATION (EC) No 1/2003</p>
<p class="ti-art">Article 1</p><p class="sti-art">Scope</p>
<p class="normal">1. This Regulation applies to sample undertakings.</p>
<p class="normal">2. Member States shall ensure:</p>
<table><tr><td><p class="normal">(a)</p></td><td><p class="normal">sample checks;</p></td></tr></table>
<p class="ti-art">Article 2</p>
<p class="normal">This Regulation shall enter into force on the twentieth day.</p>
</body></html>"""
    assert detect("old.html", page) is PARSER
    reqs = {r.ident: r for r in parse_document("old.html", page).requirements}
    assert list(reqs) == ["Article 1", "Article 1(1)", "Article 1(2)", "Article 1(2)(a)", "Article 2"]
    assert reqs["Article 1"].title == "Scope"
    assert reqs["Article 2"].statement == "This Regulation shall enter into force on the twentieth day."


def test_pages_that_are_not_an_act_are_refused_clearly() -> None:
    landing = (
        b'<html><body><p class="oj-ti-art-x">Search results</p><p>Article 5 of the AI Act</p></body></html>'
    )
    with pytest.raises(ParseError) as err:
        PARSER.parse("landing.html", landing)
    assert "landing.html" in str(err.value) and "no article headings" in str(err.value)
    assert "legal-content/EN/TXT/HTML/?uri=CELEX:" in err.value.hint
    govuk = b"<!DOCTYPE html><html><body><div class='govspeak'><h2>Principle 1</h2></div></body></html>"
    assert PARSER.sniff("page.html", govuk) == 0
