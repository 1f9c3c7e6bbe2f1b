"""GOV.UK publication HTML: codes of practice published as "HTML attachments".

The page is the GOV.UK template (cookie banner, header, breadcrumbs, contents list, footer)
around a ``.govspeak`` body; only the body is read. In the body, as in the UK Code of
Practice for the Cyber Security of AI:

* a heading "Principle 5: Secure your infrastructure" opens a principle. Its ident is the
  label as printed, "Principle 5" (key ``PRINCIPLE5``): the Code cites principles that way,
  and a bare "5" would collide with a numbered section in a generic document;
* a paragraph, list item or heading that starts with a dotted number ("5.1", "5.2.1.") is a
  provision; its parent is the nearest shorter number already seen in the same principle
  ("5.2" for "5.2.1"), else the principle. A numbered heading's words are its title and the
  paragraphs under it its text;
* "Primarily applies to: ..." becomes the property ``applies_to`` (see
  :mod:`tracker.sources.parsing.provisions`); the lifecycle phase heading above a principle
  ("Secure design") becomes its property ``section``;
* text under a principle before its first provision (the intro, references) and under an
  unnumbered sub-heading ("Implementation guidance") is the principle's guidance;
* before the first principle and after a heading that closes the principles (same level or
  higher, e.g. "Glossary") nothing is a requirement. A page without principles is read as
  a flat list of numbered provisions.

:func:`parse_body` is shared with the Content API reader (:mod:`.govuk_content_api`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, ParsedDocument
from tracker.sources.parsing.provisions import Node, Tree, applies_to, clean

# An optional leading number is GOV.UK's automatic heading numbering ("5.1 Principle 1: ...").
_PRINCIPLE = re.compile(
    r"^(?:\d{1,3}(?:\.\d{1,3})*\.?\s+)?Principle\s+(?P<num>\d+)\s*(?:[:.\u2013\u2014-]\s*)?(?P<title>.*)$",
    re.IGNORECASE,
)
_PRINCIPLE_PARA = re.compile(r"^Principle\s+\d+\s*:", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<num>\d{1,3}(?:\.\d{1,3}){1,5})\.?(?:\s+|$)(?P<rest>.*)$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = (*_HEADINGS, "p", "li", "tr", "dt", "dd")
# Page furniture around the body: never requirements even when a page has no .govspeak.
_CHROME = re.compile(
    r"cookie|breadcrumb|contents-list|skip-link|feedback|print-link|layout-header|layout-footer"
    r"|super-navigation|related-navigation|share-links|metadata|phase-banner|title__context",
    re.IGNORECASE,
)
_DATE_META = (
    "govuk:public-updated-at",
    "govuk:updated-at",
    "article:modified_time",
    "govuk:first-published-at",
    "article:published_time",
    "dcterms.modified",
    "dc.date",
)
_DATE_TEXT = re.compile(r"\b(?:Published|Updated)\s+(\d{1,2}\s+[A-Z][a-z]+\s+\d{4})")
_MARKERS = (b'class="govspeak', b"govuk-govspeak", b"gem-c-", b'name="govuk:', b"govuk-template")
_PROVISION_BYTES = re.compile(rb">\s*(?:Principle\s+\d+|\d{1,3}\.\d{1,3}(?:\.\d{1,3})*)\.?\s")


@dataclass(frozen=True)
class Block:
    """One heading, paragraph, list item or table row of the body, as plain text."""

    tag: str
    text: str

    @property
    def level(self) -> int:
        return int(self.tag[1]) if self.tag in _HEADINGS else 0


def parse_body(*containers: Tag | BeautifulSoup) -> Tree:
    """Build the requirement tree from the blocks of a govspeak body (one or more parts)."""
    blocks = [block for container in containers for block in _blocks(container)]
    levels = [b.level for b in blocks if b.level and _PRINCIPLE.match(b.text)]
    principle_level = min(levels) if levels else 0
    tree = Tree()
    principle: Node | None = None  # the open principle, if any
    current: Node | None = None  # where paragraphs go
    section = ""
    for block in blocks:
        text = block.text
        head = _PRINCIPLE.match(text)
        if head and (block.level or (not principle_level and _PRINCIPLE_PARA.match(text))):
            principle = current = tree.add(f"Principle {head['num']}", "principle", head["title"])
            if section:
                principle.props["section"] = section
            continue
        scope = applies_to(text)
        if scope and current is not None:
            current.props["applies_to"] = scope
            continue
        numbered = _NUMBERED.match(text)
        if numbered and (principle is not None or not principle_level):
            parent = tree.ancestor(numbered["num"], principle)
            current = tree.add(numbered["num"], "provision", parent=parent)
            rest = numbered["rest"]
            if block.level and rest and len(rest.split()) <= 15 and not rest.rstrip().endswith("."):
                current.title = rest
            elif rest:
                current.add_text(rest)
            continue
        if block.level:
            if principle is not None and principle_level and block.level > principle_level:
                current = principle  # "Implementation guidance" and the like
                current.guidance.append(text)
                current.last = "guidance"
            else:
                principle = current = None
                section = text
            continue
        if current is None:
            continue
        if current is principle:
            current.guidance.append(text)
            current.last = "guidance"
        else:
            current.add_text(text)
    return tree


def _blocks(container: Tag | BeautifulSoup) -> list[Block]:
    out = []
    for tag in container.find_all(_BLOCKS):
        if not isinstance(tag, Tag) or _skipped(tag, container):
            continue
        text = clean(_own_text(tag))
        if not text:
            continue
        if tag.name == "li" and not (_NUMBERED.match(text) or applies_to(text)):
            text = "- " + text
        out.append(Block(tag.name, text))
    return out


def _skipped(tag: Tag, container: Tag | BeautifulSoup) -> bool:
    """Page furniture, or a paragraph already read as part of its list item or table row."""
    for parent in tag.parents:
        if parent is container:
            return False
        if parent.name in ("li", "tr", "dd") and tag.name not in ("li", "tr"):
            return True
        if parent.name in ("nav", "header", "footer", "aside", "form", "script", "style"):
            return True
        classes = " ".join(parent.get_attribute_list("class") or [])
        if _CHROME.search(classes) or parent.get("role") in ("navigation", "banner", "contentinfo"):
            return True
    return False


def _own_text(tag: Tag) -> str:
    """The tag's text without nested lists (their items are blocks of their own)."""
    parts = []
    for piece in tag.descendants:
        if isinstance(piece, Tag) and piece.name == "br":
            parts.append(" ")
        if type(piece) is not NavigableString:  # skips tags, comments, CDATA, doctype
            continue
        nested = False
        for parent in piece.parents:
            if parent is tag:
                break
            if parent.name in ("ul", "ol", "script", "style"):
                nested = True
                break
        if not nested:
            parts.append(str(piece))
    return " ".join(parts) if tag.name == "tr" else "".join(parts)


