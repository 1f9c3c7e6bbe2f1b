"""GOV.UK publication HTML and Content API JSON: principles, numbered provisions, applicability."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.modality import strongest
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement, Strength
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.govuk_content_api import PARSER as API
from tracker.sources.parsers.govuk_html import PARSER as HTML
from tracker.sources.parsing.provisions import applies_to, is_guidance_marker, is_normative

GOVUK = Path(__file__).parent / "fixtures" / "govuk"
LEAKS: tuple[str, ...] = (
    "cookies",
    "Crown copyright",
    "Skip to main content",
    "Is this page useful",
    "Contents",
)
LEAKS += ("introduction", "Glossary", "Developers may also be", "test fixture", "Print this page")
FINAL_IDENTS = [
    "Principle 1", "1.1", "1.1.1", "1.2",
    "Principle 2", "2.1", "2.2",
    "Principle 3", "3.1", "3.2", "3.3",
    "Principle 4", "4.1", "4.2",
    "Principle 5", "5.1", "5.1.1",
]  # fmt: skip


def _parse(name: str) -> ParsedDocument:
    data = (GOVUK / name).read_bytes()
    parser = API if name.endswith(".json") else HTML
    return _finish(parser.parse(name, data))


def _by_ident(doc: ParsedDocument) -> dict[str, Requirement]:
    return {r.ident: r for r in doc.requirements}


@pytest.fixture(scope="module")
def final() -> ParsedDocument:
    return _parse("final_2025.html")


@pytest.fixture(scope="module")
def draft() -> ParsedDocument:
    return _parse("draft_2024.html")


def test_sniff_claims_govuk_pages_and_content_items_only() -> None:
    page = (GOVUK / "final_2025.html").read_bytes()
    item = (GOVUK / "content_api_final_2025.json").read_bytes()
    assert HTML.sniff("final_2025.html", page) == 90
    assert API.sniff("item.json", item) == 95
    assert HTML.sniff("item.json", item) == 0
    assert API.sniff("final_2025.html", page) == 0
    plain = b"<!DOCTYPE html><html><body><p>Opening hours</p></body></html>"
    assert HTML.sniff("page.html", plain) == 0
    numbered = b"<!doctype html><html><body><p>4.1 Staff shall lock screens.</p></body></html>"
    assert 0 < HTML.sniff("page.html", numbered) < 50  # a weak fallback, never over a real format
    assert HTML.sniff("x.pdf", b"%PDF-1.7\n") == 0
    assert API.sniff("x.json", b'{"base_path": "/a", "details": {"body": ') == 40  # ours, but truncated
    assert API.sniff("x.json", b'{"catalog": {"uuid": "1"}}') == 0


def test_page_metadata(final: ParsedDocument, draft: ParsedDocument) -> None:
    assert final.title == "Code of Practice for the Cyber Security of AI (fixture)"
    assert final.role is DocumentRole.CATALOG
    assert final.format == "govuk-html"
    assert final.published == date(2025, 1, 31)  # govuk:public-updated-at
    assert draft.title == "Draft AI Cyber Security Code of Practice (fixture)"
    assert draft.published == date(2024, 5, 15)  # no meta tags: the "Published ..." line


def test_tree_idents_and_parents(final: ParsedDocument) -> None:
    assert [r.ident for r in final.requirements] == FINAL_IDENTS
    reqs = _by_ident(final)
    assert reqs["Principle 5"].key == "PRINCIPLE5"
    assert reqs["Principle 5"].kind == "principle"
    assert reqs["Principle 5"].title == "Dispose of data and models securely"
    assert (reqs["Principle 5"].parent, reqs["Principle 5"].depth) == (None, 0)
    assert (reqs["5.1"].kind, reqs["5.1"].parent, reqs["5.1"].depth) == ("provision", "PRINCIPLE5", 1)
    assert (reqs["5.1.1"].parent, reqs["5.1.1"].depth) == ("5.1", 2)
    assert reqs["1.2"].parent == "PRINCIPLE1"
    assert [r.order for r in final.requirements] == list(range(len(FINAL_IDENTS)))


def test_statement_guidance_and_headings(final: ParsedDocument) -> None:
    reqs = _by_ident(final)
    p2 = reqs["Principle 2"]
    assert p2.statement == ""
    assert p2.guidance.startswith("Threat modelling shows where an attacker")
    assert "Implementation guidance\n\nA threat model can be a short document" in p2.guidance
    assert reqs["2.2"].statement == (
        "System Operators should review the threat model when the system changes. The review should cover:\n"
        "- new data sources;\n"
        "- new integrations with other systems."
    )
    assert reqs["3.3"].statement == "Data Custodians should check the provenance of training data before use."
    assert reqs["3.3"].guidance == "Note: provenance records may come from the data supplier."
    assert (reqs["4.1"].title, reqs["4.1"].statement) == (
        "Assessing third-party components",
        "Developers shall assess third-party models and libraries before use.",
    )
    assert reqs["Principle 3"].prop("section") == "Secure development"
    assert reqs["Principle 5"].prop("section") == "Secure end of life"


def test_page_furniture_front_and_end_matter_are_not_requirements(final: ParsedDocument) -> None:
    text = "\n".join(f"{r.title}\n{r.statement}\n{r.guidance}" for r in final.requirements)
    for leaked in LEAKS:
        assert leaked not in text, leaked
    assert len(final.requirements) == len({r.key for r in final.requirements})  # contents list not read twice


def test_applicability_is_canonical_and_inherited(final: ParsedDocument) -> None:
    reqs = _by_ident(final)
    assert reqs["Principle 1"].prop("applies_to") == "Developers, System Operators"
    assert reqs["1.1.1"].prop("applies_to") == "Developers, System Operators"
    assert reqs["Principle 5"].prop("applies_to") == "Data Custodians, Developers, System Operators"
    assert applies_to("Primarily applies to: System Operators, Developers, and Data Custodians") == (
        applies_to("applies to: data custodian & the developer and system operator.")
    )
    assert applies_to("Applies to: Developers and/or End-users") == "Developers, End Users"
    assert applies_to("This principle applies to developers.") is None  # prose, not a scope line


def test_obligations_come_from_statements(final: ParsedDocument) -> None:
    reqs = _by_ident(final)
    assert [o.modal for o in reqs["2.2"].obligations] == ["should", "should"]
    assert reqs["Principle 2"].obligations == ()  # guidance never carries obligations
    assert strongest(reqs["5.1"].obligations) is Strength.MUST


def test_draft_to_final_changes_are_visible(draft: ParsedDocument, final: ParsedDocument) -> None:
    old, new = _by_ident(draft), _by_ident(final)
    assert set(new) - set(old) == {"3.3", "Principle 5", "5.1", "5.1.1"}
    assert strongest(old["1.1.1"].obligations) is Strength.SHOULD
    assert strongest(new["1.1.1"].obligations) is Strength.MUST
    assert old["3.2"].statement == new["3.3"].statement  # renumbered, same words
    assert old["3.2"].statement != new["3.2"].statement
    assert old["Principle 4"].prop("applies_to") == "Developers"
    assert new["Principle 4"].prop("applies_to") == "Developers, System Operators"
    assert new["4.2"].prop("applies_to") == "Developers, System Operators"  # scope change reaches provisions
    assert old["2.1"] == new["2.1"]


def test_content_api_item_reads_like_the_page(final: ParsedDocument) -> None:
    item = _parse("content_api_final_2025.json")
    assert item.format == "govuk-content-api"
    assert item.title == final.title
    assert item.published == date(2025, 1, 31)
    assert item.requirements == final.requirements


def test_assemble_one_version(final: ParsedDocument) -> None:
    version = assemble([("final_2025.html", final)], "coP/2025")
    assert len(version.requirements) == len(FINAL_IDENTS)
    assert version.published == date(2025, 1, 31)
    assert version.parser == "govuk-html"


def test_generic_numbered_html_without_principles() -> None:
    page = b"""<!DOCTYPE html><html><head><title>Policy</title></head><body>
    <nav><p>1.1 Menu item</p></nav>
    <main><h1>Acceptable use</h1>
      <h2>4 Devices</h2>
      <p>4.1 Staff shall lock their screens.</p>
      <ol><li>4.1.1 Screens should lock after five minutes.</li><li>4.1.2 Kiosks may be exempt.</li></ol>
      <p><!-- a comment 9.9 -->Locking protects<br>unattended sessions.</p>
      <h2>Contact</h2><p>Write to the service desk.</p>
    </main><footer><p>2.2 Footer</p></footer></body></html>"""
    doc = _finish(HTML.parse("policy.html", page))
    assert [(r.ident, r.parent) for r in doc.requirements] == [
        ("4.1", None),
        ("4.1.1", "4.1"),
        ("4.1.2", "4.1"),
    ]
    assert doc.requirements[2].statement == "Kiosks may be exempt."
    assert doc.requirements[2].guidance == "Locking protects unattended sessions."
    assert doc.title == "Policy"
    assert doc.published is None


def test_auto_numbered_headings_and_a_body_in_two_parts() -> None:
    page = b"""<html><head><meta name="govuk:format" content="html_publication"></head><body>
    <div class="gem-c-govspeak govuk-govspeak"><div class="govspeak"><h2>3. Principles</h2>
    <h3>3.1 Principle 1: Train staff</h3><p>1.1 Staff shall be trained.</p></div></div>
    <aside><p>1.2 Related content</p></aside>
    <div class="govspeak"><h3>3.2 Principle 2: Log access</h3><p>2.1 Operators should keep logs.</p></div>
    </body></html>"""
    doc = _finish(HTML.parse("auto.html", page))
    assert [(r.ident, r.parent, r.title) for r in doc.requirements] == [
        ("Principle 1", None, "Train staff"),
        ("1.1", "PRINCIPLE1", ""),
        ("Principle 2", None, "Log access"),
        ("2.1", "PRINCIPLE2", ""),
    ]


def test_repeated_number_is_kept_with_a_distinct_key() -> None:
    page = b"""<html><body><div class="govspeak"><h3>Principle 1: Train</h3>
    <p>1.1 Staff shall be trained.</p><p>1.1 Staff should be retrained yearly.</p></div></body></html>"""
    doc = _finish(HTML.parse("dup.html", page))
    assert [(r.ident, r.key) for r in doc.requirements] == [
        ("Principle 1", "PRINCIPLE1"),
        ("1.1", "1.1"),
        ("1.1", "1.1#2"),
    ]


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"landing\.html: no principles or numbered provisions"):
        HTML.parse(
            "landing.html",
            b'<html><body><div class="govspeak"><p>See the attachments.</p></div></body></html>',
        )
    item = (GOVUK / "content_api_final_2025.json").read_bytes()
    with pytest.raises(ParseError, match=r"item\.json: invalid JSON at line \d+"):
        API.parse("item.json", item[: len(item) // 2])
    parent = {"base_path": "/government/publications/x", "title": "X", "details": {"documents": []}}
    with pytest.raises(ParseError, match=r"parent\.json: content item '/government/publications/x' has no"):
        API.parse("parent.json", json.dumps(parent).encode())
    broken = json.loads(item)
    broken["details"]["change_history"] = "First published."
    with pytest.raises(ParseError, match="change_history must be a list"):
        API.parse("item.json", json.dumps(broken).encode())
    with pytest.raises(ParseError, match="must be a JSON object"):
        API.parse("list.json", b'["base_path", "details"]')


def test_content_api_falls_back_to_change_history_for_the_date() -> None:
    item = json.loads((GOVUK / "content_api_final_2025.json").read_bytes())
    del item["public_updated_at"]
    item["details"]["change_history"].append(
        {"note": "Typo fixed.", "public_timestamp": "2025-03-04T10:00:00Z"}
    )
    doc = API.parse("item.json", json.dumps(item).encode())
    assert doc.published == date(2025, 3, 4)


@pytest.mark.parametrize(
    ("text", "guidance"),
    [
        ("NOTE: Developers should log.", True),
        ("NOTE 2 Developers should log.", True),
        ("EXAMPLE: a bank should log.", True),
        ("Note: logs should be kept.", True),
        ("For example, logs should be kept.", True),
        ("Notes should be kept.", False),
        ("Developers should log.", False),
    ],
)
def test_guidance_markers(text: str, guidance: bool) -> None:
    assert is_guidance_marker(text) is guidance
    assert is_normative(text) is not guidance
