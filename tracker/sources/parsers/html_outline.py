"""Any guidance page in HTML, read as an outline: each heading a section, the text under it
its statement.

For publishers with no structured format and no parser of their own (the NCSC's web
guidance, a vendor's security page), so that a source added through the generic spider is
diffed section by section rather than archived raw. The page's furniture (navigation,
header, footer, cookie banners, "related content") is dropped; the main content is
``<main>``, ``<article>`` or ``[role=main]`` when the page marks one.

* a heading ``h2``-``h6`` (and ``h1`` when a page has several) opens a section nested under
  the nearest heading of a higher level; a lone ``h1`` is the document's title;
* a section's identifier is the number it is printed with ("2.1", "Principle 3",
  "Section 4") or else its heading text, which is what a reader of such a page cites; a
  repeated heading gets " (2)", " (3)" in order;
* the paragraphs, list items (written "- item"), table cells and definitions under a
  heading, up to the next heading, are its statement, one per line: modal verbs and
  imperatives in them are read as for any other format, and the diff's redline shows which
  item changed;
* text before the first heading is a section "Introduction".

This is a fallback: ``sniff`` claims HTML only when no other parser does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement
from tracker.sources.parsing.provisions import clean

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset({"p", "li", "td", "th", "dt", "dd", "pre", "blockquote", "figcaption"})
_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg")
_CHROME = re.compile(
    r"cookie|breadcrumb|skip-?link|share|social|related|feedback|banner|site-?header|site-?footer"
    r"|navigation|newsletter|subscribe|print-link",
    re.IGNORECASE,
)
# "2.1 Title", "2.1. Title", "Principle 3: Title", "Section 4 - Title"
_NUMBERED = re.compile(
    r"^(?P<num>(?:(?:principle|section|part|chapter|annex|appendix|step|article)\s+)?"
    r"(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,5}|[A-Z])(?=[\s.:)\u2013\u2014-]))[.:)]?\s*[\u2013\u2014-]?\s*(?P<title>.*)$",
    re.IGNORECASE,
)
_MAX_IDENT = 120


@dataclass
class _Section:
    ident: str
    title: str
    level: int
    parent: _Section | None
    lines: list[str] = field(default_factory=list)


class HtmlOutlineParser:
    name = "html-outline"
    version = "1"

    def sniff(self, filename: str, data: bytes) -> int:
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        is_html = head.startswith(
            (b"<!doctype html", b"<html", b"<main", b"<article", b"<div", b"<section")
        ) or (filename.lower().endswith((".html", ".htm")) and head.startswith(b"<"))
        window = data[: 4 * 1024 * 1024].lower()
        return 1 if is_html and re.search(rb"<h[1-6][\s>]", window) else 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        soup = BeautifulSoup(data, "lxml")
        title = clean(soup.title.get_text(" ")) if soup.title else ""
        root = _content(soup)
        intro, sections = _outline(root)
        h1s = [s for s in sections if s.level == 1]
        if len(h1s) == 1 and sections[0] is h1s[0]:  # a lone leading h1 titles the page
            lone = sections.pop(0)
            title = lone.title or title
            intro.lines[:0] = lone.lines
            for section in sections:
                if section.parent is lone:
                    section.parent = None
        if not sections:
            raise ParseError(
                filename,
                "no section headings (h2-h6) found in the page's main content",
                "check that the page is the guidance itself; narrow it with the source's `select` "
                "(a CSS selector) if the content sits in an unusual container",
            )
        if intro.lines:
            if any(s.ident.lower() == "introduction" for s in sections):
                intro.ident = intro.title = "Preamble"
            sections.insert(0, intro)
        return ParsedDocument(
            format=self.name,
            parser_version=self.version,
            role=DocumentRole.CATALOG,
            title=title,
            requirements=_requirements(sections),
        )


def _content(soup: BeautifulSoup) -> Tag:
    for tag in soup.find_all(_DROP):
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()
    chrome = [t for t in soup.find_all(True) if isinstance(t, Tag) and _is_chrome(t)]
    for tag in chrome:
        if not tag.decomposed:
            tag.decompose()
    for selector in ("main", "article", "[role=main]"):
        found = soup.select_one(selector)
        if isinstance(found, Tag) and found.find(_HEADINGS) is not None:
            return found
    body = soup.body
    return body if isinstance(body, Tag) else soup


def _is_chrome(tag: Tag) -> bool:
    if tag.name in ("main", "article", "body", "html"):
        return False
    attrs: Any = tag.attrs or {}
    marks = " ".join([str(attrs.get("id") or ""), *[str(c) for c in (attrs.get("class") or [])]])
    return bool(marks.strip()) and bool(_CHROME.search(marks))


def _outline(root: Tag) -> tuple[_Section, list[_Section]]:
    """The text before the first heading, and the sections in document order."""
    sections: list[_Section] = []
    intro = _Section("Introduction", "Introduction", 0, None)
    current: _Section | None = None
    seen: dict[str, int] = {}
    for element in root.descendants:
        if not isinstance(element, Tag):
            continue
        if element.name in _HEADINGS:
            text = clean(element.get_text(" "))
            if not text:
                continue
            level = int(element.name[1])
            parent = current
            while parent is not None and parent.level >= level:
                parent = parent.parent
            ident, title = _ident(text)
            key = normalise_key(ident)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                ident = f"{ident} ({seen[key]})"
            current = _Section(ident, title, level, parent)
            sections.append(current)
        elif element.name in _BLOCKS and not _inside_block(element):
            line = _line(element)
            if line:
                (current or intro).lines.append(line)
    return intro, sections


def _inside_block(tag: Tag) -> bool:
    """A block inside another block (a <p> in an <li>) is read with its container."""
    return any(isinstance(p, Tag) and p.name in _BLOCKS for p in tag.parents)


def _line(tag: Tag) -> str:
    text = clean(" ".join(s for s in tag.find_all(string=True) if isinstance(s, NavigableString)))
    if not text:
        return ""
    return f"- {text}" if tag.name == "li" else text


def _ident(heading: str) -> tuple[str, str]:
    """The printed number of a heading, else the heading itself; and its title."""
    found = _NUMBERED.match(heading)
    if found and found.group("title"):
        return clean(found.group("num")), clean(found.group("title"))
    ident = heading if len(heading) <= _MAX_IDENT else heading[:_MAX_IDENT].rsplit(" ", 1)[0]
    return ident, heading


def _requirements(sections: list[_Section]) -> tuple[Requirement, ...]:
    out = []
    depth: dict[int, int] = {}
    for order, section in enumerate(sections):
        parent = section.parent
        level = depth[id(parent)] + 1 if parent is not None and id(parent) in depth else 0
        depth[id(section)] = level
        out.append(
            Requirement(
                ident=section.ident,
                key=normalise_key(section.ident),
                title=section.title,
                statement="\n".join(section.lines),
                parent=normalise_key(parent.ident) if parent is not None else None,
                order=order,
                depth=level,
                kind="section",
            )
        )
    return tuple(out)


PARSER = HtmlOutlineParser()