def parse_iso_date(value: str) -> date | None:
    """A date from an ISO 8601 timestamp or a GOV.UK "31 January 2025"; ``None`` if neither."""
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return datetime.strptime(value, "%d %B %Y").date()
    except ValueError:
        return None


class GovukHtmlParser:
    """GOV.UK publication pages (``.govspeak`` bodies), and numbered-provision HTML as a fallback."""

    name = "govuk-html"
    version = "1"

    def sniff(self, filename: str, data: bytes) -> int:
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        is_html = head.startswith((b"<!doctype html", b"<html")) or (
            filename.lower().endswith((".html", ".htm")) and head.startswith(b"<")
        )
        if not is_html:
            return 0
        window = data[: 4 * 1024 * 1024]
        if any(marker in window for marker in _MARKERS):
            return 90
        return 10 if _PROVISION_BYTES.search(window) else 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        soup = BeautifulSoup(data, "html.parser")
        found = soup.select(".govspeak, .govuk-govspeak, .gem-c-govspeak")
        ids = {id(tag) for tag in found}
        bodies = [tag for tag in found if not any(id(parent) in ids for parent in tag.parents)]
        fallback = soup.find("main") or soup.find("article") or soup.body or soup
        tree = parse_body(*(bodies or [fallback]))
        if not tree.nodes:
            raise ParseError(
                filename,
                "no principles or numbered provisions (such as '5.2.1') found in the page body",
                "check that this is the HTML attachment of the publication, not its landing page",
            )
        return ParsedDocument(
            format=self.name,
            parser_version=self.version,
            role=DocumentRole.CATALOG,
            title=_title(soup),
            requirements=tree.requirements(),
            published=_published(soup),
        )


def _title(soup: BeautifulSoup) -> str:
    if soup.title and soup.title.string:
        title = clean(soup.title.string)
        title = re.sub(r"\s+[-\u2013\u2014|]\s+GOV\.UK$", "", title)
        if title:
            return title
    h1 = soup.find("h1")
    return clean(h1.get_text(" ")) if h1 else ""


def _published(soup: BeautifulSoup) -> date | None:
    """The public update date from the GOV.UK meta tags, else the "Published ..." line."""
    for name in _DATE_META:
        meta = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if isinstance(meta, Tag):
            found = parse_iso_date(str(meta.get("content") or ""))
            if found:
                return found
    header = soup.select_one(".publication-header__last-changed, .gem-c-inverse-header, main") or soup
    stamps = [parse_iso_date(m) for m in _DATE_TEXT.findall(clean(header.get_text(" ")))]
    return max((s for s in stamps if s), default=None)


PARSER = GovukHtmlParser()
