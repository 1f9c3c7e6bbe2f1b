"""Standards PDFs in the ETSI style (text read by :mod:`tracker.sources.parsing.pdf_text`).

An ETSI deliverable has a title page ("ETSI TS 104 223 V1.1.1 (2025-04)", the title, the
deliverable type), a running header repeating that line with the page number, an "ETSI"
footer, a table of contents with dot leaders, unnumbered front matter (Intellectual
Property Rights, Foreword, Modal verbs terminology), then numbered clauses, annexes and a
History table. How we read it:

* running headers and footers go (see ``pdf_text``), and the ETSI identity line wherever it
  appears; the contents run from "Contents" to its last dot-leader line; front matter is
  everything before the first heading; "History" ends the body;
* which numbered lines are headings is decided over the whole document
  (:mod:`tracker.sources.parsing.numbering`), so a skipped or unprinted clause number costs
  that clause only; a contents entry ("1 Scope 5") repeated as a heading later is not one.
  A clause hangs under its nearest printed ancestor. Every clause is a node (kind
  ``clause``); "Provision 5.1.2-1" paragraphs are nodes of their own (kind ``provision``,
  ident ``5.1.2-1``), and so is "5.1.2-1 [Developers]: ..." where the number stands alone;
* "Annex A (informative):" with its title on the next line (ETSI's annex heading style)
  takes that line as its title;
* who a provision is for is data: "Primarily applies to: ..." under a clause, or a
  stakeholder tag "[Developers, System Operators]:" opening a provision, becomes the
  property ``applies_to`` in canonical form and leaves the statement;
* a two-column table (stakeholders, abbreviations) is read row by row, "left: right"
  (:mod:`tracker.sources.parsing.pdf_columns`), and a word hyphenated at a line end is
  rejoined by the document's own vocabulary;
* a paragraph with a modal verb is statement, any other and every NOTE/EXAMPLE is guidance;
  in References, Definitions/Terms/Symbols/Abbreviations and informative annexes everything
  is guidance, because "may" there describes rather than permits;
* the month in the identity line is the publication date (first of the month), the version
  ("V1.1.1") the version hint.
"""

from __future__ import annotations

import re
from datetime import date

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument
from tracker.sources.parsing.numbering import ANNEX_BASE, Candidate, chain
from tracker.sources.parsing.pdf_columns import fold_two_columns
from tracker.sources.parsing.pdf_text import (
    Line,
    drop_running,
    join_lines,
    metadata_title,
    read_pages,
    vocabulary,
)
from tracker.sources.parsing.provisions import (
    Node,
    Tree,
    applies_to,
    clean,
    is_bullet,
    is_guidance_marker,
    role_tag,
)

