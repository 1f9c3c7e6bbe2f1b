"""Standards PDFs in the ETSI style, read with pypdf (BSD licence, pure Python).

An ETSI deliverable has a title page ("ETSI TS 104 223 V1.1.1 (2025-04)", the title, the
deliverable type), a running header repeating that line with the page number, an "ETSI"
footer, a table of contents with dot leaders, unnumbered front matter (Intellectual
Property Rights, Foreword, Modal verbs terminology), then numbered clauses, annexes and a
History table. How we read it:

* text comes from pypdf's *layout* mode, which orders lines by position and keeps the
  indentation that tells a NOTE's continuation from the next paragraph;
* running headers and footers are lines at the top or bottom of at least half the pages
  (digits ignored, so page numbers do not make them differ), the ETSI identity line wherever
  it appears, and bare page numbers; the contents run from "Contents" to its last
  dot-leader line; front matter is everything before clause 1; "History" ends the body;
* a line "5.1.2 Title" is a clause heading only if its number follows the previous clause
  (next sibling, a small gap, or first child), so a sentence that starts with a number and
  the TOC cannot open clauses. Every clause is a node (kind ``clause``); "Provision 5.1.2-1"
  paragraphs are nodes of their own (kind ``provision``, ident ``5.1.2-1``);
* a paragraph with a modal verb is statement, any other and every NOTE/EXAMPLE is guidance;
  in References, Definitions/Terms/Symbols/Abbreviations and informative annexes everything
  is guidance, because "may" there describes rather than permits;
* the month in the identity line is the publication date (first of the month), the version
  ("V1.1.1") the version hint.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import date

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import PdfReadWarning

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument
from tracker.sources.parsing.provisions import Node, Tree, applies_to, clean, is_bullet, is_guidance_marker

log = logging.getLogger(__name__)

_ID_LINE = re.compile(
    r"^(?P<doc>ETSI\s+[A-Z]{2,3}(?:\s+[A-Z]{2,5})?\s+\d{3}(?:\s?\d{3})?(?:-\d+)*)\s+"
    r"(?P<version>V\d+\.\d+\.\d+)\s*\((?P<year>\d{4})-(?P<month>\d{2})\)(?:\s+\d{1,4})?$"
)
_DOC_TYPE = re.compile(
    r"^(?:TECHNICAL SPECIFICATION|TECHNICAL REPORT|EUROPEAN STANDARD|ETSI STANDARD|ETSI GUIDE"
    r"|GROUP SPECIFICATION|GROUP REPORT|SPECIAL REPORT|HARMONISED EUROPEAN STANDARD)"
)
_PAGE_NO = re.compile(r"^(?:Page\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?$", re.IGNORECASE)
_PAGE_END = re.compile(r"\s+\d{1,4}$")
_TOC_LINE = re.compile(r"(?:\.\s?){4,}\s*\d{1,4}$|\u2026+\s*\d{1,4}$")
_CLAUSE = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,3}){0,6})\s+(?P<title>[A-Z\[(].{0,150})$")
_ANNEX_CLAUSE = re.compile(r"^(?P<num>[A-Z](?:\.\d{1,3}){1,6})\s+(?P<title>[A-Z\[(].{0,150})$")
_ANNEX = re.compile(
    r"^Annex\s+(?P<letter>[A-Z])\b\s*(?:\((?P<nature>normative|informative)\))?\s*:?\s*(?P<title>.*)$"
)
_PROVISION = re.compile(
    r"^\[?Provision\s+(?P<id>\d{1,2}(?:\.\d{1,3})*-\d{1,3}(?:\.\d{1,3})*)\]?\s*[:\u2013\u2014-]?\s*(?P<text>.*)$"
)
_INFORMATIVE = re.compile(
    r"^(?:(?:normative |informative )?references|definitions?\b|terms|symbols|abbreviations)", re.I
)
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})


@dataclass
class _Line:
    text: str
    indent: int


class EtsiPdfParser:
    """ETSI-style deliverables and other PDFs built of numbered clauses."""

    name = "etsi-pdf"
    version = "1"

    def sniff(self, filename: str, data: bytes) -> int:
        # The header must be near the start (PDF 1.7, 7.5.2); an HTML error page saved
        # as .pdf starts with "<!DOCTYPE html" and is not ours.
        if b"%PDF-" not in data[:1024] or data[:1024].lstrip().startswith(b"<"):
            return 0
        return 80 if b"ETSI" in data[:65536] else 60

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        pages = _read(filename, data)
        if not pages:
            raise ParseError(filename, "the PDF has no pages")
        if not any(line.strip() for page in pages for line in page):
            raise ParseError(
                filename, "no text layer; OCR the document first", "its pages hold images, not text"
            )
        doc_id, version, published, subject = _identity(pages[0])
        lines = _drop_contents(_drop_running(pages))
        tree = _build(lines)
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
            title=title or _metadata_title(data) or filename.rsplit("/", 1)[-1],
            requirements=tree.requirements(),
            version_hint=version,
            published=published,
        )


def _read(filename: str, data: bytes) -> list[list[str]]:
    """The lines of every page.

    pypdf reports the defects it works around (a missing EOF marker, a bad xref offset) on
    the ``pypdf`` logger, and ``PdfReadWarning`` in older releases: a readable file with
    small defects is still ingested, its warnings logged here under the file's name. Any
    other warning (a deprecation: our bug, not the file's) is re-issued unchanged."""
    if data[:1024].lstrip().startswith(b"<"):
        raise ParseError(
            filename,
            "this is an HTML or XML page, not a PDF",
            "the server probably returned an error or login page; fetch the PDF again",
        )
    if b"%PDF-" not in data[:1024]:
        raise ParseError(filename, "not a PDF (no %PDF- header)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                _decrypt(filename, reader)
            pages = [_page_lines(page) for page in reader.pages]
        except ParseError:
            raise
        except Exception as exc:  # pypdf raises many exception types on damaged files
            raise ParseError(filename, f"corrupt or unreadable PDF: {type(exc).__name__}: {exc}") from exc
    for warning in caught:
        if issubclass(warning.category, PdfReadWarning):
            log.info("%s: pypdf: %s", filename, warning.message)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return pages


def _decrypt(filename: str, reader: PdfReader) -> None:
    """Open a PDF protected by an owner password only (printing or copying restricted, still
    readable by anyone); one that needs a user password cannot be read."""
    try:
        opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception as exc:  # unsupported algorithm, missing crypto dependency
        raise ParseError(filename, f"the PDF is encrypted and cannot be opened: {exc}") from exc
    if not opened:
        raise ParseError(filename, "the PDF is encrypted", "obtain an unprotected copy")


def _page_lines(page: PageObject) -> list[str]:
    try:
        text = page.extract_text(extraction_mode="layout")
    except Exception:  # layout mode is stricter about fonts; plain mode still gives the words
        log.debug("layout extraction failed; falling back to plain", exc_info=True)
        text = page.extract_text()
    return [line.rstrip().expandtabs(4).translate(_LIGATURES) for line in text.splitlines()]


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


def _metadata_title(data: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            meta = PdfReader(io.BytesIO(data), strict=False).metadata
        except Exception:  # the title is a nicety; _read already vetted the file
            return ""
    return clean(str(meta.title)) if meta and meta.title else ""


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", clean(text))


def _drop_running(pages: list[list[str]]) -> list[_Line]:
    """Body lines of all pages in order, without running headers, footers and page numbers."""
    edges: list[set[int]] = []
    counts: Counter[str] = Counter()
    for lines in pages:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        edge = set(filled[:3] + filled[-3:])
        edges.append(edge)
        counts.update({_shape(lines[i]) for i in edge})
    threshold = max(2, (len(pages) + 1) // 2)
    running = {shape for shape, n in counts.items() if n >= threshold}
    body: list[_Line] = []
    for lines, edge in zip(pages, edges, strict=True):
        kept: list[_Line] = []
        for i, raw in enumerate(lines):
            text = clean(raw)
            if _ID_LINE.match(text) or (i in edge and (_shape(raw) in running or _PAGE_NO.match(text))):
                continue
            kept.append(_Line(text, len(raw) - len(raw.lstrip())))
        while kept and not kept[0].text:
            kept.pop(0)
        while kept and not kept[-1].text:
            kept.pop()
        body.extend(kept)  # no blank line at a page break: paragraphs run on
    return body


def _drop_contents(lines: list[_Line]) -> list[_Line]:
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


def _follows(new: tuple[int, ...], prev: tuple[int, ...]) -> bool:
    """Whether clause ``new`` can come right after ``prev``: its first child, or a later
    sibling of it or of one of its ancestors (gaps of up to two tolerated)."""
    if not prev:
        return new == (1,)
    if new == (*prev, 1):
        return True
    for k in range(len(prev)):
        if len(new) == k + 1 and new[:k] == prev[:k] and prev[k] < new[k] <= prev[k] + 3:
            return True
    return False


class _Builder:
    """Turns body lines into clauses, provisions and their paragraphs."""

    def __init__(self) -> None:
        self.tree = Tree()
        self.prev: tuple[int, ...] = ()
        self.annex: Node | None = None
        self.clause: Node | None = None
        self.target: Node | None = None
        self.informative = False
        self.done = False
        self.para: list[_Line] = []

    def line(self, line: _Line, width: int) -> None:
        text = line.text
        if not text:
            self.flush()
            return
        if self.heading(text):
            return
        if self.para and self.breaks(line, width):
            self.flush()
        self.para.append(line)

    def breaks(self, line: _Line, width: int) -> bool:
        """Whether ``line`` starts a new paragraph (no blank line seen)."""
        text, prev = line.text, self.para[-1]
        if len(self.para) == 1 and is_guidance_marker(prev.text) and len(prev.text.split()) == 1:
            return False  # a "NOTE:" label on a line of its own, its text below
        if is_guidance_marker(text) or is_bullet(text) or _PROVISION.match(text) or applies_to(text):
            return True
        if line.indent + 2 < prev.indent:
            return True
        return prev.text.endswith((".", ":", ";")) and len(prev.text) + prev.indent < 0.75 * width

    def heading(self, text: str) -> bool:
        if self.done:
            return True
        if self.prev and text == "History":  # the ETSI revision table closes the document
            self.flush()
            self.done = True
            return True
        again = _CLAUSE.match(text)
        first = self.tree.by_key.get("1")
        if again and again["num"] == "1" and first and _PAGE_END.sub("", first.title) == again["title"]:
            # clause 1 again under the same title: what we read so far was a contents list
            # without dot leaders (and the front matter after it); start over
            self.tree, self.prev, self.annex, self.informative = Tree(), (), None, False
        annex = _ANNEX.match(text)
        if annex and self.prev and (self.annex is None or annex["letter"] > self.annex.ident[-1]):
            self.flush()
            self.annex = self.tree.add(f"Annex {annex['letter']}", "annex", annex["title"])
            self.clause = self.target = self.annex
            self.informative = annex["nature"] == "informative"
            self.prev = (0,)
            return True
        match = (_ANNEX_CLAUSE if self.annex else _CLAUSE).match(text)
        if not match or match["title"].endswith((".", ",", ";")) or len(match["title"].split()) > 20:
            return False
        parts = match["num"].split(".")
        if self.annex is not None and parts[0] != self.annex.ident[-1]:
            return False
        number = tuple(int(p) for p in parts[1:]) if self.annex else tuple(int(p) for p in parts)
        if self.annex is not None and self.prev == (0,):
            if number != (1,):
                return False
        elif not _follows(number, self.prev):
            return False
        self.flush()
        if self.annex is None and len(number) == 1:
            self.informative = bool(_INFORMATIVE.match(match["title"]))
        parent = self.tree.ancestor(match["num"], self.annex)
        self.clause = self.target = self.tree.add(match["num"], "clause", match["title"], parent)
        self.prev = number
        return True

    def flush(self) -> None:
        if not self.para:
            return
        text = _join(self.para)
        self.para = []
        if self.clause is None:
            return  # front matter
        provision = _PROVISION.match(text)
        if provision:
            ident = provision["id"]
            base, _, sub = ident.rpartition(".")
            # "5.1.1-1.1" is a sub-provision of "5.1.1-1"; "5.1.1-1" belongs to its clause
            above = self.tree.by_key.get(normalise_key(base)) if "-" in base and sub else None
            self.target = self.tree.add(ident, "provision", parent=above or self.clause)
            text = provision["text"]
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


def _join(lines: list[_Line]) -> str:
    """A paragraph's lines as one string; a line ending in a hyphen runs on ("role-\\nspecific")."""
    out = lines[0].text
    for line in lines[1:]:
        if out.endswith("-") and out[-2:-1].isalpha() and line.text[:1].islower():
            out += line.text
        else:
            out += " " + line.text
    return out


def _build(lines: list[_Line]) -> Tree:
    lengths = sorted(len(line.text) + line.indent for line in lines if line.text)
    width = lengths[int(len(lengths) * 0.95)] if lengths else 80
    builder = _Builder()
    for line in lines:
        builder.line(line, width)
    builder.flush()
    return builder.tree


PARSER = EtsiPdfParser()
