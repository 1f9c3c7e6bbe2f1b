"""The Official Journal's HTML vocabulary, as EUR-Lex serves an act: which classes open an
article, a division or an annex, which elements are noise, and how to walk from one anchor
to the next. :mod:`tracker.sources.parsers.eurlex` builds the act's tree with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bs4 import BeautifulSoup
from bs4.element import Tag

from tracker.sources.parsing.provisions import clean

ARTICLE_CLASSES = frozenset({"oj-ti-art", "ti-art"})
HEADING_CLASSES = frozenset({"oj-sti-art", "sti-art"})
DIVISION_CLASSES = frozenset({"oj-ti-section-1", "ti-section-1"})
DIVISION_TITLE_CLASSES = frozenset({"oj-ti-section-2", "ti-section-2"})
DOC_TITLE_CLASSES = frozenset({"oj-doc-ti", "doc-ti"})
GROUP_HEADING_CLASSES = frozenset({"oj-ti-grseq-1", "ti-grseq-1"})
# Footnotes, signatures and the closing formula are not text of any provision.
SKIP_CLASSES = frozenset({"oj-note", "note", "oj-final", "final", "oj-signatory", "signatory"})

ARTICLE = re.compile(r"^Article\s+(\d+[a-z]*)$", re.IGNORECASE)
DIVISION = re.compile(r"^(CHAPTER|SECTION|TITLE|PART)\s+([IVXLC]+|\d+[A-Z]?)\b", re.IGNORECASE)
ANNEX = re.compile(r"^ANNEX\s*([IVXLC]+[a-z]?)?$", re.IGNORECASE)
BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:])(?=\s|$)")


def class_set(tag: Tag) -> set[str]:
    value: Any = tag.get("class") or []
    return set(value if isinstance(value, list) else str(value).split())


def tidy(text: str) -> str:
    """Running text; no space left before punctuation where a footnote reference was cut."""
    return BEFORE_PUNCTUATION.sub(r"\1", clean(text))


def tag_text(tag: Tag) -> str:
    return tidy(tag.get_text(" "))


def strip_noise(soup: BeautifulSoup) -> None:
    """Footnote references and bodies out of the tree: they are renumbered between printings."""
    for tag in soup.select('a[href^="#ntr"], span.oj-note-tag, span.note-tag'):
        tag.decompose()
    skipped = [t for t in soup.find_all(True) if isinstance(t, Tag) and class_set(t) & SKIP_CLASSES]
    for tag in skipped:
        if not tag.decomposed:
            tag.decompose()


def blocks(root: Tag) -> Iterator[Tag]:
    """The paragraphs and point tables directly inside ``root``, in order (divs are looked through)."""
    for child in root.children:
        if not isinstance(child, Tag):
            continue
        if child.name == "p" or child.name == "table":
            yield child
        elif child.name in ("div", "tbody", "span", "section"):
            yield from blocks(child)


def rows(table: Tag) -> Iterator[tuple[str, Tag]]:
    """(marker, text cell) for each two-cell row of a point table."""
    for row in table.find_all("tr", recursive=True):
        if row.find_parent("table") is not table:
            continue
        cells = row.find_all("td", recursive=False)
        if len(cells) >= 2:
            yield tag_text(cells[0]), cells[-1]


def has_class(tag: Tag, classes: frozenset[str]) -> bool:
    return bool(class_set(tag) & classes) or any(
        isinstance(t, Tag) and class_set(t) & classes for t in tag.find_all(True)
    )


def following(anchor: Tag) -> Iterator[Tag]:
    """Siblings after ``anchor``; when its container ends, the container's siblings (ELI pages
    wrap the title and the heading in their own divs)."""
    node: Tag | None = anchor
    while node is not None:
        for sibling in node.next_siblings:
            if isinstance(sibling, Tag):
                yield sibling
        parent = node.parent
        if parent is None or parent.name in ("body", "[document]") or is_container(parent):
            return
        node = parent


def is_container(tag: Tag) -> bool:
    """An element that holds a whole article, division or annex: reading stops at its end."""
    ident = str(tag.get("id") or "")
    return bool(re.match(r"^(art|cpt|anx|rct|enc|fnp)_", ident)) or "eli-container" in class_set(tag)


def opens_next(tag: Tag) -> bool:
    """The element starts the next article, division or annex."""
    for p in [tag, *tag.find_all("p")]:
        if not isinstance(p, Tag) or p.find_parent("td") is not None:
            continue
        classes = class_set(p)
        if classes & ARTICLE_CLASSES and ARTICLE.match(tag_text(p)):
            return True
        if classes & DIVISION_CLASSES:
            return True
        if classes & DOC_TITLE_CLASSES and ANNEX.match(tag_text(p)):
            return True
    return False


def division_title(anchor: Tag) -> str:
    for sibling in following(anchor):
        if has_class(sibling, DIVISION_TITLE_CLASSES):
            found = (
                sibling
                if class_set(sibling) & DIVISION_TITLE_CLASSES
                else sibling.find("p", class_=sorted(DIVISION_TITLE_CLASSES))
            )
            return tag_text(found) if isinstance(found, Tag) else ""
        if opens_next(sibling):
            break
    return ""


def cell_text(cell: Tag) -> str:
    """A point's own text: the cell without the tables of its sub-points."""
    return tidy(" ".join(str(s) for s in cell.find_all(string=True) if s.find_parent("td") is cell))
