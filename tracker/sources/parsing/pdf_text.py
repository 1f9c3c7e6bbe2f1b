"""Text of publication PDFs, read with pypdf (BSD licence, pure Python), for the PDF parsers.

What every publisher's PDF needs before its own layout rules apply:

* text comes from pypdf's *layout* mode, which orders lines by position and keeps the
  indentation and the column gaps that tell a NOTE's continuation from the next paragraph
  and a table's second column from running text; plain mode is the fallback;
* running headers and footers are lines near the top or bottom of at least half the pages
  (digits ignored, so page numbers do not make them differ), plus bare page numbers;
* a word hyphenated at a line end is joined without its hyphen only when the document
  spells the joined word elsewhere ("organiza-/tion" where "organization" occurs); otherwise
  the hyphen is a compound's ("role-/specific") and stays. No dictionary: the document is
  its own word list, so a term of art is never "corrected".
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import PdfReadWarning

from tracker.domain.errors import ParseError
from tracker.sources.parsing.provisions import clean

log = logging.getLogger(__name__)

_PAGE_NO = re.compile(r"^(?:Page\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?$", re.IGNORECASE)
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"})
_WORD = re.compile(r"[A-Za-z]{2,}")
_HYPHENATED = re.compile(r"([A-Za-z]+)-$")
# Word endings that are never a word of their own, so "-tion" at a line start is always the
# rest of a broken word even when the document never spells it whole.
_SUFFIXES = frozenset(
    {
        "tion", "tions", "sion", "sions", "ment", "ments", "ness", "ity", "ities", "ing", "ings",
        "ance", "ances", "ence", "ences", "ally", "ical", "ively", "ised", "ized", "isation", "ization",
        "ation", "ations", "tional", "ional",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Line:
    """One body line: ``text`` cleaned, ``raw`` as laid out (column gaps kept)."""

    text: str
    indent: int
    raw: str = ""
    page: int = 0


def read_pages(filename: str, data: bytes) -> list[list[str]]:
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
    if not pages:
        raise ParseError(filename, "the PDF has no pages")
    if not any(line.strip() for page in pages for line in page):
        raise ParseError(filename, "no text layer; OCR the document first", "its pages hold images, not text")
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


def metadata_title(data: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            meta = PdfReader(io.BytesIO(data), strict=False).metadata
        except Exception:  # the title is a nicety; read_pages already vetted the file
            return ""
    return clean(str(meta.title)) if meta and meta.title else ""


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", clean(text))


def drop_running(pages: list[list[str]], also: Callable[[str], bool] = lambda _: False) -> list[Line]:
    """Body lines of all pages in order, without running headers, footers and page numbers.

    ``also`` names lines to drop wherever they appear (a publisher's identity line). No
    blank line is kept at a page break, so a paragraph split by one runs on."""
    edges: list[set[int]] = []
    counts: Counter[str] = Counter()
    for lines in pages:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        edge = set(filled[:3] + filled[-3:])
        edges.append(edge)
        counts.update({_shape(lines[i]) for i in edge})
    threshold = max(2, (len(pages) + 1) // 2)
    running = {shape for shape, n in counts.items() if n >= threshold}
    body: list[Line] = []
    for number, (lines, edge) in enumerate(zip(pages, edges, strict=True)):
        kept: list[Line] = []
        for i, raw in enumerate(lines):
            text = clean(raw)
            if also(text) or (i in edge and (_shape(raw) in running or _PAGE_NO.match(text))):
                continue
            kept.append(Line(text, len(raw) - len(raw.lstrip()), raw, number))
        while kept and not kept[0].text:
            kept.pop(0)
        while kept and not kept[-1].text:
            kept.pop()
        body.extend(kept)
    return body


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Lower-cased words the document spells whole: the evidence for removing a hyphen."""
    return frozenset(word.lower() for text in texts for word in _WORD.findall(text))


def run_on(out: str, nxt: str, words: frozenset[str]) -> str:
    """``out`` followed by the next line ``nxt`` of the same paragraph or cell."""
    if not out:
        return nxt
    if not nxt:
        return out
    hyphen = _HYPHENATED.search(out)
    if hyphen and nxt[:1].islower():
        head = re.match(r"[A-Za-z]+", nxt)
        joined = hyphen.group(1) + (head.group(0) if head else "")
        if joined.lower() in words or (head is not None and head.group(0) in _SUFFIXES):
            return out[:-1] + nxt  # a word the typesetter broke: "organiza-" + "tion"
        return out + nxt  # a compound broken at its own hyphen: "role-" + "specific"
    return out + " " + nxt


def join_lines(texts: Iterable[str], words: frozenset[str]) -> str:
    out = ""
    for text in texts:
        out = run_on(out, text, words)
    return out
