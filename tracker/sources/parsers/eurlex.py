"""EUR-Lex HTML of an EU act (the Official Journal layout): recitals, chapters, sections,
articles, paragraphs, points and annexes.

The page EUR-Lex serves for a CELEX number (``legal-content/EN/TXT/HTML/?uri=CELEX:...``)
marks structure with classes and, since about 2004, ELI anchors:

* an article title is ``p.oj-ti-art`` ("Article 5"), its heading ``p.oj-sti-art``; a
  chapter or section opens with ``p.oj-ti-section-1`` ("CHAPTER III", "SECTION 2") and its
  title in ``p.oj-ti-section-2``. Older pages use the same classes without ``oj-``;
* a numbered paragraph is a ``p`` that starts with its number ("1.   The following ...");
* a point is a table row of two cells, the printed marker ("(a)", "1.", "(i)") and its
  text; a point inside a point is a table inside that text cell;
* a recital is a table row "(12)" | text in the preamble (``div#rct_12``);
* an annex is opened by ``p.oj-doc-ti`` "ANNEX III" followed by its title.

Identifiers are written as EU law cites them, so a user can search for what they read:
"Article 5", "Article 5(1)", "Article 5(1)(a)", "Article 3, point (1)" (a point directly
under an article), "Recital 12", "Annex III", "Annex III, point 1(a)", "Chapter III",
"Chapter III, Section 2".

Domain decisions:

* recitals state reasons, not obligations: their text is guidance, so a reworded recital
  is never a substantive change of the act;
* footnote references ("Regulation (EU) 2016/679 (7)") are dropped from the text: a
  corrigendum that renumbers footnotes changes no requirement;
* a point's obligation usually sits in its paragraph's lead-in ("The following AI practices
  shall be prohibited:"), which stays the paragraph's statement, so a change of modal there
  is reported on the paragraph; dash indents are text of the point they belong to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import Tag

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement
from tracker.sources.parsing.official_journal import (
    ANNEX,
    ARTICLE,
    ARTICLE_CLASSES,
    DIVISION,
    DIVISION_CLASSES,
    DOC_TITLE_CLASSES,
    GROUP_HEADING_CLASSES,
    HEADING_CLASSES,
    blocks,
    cell_text,
    class_set,
    division_title,
    following,
    has_class,
    opens_next,
    rows,
    strip_noise,
    tag_text,
)
from tracker.sources.parsing.provisions import clean

_PARAGRAPH = re.compile(r"^(\d+[a-z]?)\.\s+(\S.*)$", re.DOTALL)
_MARKER = re.compile(r"^[(\u201e\u201c\"]?(\d{1,3}[a-z]?|[a-z]{1,2}|[ivxlc]{1,6})[.)]$")
_ANNEX_PART = re.compile(r"^(SECTION|PART)\s+([A-Z0-9]{1,3})\b(.*)$", re.IGNORECASE)
_DASH = re.compile(r"^[\u2014\u2013\u2012-]$")
_RECITAL = re.compile(r"^\((\d+)\)$")


@dataclass
class _Node:
    ident: str
    kind: str
    parent: str | None
    title: str = ""
    text: list[str] = field(default_factory=list)
    is_recital: bool = False


class _Builder:
    """Collects nodes in document order; an identifier is taken once (a quoted provision of
    an amendment that repeats an earlier number stays text of the one quoting it)."""

    def __init__(self) -> None:
        self.nodes: list[_Node] = []
        self.keys: set[str] = set()

    def add(self, ident: str, kind: str, parent: _Node | None, title: str = "") -> _Node | None:
        key = normalise_key(ident)
        if key in self.keys:
            return None
        self.keys.add(key)
        node = _Node(ident, kind, parent.ident if parent else None, title)
        self.nodes.append(node)
        return node

    def requirements(self) -> tuple[Requirement, ...]:
        depth: dict[str, int] = {}
        out = []
        for order, node in enumerate(self.nodes):
            level = depth[node.parent] + 1 if node.parent in depth else 0
            depth[node.ident] = level
            text = "\n".join(t for t in node.text if t)
            out.append(
                Requirement(
                    ident=node.ident,
                    key=normalise_key(node.ident),
                    title=node.title,
                    statement="" if node.is_recital else text,
                    guidance=text if node.is_recital else "",
                    parent=normalise_key(node.parent) if node.parent else None,
                    order=order,
                    depth=level,
                    kind=node.kind,
                )
            )
        return tuple(out)


class EurLexParser:
    name = "eurlex-html"
    version = "1"

    def sniff(self, filename: str, data: bytes) -> int:
        window = data[: 4 * 1024 * 1024]
        if b"oj-ti-art" in window:
            return 95
        if b'class="ti-art"' in window and b"eur-lex" in window.lower():
            return 85
        return 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        soup = BeautifulSoup(data, "lxml")
        strip_noise(soup)
        reader = _Reader()
        reader.read(soup)
        if not any(n.kind == "article" for n in reader.out.nodes):
            raise ParseError(
                filename,
                "no article headings (p.oj-ti-art 'Article N') found: not the text of an EU act",
                "point the source at the act's HTML text, "
                "https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:<number>",
            )
        return ParsedDocument(
            format=self.name,
            parser_version=self.version,
            role=DocumentRole.CATALOG,
            title=reader.title,
            requirements=reader.out.requirements(),
        )


class _Reader:
    """One pass over the page in document order, keeping the open chapter, section and article."""

    def __init__(self) -> None:
        self.out = _Builder()
        self.title = ""
        self.chapter: _Node | None = None
        self.section: _Node | None = None
        self.recitals: _Node | None = None
        self.seen_article = False

    def read(self, soup: BeautifulSoup) -> None:
        titles: list[str] = []
        body = soup.body or soup
        anchors = [
            p
            for p in body.find_all("p")
            if isinstance(p, Tag)
            and (class_set(p) & (ARTICLE_CLASSES | DIVISION_CLASSES | DOC_TITLE_CLASSES))
            and p.find_parent("td") is None
        ]
        first = next(
            (a for a in anchors if class_set(a) & ARTICLE_CLASSES and ARTICLE.match(tag_text(a))), None
        )
        if first is not None:
            self._recitals(body, first)
        for anchor in anchors:
            classes = class_set(anchor)
            text = tag_text(anchor)
            if classes & DOC_TITLE_CLASSES:
                if ANNEX.match(text):
                    self._annex(anchor, text)
                elif not self.seen_article and self.chapter is None:
                    titles.append(text)
            elif classes & DIVISION_CLASSES:
                self._division(anchor, text)
            elif ARTICLE.match(text):
                self.seen_article = True
                self._article(anchor, text)
        self.title = clean(" ".join(titles))

    # -- preamble -----------------------------------------------------------------------

    def _recitals(self, body: Tag, first_article: Tag) -> None:
        """Tables "(N)" | text before the first article (or the division that opens it)."""
        stop = first_article.find_previous("p", class_=sorted(DIVISION_CLASSES)) or first_article
        for element in body.descendants:
            if element is stop:
                break
            if (
                not isinstance(element, Tag)
                or element.name != "table"
                or element.find_parent("td") is not None
            ):
                continue
            for marker, cell in rows(element):
                found = _RECITAL.match(marker)
                if not found:
                    continue
                if self.recitals is None:
                    self.recitals = self.out.add("Recitals", "preamble", None, "Recitals")
                node = self.out.add(f"Recital {found.group(1)}", "recital", self.recitals)
                if node is not None:
                    node.is_recital = True
                    node.text.append(cell_text(cell))

    # -- divisions and articles ---------------------------------------------------------

    def _division(self, anchor: Tag, text: str) -> None:
        found = DIVISION.match(text)
        if not found:
            return
        kind, number = found.group(1).lower(), found.group(2).upper()
        title = division_title(anchor)
        if kind == "section" and self.chapter is not None:
            self.section = self.out.add(
                f"{self.chapter.ident}, Section {number}", "section", self.chapter, title
            )
        else:
            self.chapter = self.out.add(f"{kind.capitalize()} {number}", kind, None, title)
            self.section = None

    def _article(self, anchor: Tag, text: str) -> None:
        number = ARTICLE.match(text).group(1)  # type: ignore[union-attr]
        heading = ""
        body: list[Tag] = []
        for sibling in following(anchor):
            if opens_next(sibling):
                break
            if not heading and not body and has_class(sibling, HEADING_CLASSES):
                heading = tag_text(sibling)
                continue
            body.append(sibling)
        parent = self.section or self.chapter
        article = self.out.add(f"Article {number}", "article", parent, heading)
        if article is None:
            return
        current: _Node = article
        for element in body:
            for block in [element] if element.name in ("p", "table") else list(blocks(element)):
                if block.name == "table":
                    base = current if current is not article else None
                    self._points(block, current, base_ident=None if base else f"{article.ident}, point")
                    continue
                line = tag_text(block)
                if not line:
                    continue
                numbered = _PARAGRAPH.match(line)
                if numbered:
                    paragraph = self.out.add(f"{article.ident}({numbered.group(1)})", "paragraph", article)
                    if paragraph is not None:
                        current = paragraph
                        paragraph.text.append(clean(numbered.group(2)))
                        continue
                current.text.append(line)

    def _points(self, table: Tag, parent: _Node, base_ident: str | None) -> None:
        """Each row a point of ``parent``; a table in a text cell holds the point's own points."""
        for marker, cell in rows(table):
            if _DASH.match(marker):
                parent.text.append(f"\u2014 {cell_text(cell)}")
                continue
            found = _MARKER.match(marker)
            if not found:
                parent.text.append(clean(f"{marker} {cell_text(cell)}"))
                continue
            label = found.group(1)
            printed = f"({label})" if marker.startswith("(") or marker.endswith(")") else label
            ident = f"{base_ident} {printed}" if base_ident else f"{parent.ident}({label})"
            point = self.out.add(ident, "point", parent)
            if point is None:
                parent.text.append(clean(f"{marker} {cell_text(cell)}"))
                continue
            point.text.append(cell_text(cell))
            for inner in cell.find_all("table"):
                if inner.find_parent("td") is cell:  # this point's own sub-points, not deeper ones
                    self._points(inner, point, None)

    # -- annexes ------------------------------------------------------------------------

    def _annex(self, anchor: Tag, text: str) -> None:
        found = ANNEX.match(text)
        number = (found.group(1) or "").upper() if found else ""
        ident = f"Annex {number}".strip()
        title_parts: list[str] = []
        body: list[Tag] = []
        for sibling in following(anchor):
            if opens_next(sibling):
                break
            if not body and has_class(sibling, DOC_TITLE_CLASSES):
                title_parts.append(tag_text(sibling))
                continue
            body.append(sibling)
        annex = self.out.add(ident, "annex", None, clean(" ".join(title_parts)))
        if annex is None:
            return
        current = annex
        for element in body:
            for block in [element] if element.name in ("p", "table") else list(blocks(element)):
                if block.name == "table":
                    self._points(block, current, base_ident=f"{current.ident}, point")
                    continue
                line = tag_text(block)
                part = _ANNEX_PART.match(line) if class_set(block) & GROUP_HEADING_CLASSES else None
                if part:  # "Section A — ...": numbering of points restarts in each
                    opened = self.out.add(
                        f"{annex.ident}, {part.group(1).capitalize()} {part.group(2)}", "part", annex
                    )
                    if opened is not None:
                        current, opened.title = opened, clean(part.group(3).lstrip("\u2014\u2013-:. "))
                        continue
                if line:
                    current.text.append(line)


PARSER = EurLexParser()
