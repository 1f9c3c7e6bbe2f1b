"""NIST AI RMF publications as NIST prints them: AI 100-1 (the AI RMF) and AI 600-1 (the
Generative AI Profile), read from the PDF (tables by :mod:`tracker.sources.parsing.nist_tables`).

Domain decisions:

- The PDF is one rendition of a text that also exists in machine-readable form (the
  framework-library YAML and the Playbook JSON of the AI RMF), so it yields the same tree
  and the same keys: functions ("GOVERN"), categories ("GOVERN 1") and subcategories
  ("GOVERN 1.1"), kinds ``function``/``category``/``subcategory`` at depths 0/1/2, in the
  framework's order. A diff between renditions of one version then compares like with like.
- A category's and a subcategory's statement is its outcome as printed after the colon.
  Functions are group nodes titled by name: their prose introduction is not a requirement.
- AI 600-1's suggested actions are nodes of kind ``action`` under the subcategory they
  serve, identified as printed ("GV-1.1-001"; key ``GV-1.1-1`` by the usual zero rule). The
  action's parent comes from its own ID, not from the heading above it, so a heading lost
  to a page break cannot move an action. Its GAI risks are the property ``gai-risks`` and
  the subcategory's "AI Actor Tasks" the property ``ai-actors`` (on the subcategory and on
  each of its actions), both "; "-separated like the Playbook's ``ai-actors``.
- The title page gives the publication number, title and month (the publication date, first
  of the month); "(AI RMF 1.0)" in the title is the version hint.
"""

from __future__ import annotations

import re
from datetime import date

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement
from tracker.sources.parsing import nist_tables
from tracker.sources.parsing.nist_tables import FUNCTIONS, Entry
from tracker.sources.parsing.pdf_text import drop_running, join_lines, read_pages, vocabulary
from tracker.sources.parsing.provisions import clean

NAME = "nist-ai-pdf"
VERSION = "1"

_FILENAME = re.compile(r"NIST\.AI\.\d{3}-\d", re.IGNORECASE)
_MARKERS = (b"NIST AI 100-", b"NIST AI 600-", b"Artificial Intelligence Risk Management Framework")
_NUMBER = re.compile(r"^NIST\s+AI\s+(?P<n>\d{3}-\d+)$")
_MONTH = re.compile(
    r"^(?P<m>January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\s+(?P<y>\d{4})$"
)
_RMF_VERSION = re.compile(r"\(AI RMF (?P<v>\d+\.\d+)\)")
_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July")
_MONTHS += ("August", "September", "October", "November", "December")
_RISKS = re.compile(r"\s*;\s*")  # a risk's own name may hold commas: "Dangerous, Violent, or ..."
_ACTORS = re.compile(r"\s*[;,]\s*")