_ID_LINE = re.compile(
    r"^(?P<doc>ETSI\s+[A-Z]{2,3}(?:\s+[A-Z]{2,5})?\s+\d{3}(?:\s?\d{3})?(?:-\d+)*)\s+"
    r"(?P<version>V\d+\.\d+\.\d+)\s*\((?P<year>\d{4})-(?P<month>\d{2})\)(?:\s+\d{1,4})?$"
)
_DOC_TYPE = re.compile(
    r"^(?:TECHNICAL SPECIFICATION|TECHNICAL REPORT|EUROPEAN STANDARD|ETSI STANDARD|ETSI GUIDE"
    r"|GROUP SPECIFICATION|GROUP REPORT|SPECIAL REPORT|HARMONISED EUROPEAN STANDARD)"
)
_PAGE_END = re.compile(r"\s+\d{1,4}$")
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*\d{1,4}$|\u2026+\s*\d{1,4}$")
_CLAUSE = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,3}){0,6})\s+(?P<title>[A-Z\[(].{0,150})$")
_ANNEX_CLAUSE = re.compile(r"^(?P<num>[A-Z](?:\.\d{1,3}){1,6})\s+(?P<title>[A-Z\[(].{0,150})$")
_ANNEX = re.compile(
    r"^Annex\s+(?P<letter>[A-Z])\b\s*(?:\((?P<nature>normative|informative)\))?\s*:?\s*(?P<title>.*)$"
)
_PROVISION = re.compile(
    r"^(?:\[?Provision\s+(?P<id>\d{1,2}(?:\.\d{1,3})*-\d{1,3}(?:\.\d{1,3})*)\]?"
    r"|(?P<bare>\d{1,2}(?:\.\d{1,3})*-\d{1,3}(?:\.\d{1,3})*)(?=\s+\[[A-Za-z]))"
    r"\s*[:\u2013\u2014-]?\s*(?P<text>.*)$",
    re.S,
)
_INFORMATIVE = re.compile(
    r"^(?:(?:normative |informative )?references|definitions?\b|terms|symbols|abbreviations)", re.I
)


class EtsiPdfParser:
    """ETSI-style deliverables and other PDFs built of numbered clauses."""

    name = "etsi-pdf"
    version = "2"

    def sniff(self, filename: str, data: bytes) -> int:
        # The header must be near the start (PDF 1.7, 7.5.2); an HTML error page saved
        # as .pdf starts with "<!DOCTYPE html" and is not ours.
        if b"%PDF-" not in data[:1024] or data[:1024].lstrip().startswith(b"<"):
            return 0
        return 80 if b"ETSI" in data[:65536] else 60

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        pages = read_pages(filename, data)
        doc_id, version, published, subject = _identity(pages[0])
        lines = _drop_contents(drop_running(pages, also=lambda text: bool(_ID_LINE.match(text))))
        words = vocabulary(line.text for line in lines)
        lines = fold_two_columns(lines, words, excluded=_never_a_row)
        tree = _build(lines, words)
        if not tree.nodes:
            raise ParseError(
                filename,
                "no numbered clauses ('1 Scope', '5.1.2 ...') found in the text",
                "this parser reads standards laid out in numbered clauses",
            )
        title = f"{doc_id}: {subject}" if doc_id and subject else doc_id or subject
        return ParsedDocument(
            format=self.name,
            parser_version=self.version,
            role=DocumentRole.CATALOG,
            title=title or metadata_title(data) or filename.rsplit("/", 1)[-1],
            requirements=tree.requirements(),
            version_hint=version,
            published=published,
        )


def _identity(first_page: list[str]) -> tuple[str, str, date | None, str]:
    """Document id, version, publication month and title from the title page."""
    lines = [clean(line) for line in first_page if line.strip()]
    for i, line in enumerate(lines):
        match = _ID_LINE.match(line)
        if match:
            subject = []
            for nxt in lines[i + 1 : i + 6]:
                if _DOC_TYPE.match(nxt):
                    break
                subject.append(nxt)
            month = int(match["month"])
            published = date(int(match["year"]), month, 1) if 1 <= month <= 12 else None
            return clean(match["doc"]), match["version"], published, " ".join(subject)
    return "", "", None, ""


def _drop_contents(lines: list[Line]) -> list[Line]:
    """Remove the table of contents: from "Contents" to its last dot-leader line."""
    start = next((i for i, line in enumerate(lines) if line.text in ("Contents", "Table of contents")), None)
    if start is None:
        return [line for line in lines if not _TOC_LINE.search(line.text)]
    end, gap = start, 0
    for i in range(start + 1, len(lines)):
        if _TOC_LINE.search(lines[i].text):
            end, gap = i, 0
        elif lines[i].text:
            gap += 1
            if gap > 3:
                break
    return lines[:start] + [line for line in lines[end + 1 :] if not _TOC_LINE.search(line.text)]


def _never_a_row(text: str) -> bool:
    """Lines laid out with a wide gap that are not table rows: a heading "5.1<tab>Title", a
    "NOTE:" label before its text, a list item, a provision number, a citation "[i.1]"."""
    return bool(
        _CLAUSE.match(text)
        or _ANNEX_CLAUSE.match(text)
        or _ANNEX.match(text)
        or _PROVISION.match(text)
        or is_guidance_marker(text)
        or is_bullet(text)
        or text.startswith("[")
    )


def _number(text: str) -> tuple[str, tuple[int, ...]] | None:
    """The printed number of a possible heading line and its place in the chain."""
    annex = _ANNEX.match(text)
    if annex:
        return f"Annex {annex['letter']}", (ANNEX_BASE + ord(annex["letter"]) - ord("A"),)
    match = _CLAUSE.match(text) or _ANNEX_CLAUSE.match(text)
    if not match or match["title"].endswith((".", ",", ";")) or len(match["title"].split()) > 20:
        return None
    head, *rest = match["num"].split(".")
    top = ANNEX_BASE + ord(head) - ord("A") if head.isalpha() else int(head)
    return match["num"], (top, *(int(p) for p in rest))


def _headings(lines: list[Line]) -> set[int]:
    """Indexes of the lines that open clauses and annexes (see ``numbering``)."""
    found: list[tuple[int, str, tuple[int, ...], float]] = []
    for i, line in enumerate(lines):
        if found and line.text == "History":  # the revision table: the body has ended
            break
        numbered = _number(line.text)
        if numbered is None:
            continue
        # a heading has space above it; a sentence that starts with a number usually not
        spaced = i == 0 or not lines[i - 1].text or lines[i - 1].page != line.page
        found.append((i, numbered[0], numbered[1], 1.0 if spaced else 0.5))
    # a contents list without dot leaders: "1 Scope 5" repeated later as "1 Scope"
    titles = {lines[i].text for i, *_ in found}
    kept = [
        Candidate(i, number, weight)
        for i, _, number, weight in found
        if not (_PAGE_END.search(lines[i].text) and _PAGE_END.sub("", lines[i].text) in titles)
    ]
    return chain(kept)


class _Builder:
    """Turns body lines into clauses, provisions and their paragraphs."""

    def __init__(self, headings: set[int], words: frozenset[str]) -> None:
        self.tree = Tree()
        self.headings = headings
        self.words = words
        self.annex: Node | None = None
        self.untitled: Node | None = None  # an annex whose title is on the next line
        self.clause: Node | None = None
        self.target: Node | None = None
        self.informative = False
        self.top = -1
        self.done = False
        self.para: list[Line] = []

    def line(self, index: int, line: Line, width: int) -> None:
        text = line.text
        if not text:
            self.flush()
            return
        if self.done:
            return
        if self.clause is not None and text == "History":  # the ETSI revision table closes the document
            self.flush()
            self.done = True
            return
        if index in self.headings:
            self.heading(text)
            return
        if self.untitled is not None and not self.para:
            self.untitled.title = text
            self.untitled = None
            return
        self.untitled = None
        if self.para and self.breaks(line, width):
            self.flush()
        self.para.append(line)

    def breaks(self, line: Line, width: int) -> bool:
        """Whether ``line`` starts a new paragraph (no blank line seen)."""
        text, prev = line.text, self.para[-1]
        if len(self.para) == 1 and is_guidance_marker(prev.text) and len(prev.text.split()) == 1:
            return False  # a "NOTE:" label on a line of its own, its text below
        if is_guidance_marker(text) or is_bullet(text) or _PROVISION.match(text) or applies_to(text):
            return True
        if role_tag(text) is not None:
            return True
        if line.indent + 2 < prev.indent:
            return True
        return prev.text.endswith((".", ":", ";")) and len(prev.text) + prev.indent < 0.75 * width

    def heading(self, text: str) -> None:
        self.flush()
        annex = _ANNEX.match(text)
        if annex:
            self.annex = self.tree.add(f"Annex {annex['letter']}", "annex", annex["title"])
            self.clause = self.target = self.annex
            self.untitled = self.annex if not annex["title"] else None
            self.informative = annex["nature"] == "informative"
            return
        match = _CLAUSE.match(text) or _ANNEX_CLAUSE.match(text)
        assert match is not None  # only numbered lines are in the chain
        num = match["num"]
        in_annex = num[0].isalpha()
        if not in_annex:
            self.annex = None
            top = int(num.split(".")[0])
            if top != self.top:  # a new main clause, even if its own heading was never printed
                self.informative = bool(_INFORMATIVE.match(match["title"]))
                self.top = top
        parent = self.tree.ancestor(num, self.annex if in_annex else None)
        self.clause = self.target = self.tree.add(num, "clause", match["title"], parent)
        self.untitled = None

    def flush(self) -> None:
        if not self.para:
            return
        text = join_lines((line.text for line in self.para), self.words)
        self.para = []
        if self.clause is None:
            return  # front matter
        provision = _PROVISION.match(text)
        if provision:
            ident = provision["id"] or provision["bare"]
            base, _, sub = ident.rpartition(".")
            # "5.1.1-1.1" is a sub-provision of "5.1.1-1"; "5.1.1-1" belongs to its clause
            above = self.tree.by_key.get(normalise_key(base)) if "-" in base and sub else None
            self.target = self.tree.add(ident, "provision", parent=above or self.clause)
            text = provision["text"]
        tagged = role_tag(text) if provision or not self.informative else None
        if tagged is not None:
            assert self.target is not None
            self.target.props["applies_to"], text = tagged
        if not text:
            return
        assert self.target is not None
        scope = applies_to(text)
        if scope:
            self.target.props["applies_to"] = scope
        elif is_guidance_marker(text):
            self.target.guidance.append(text)
            self.target.last = "guidance"
        else:
            self.target.add_text(text, self.informative)


def _build(lines: list[Line], words: frozenset[str]) -> Tree:
    lengths = sorted(len(line.text) + line.indent for line in lines if line.text)
    width = lengths[int(len(lengths) * 0.95)] if lengths else 80
    builder = _Builder(_headings(lines), words)
    for index, line in enumerate(lines):
        builder.line(index, line, width)
    builder.flush()
    return builder.tree


PARSER = EtsiPdfParser()