class NistAiPdfParser:
    """NIST AI 100-1 and AI 600-1 publication PDFs."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        if b"%PDF-" not in data[:1024] or data[:1024].lstrip().startswith(b"<"):
            return 0
        if _FILENAME.search(filename.rsplit("/", 1)[-1]):
            return 90
        return 85 if any(marker in data[:65536] for marker in _MARKERS) else 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        pages = read_pages(filename, data)
        number, title, published = _identity(pages[0])
        lines = drop_running(pages[1:])
        words = vocabulary(line.text for line in lines)
        outcomes, actions = nist_tables.profile(lines)
        if actions:
            tree = _profile_tree(outcomes, actions, words)
        else:
            categories, subcategories = nist_tables.core(lines)
            if not subcategories:
                raise ParseError(
                    filename,
                    "neither the AI RMF Core tables (GOVERN 1.1 ...) "
                    "nor suggested actions (GV-1.1-001 ...) found",
                    "this parser reads NIST AI 100-1 and AI 600-1; archive other NIST PDFs as format 'raw'",
                )
            tree = _core_tree(categories, subcategories, words)
        hint = _RMF_VERSION.search(title)
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.CATALOG,
            title=f"NIST AI {number}: {title}" if number else title or filename.rsplit("/", 1)[-1],
            requirements=tuple(tree),
            version_hint=hint.group("v") if hint else "",
            published=published,
        )


def _identity(first: list[str]) -> tuple[str, str, date | None]:
    """Publication number, title and month from the title page."""
    lines = [clean(line) for line in first if line.strip()]
    number, title, published = "", [], None
    for line in lines:
        found, month = _NUMBER.match(line), _MONTH.match(line)
        if found and not number:
            number = found["n"]
        elif month and published is None:
            published = date(int(month["y"]), _MONTHS.index(month["m"]) + 1, 1)
        elif number and published is None and not line.startswith("This publication"):
            title.append(line)
    return number, " ".join(title), published


def _order(ident: str) -> tuple[int, ...]:
    """Framework order: GOVERN, MAP, MEASURE, MANAGE, then by number."""
    fn, _, rest = ident.partition(" ")
    return (FUNCTIONS.index(fn), *(int(p) for p in rest.split(".") if p))


def _groups(idents: list[str]) -> list[Requirement]:
    """Function and category nodes for subcategories whose groups the document does not print."""
    out: list[Requirement] = []
    for fn in dict.fromkeys(i.split(" ")[0] for i in idents):
        out.append(Requirement(ident=fn, key=normalise_key(fn), title=fn.title(), kind="function"))
    for ident in dict.fromkeys(i.split(".")[0] for i in idents):
        fn = ident.split(" ")[0]
        out.append(Requirement(ident=ident, key=normalise_key(ident), parent=fn, depth=1, kind="category"))
    return out


def _outcome(entry: Entry, kind: str, parent: str, depth: int, words: frozenset[str]) -> Requirement:
    actors = _listed(entry.actors, words, _ACTORS)
    return Requirement(
        ident=entry.ident,
        key=normalise_key(entry.ident),
        statement=join_lines(entry.text, words),
        parent=normalise_key(parent),
        depth=depth,
        kind=kind,
        properties=(("ai-actors", actors),) if actors else (),
    )


def _core_tree(
    categories: list[Entry], subcategories: list[Entry], words: frozenset[str]
) -> list[Requirement]:
    printed = {c.ident: c for c in categories}
    reqs = [r for r in _groups([s.ident for s in subcategories]) if r.kind == "function"]
    for ident in dict.fromkeys(s.ident.split(".")[0] for s in subcategories):
        fn = ident.split(" ")[0]
        reqs.append(_outcome(printed.get(ident, Entry(ident)), "category", fn, 1, words))
    reqs += [_outcome(s, "subcategory", s.ident.split(".")[0], 2, words) for s in subcategories]
    return sorted(reqs, key=lambda r: _order(r.ident))


def _profile_tree(outcomes: list[Entry], actions: list[Entry], words: frozenset[str]) -> list[Requirement]:
    printed = {o.ident: o for o in outcomes}
    subs = list(dict.fromkeys(a.outcome for a in actions))
    reqs = _groups(subs)
    reqs += [_outcome(printed.get(s, Entry(s)), "subcategory", s.split(".")[0], 2, words) for s in subs]
    ranked = sorted(reqs, key=lambda r: _order(r.ident))
    out: list[Requirement] = []
    for req in ranked:
        out.append(req)
        if req.kind != "subcategory":
            continue
        actors = req.prop("ai-actors")
        for action in (a for a in actions if a.outcome == req.ident):
            props = [("gai-risks", _listed(action.risks, words, _RISKS))] + (
                [("ai-actors", actors)] if actors else []
            )
            out.append(
                Requirement(
                    ident=action.ident,
                    key=normalise_key(action.ident),
                    statement=join_lines(action.text, words),
                    parent=req.key,
                    depth=3,
                    kind="action",
                    properties=tuple(p for p in props if p[1]),
                )
            )
    return out


def _listed(lines: list[str], words: frozenset[str], separator: re.Pattern[str]) -> str:
    """A printed list ("Data Privacy; Harmful Bias", "AI Design, TEVV") as "a; b"."""
    return "; ".join(part for part in separator.split(join_lines(lines, words).rstrip(".")) if part)


PARSER = NistAiPdfParser()
