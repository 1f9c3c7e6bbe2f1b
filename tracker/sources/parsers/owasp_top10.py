"""OWASP Top 10 Markdown (LLM Applications, Machine Learning Security): one entry per file.

Each entry file becomes one requirement (kind ``entry``) in a ``PART`` document titled with
the list's name; the preface (``LLM00_Preface.md``) and list pages (``index.md``) are parts
with no requirements, titled with their heading.

Identifiers. The id is taken as printed: from the entry heading (``## LLM01: Prompt
Injection``, ``LLM01:2025 Prompt Injection``, ``### LLM02:2023 - Data Leakage``) or the
front-matter title (``ML01:2023 Input Manipulation Attack``); failing that from the file
name (v1.0 headings carry no number, but its files are ``LLM01_PromptInjection.md``). The
v0.9 draft prints no number anywhere, so its entries are keyed by the slug of the title
(``prompt-injection``): an invented number would falsely align v0.9 with v1.0, whereas a
slug is honest and the diff engine aligns those entries by text. The list year (``:2025``)
is not part of the id (the key must survive from one list to the next); it is kept as
the ``list`` property. Where the id came from is the ``ident-source`` property.

Statement and guidance. A Top 10 entry describes a risk; what an organisation is asked to
do is the prevention section ("How to Prevent", "Prevention and Mitigation Strategies",
"How to Prevent & Mitigations"), so that alone is the statement: a reworded description
is an editorial change for the reader, a changed mitigation is a change in what they must
do. Description, examples, scenarios, risk factors and references are guidance, each under
its section label. All text goes through :func:`markdown_to_text`, so markup-only edits
(re-wrapping, bullets, emphasis, link targets) vanish.

Cross-references. The entry's links to requirements of other tracked publications (the
MITRE ATLAS techniques under "Related Frameworks and Taxonomies", another Top 10 list) are
the entry's ``cites`` links (see :mod:`tracker.sources.parsing.citations`).
"""

from __future__ import annotations

import re

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement
from tracker.sources.parsing.citations import citations
from tracker.sources.parsing.markup import (
    HEADING,
    basename,
    decode,
    front_matter,
    in_code,
    markdown_to_text,
    md_inline,
    slugify,
)

NAME = "owasp-top10-md"
VERSION = "2"

_HINT = "expected one OWASP Top 10 entry per Markdown file, headed like '## LLM01: Prompt Injection'"
_ENTRY = re.compile(
    r"^\[?(?P<id>(?:LLM|ML)\s?\d{1,2})(?:\s*:\s*(?P<year>(?:19|20)\d\d)\b)?\s*[-\u2013\u2014:]?\s*(?P<title>.*?)\]?$",
    re.IGNORECASE,
)
_FILE_ID = re.compile(r"^(?P<id>(?:LLM|ML)\d{1,2})(?=[_\-. ]|$)", re.IGNORECASE)
_TITLE_PREFIX = re.compile(r"^title\s*:\s*", re.IGNORECASE)
_BOLD_LABEL = re.compile(r"^(?:\*\*|__)(?P<label>[^*_\n]{2,80}?)(?:\*\*|__)\s*:?\s*(?P<rest>.*)$")
_SECTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("prevention", r"^(how to prevent|prevention|mitigations?\b|preventi(ve|on) measures|remediation)"),
        ("description", r"^(description|context|overview)\b"),
        ("examples", r"^(common (examples|\w+( \w+)* (vulnerabilities|issues|risks))|types of )"),
        ("scenarios", r"^((example|sample) )?attack scenarios?\b"),
        ("references", r"^(reference links|references?|further reading)\b"),
        ("risk-factors", r"^risk factors\b"),
        ("frameworks", r"^related frameworks"),
        ("commentary", r"^author comment"),
    )
)
_LISTS = {"LL": "OWASP Top 10 for LLM Applications", "ML": "OWASP Machine Learning Security Top Ten"}
# the tracked source each list is archived as: a link from an entry to another entry of its
# own list is not a cross-reference to another publication
_OWN_SOURCE = {"LL": "owasp-top10-llm", "ML": "owasp-ml-security-top10"}
_PREFACE_STEMS = ("index", "readme", "_index")
_FM_PROPERTIES = ("exploitability", "prevalence", "detectability", "technical")
_ENTRY_WORDS = (
    b"how to prevent",
    b"prevention and mitigation",
    b"example attack scenario",
    b"common examples of",
)


def _classify(label: str) -> str:
    for name, pattern in _SECTIONS:
        if pattern.match(label):
            return name
    return ""


def _label(raw: str) -> str:
    return md_inline(raw).rstrip(" :").strip()


class OwaspTop10Parser:
    """Reads one OWASP Top 10 entry (or preface) Markdown file."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        name = basename(filename)
        if not name.lower().endswith((".md", ".markdown")):
            return 0
        head = data[:4096]
        if head.startswith(b"---") and re.search(rb"(?m)^weight\s*:", head):
            return 0  # Hugo chapter front matter: the AI Exchange
        if _FILE_ID.match(name) or re.search(rb"(?im)^title\s*:\s*(LLM|ML)\d{1,2}\s*:", head):
            return 90
        if re.search(rb"(?im)^#{1,6}\s+(title:\s*)?(LLM|ML)\d{1,2}\s*:", head):
            return 85
        lowered = data[:65536].lower()
        if any(word in lowered for word in _ENTRY_WORDS):
            return 70
        if b"owasp top 10" in lowered[:4096]:
            return 50
        return 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        name = basename(filename)
        fields, body = front_matter(decode(filename, data, "Markdown"))
        lines = body.split("\n")
        headings = [(i, md_inline(m.group(2))) for i, m in _headings(lines)]
        if fields.get("title"):  # ML Top 10: the entry heading is the front-matter title
            heading_line = fields["title"]
            start = headings[0][0] + 1 if headings[:1] and _ENTRY.match(headings[0][1]) else 0
        elif headings:
            heading_line, start = headings[0][1], headings[0][0] + 1
        else:
            raise ParseError(filename, "no entry heading and no front-matter title", _HINT)
        heading_line = _TITLE_PREFIX.sub("", md_inline(heading_line))
        printed = _ENTRY.match(heading_line)
        if _is_preface(name, printed, {m.group("id").upper() for _, h in headings if (m := _ENTRY.match(h))}):
            title = printed.group("title") if printed else heading_line
            return ParsedDocument(format=NAME, parser_version=VERSION, role=DocumentRole.PART, title=title)

        sections = _sections(lines[start:])
        file_id = _FILE_ID.match(name)
        properties: list[tuple[str, str]] = []
        if printed:
            ident, title = printed.group("id").upper().replace(" ", ""), printed.group("title")
            source = "front-matter" if fields.get("title") and not start else "heading"
        elif file_id:
            ident, title, source = file_id.group("id").upper(), heading_line, "filename"
        elif any(kind for kind, _, _ in sections) and slugify(heading_line):
            ident, title, source = slugify(heading_line), heading_line, "title"
        else:
            problem = "no entry id (LLMnn/MLnn) and no entry sections such as 'How to Prevent'"
            raise ParseError(filename, problem, _HINT)
        properties.append(("ident-source", source))
        year = (printed.group("year") if printed else None) or fields.get("year")
        if year:
            properties.append(("list", year))
        properties += [(k, fields[k]) for k in _FM_PROPERTIES if fields.get(k)]
        requirement = Requirement(
            ident=ident,
            key=normalise_key(ident),
            title=title.strip() or heading_line,
            statement="\n\n".join(text for kind, _, text in sections if kind == "prevention" and text),
            guidance="\n\n".join(
                f"{label}\n\n{text}" if label else text
                for kind, label, text in sections
                if kind != "prevention" and text
            ),
            kind="entry",
            links=citations(body, own_source=_OWN_SOURCE.get(ident[:2].upper(), "")),
            properties=tuple(properties),
        )
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.PART,
            title=fields.get("document") or _LISTS.get(ident[:2].upper(), requirement.title),
            requirements=(requirement,),
            version_hint=year or "",  # the list's edition as the entries print it ("LLM01:2025")
        )


def _headings(lines: list[str]) -> list[tuple[int, re.Match[str]]]:
    """``(line index, match)`` of every Markdown heading outside fenced code."""
    return [
        (i, m)
        for i, (line, code) in enumerate(zip(lines, in_code(lines), strict=True))
        if not code and (m := HEADING.match(line.strip()))
    ]


def _is_preface(name: str, printed: re.Match[str] | None, listed: set[str]) -> bool:
    """The preface (``LLM00``), an ``index.md``/``README.md``, or a page listing several entries."""
    stem = name.rsplit(".", 1)[0].lower()
    found = printed or _FILE_ID.match(name)
    number = int(re.sub(r"\D", "", found.group("id"))) if found else None
    return stem in _PREFACE_STEMS or "preface" in stem or number == 0 or len(listed) > 1


def _sections(lines: list[str]) -> list[tuple[str, str, str]]:
    """Split an entry body into ``(kind, label, text)``; the first is the unlabelled preamble.

    A section starts at a heading on the level of the entry's known section headings
    (``### Description``) or at a bold label line naming a known section
    (``**How to Prevent:**``), the form the 2023 drafts use. Deeper headings
    (``#### 1. Constrain model behavior``) stay inside their section, and so do bold labels
    under a heading-made section (the 2025 RC's per-scenario ``**Mitigation:**``).
    """
    found = dict(_headings(lines))
    levels = [len(m.group(1)) for m in found.values() if _classify(_label(m.group(2)))]
    level = min(levels) if levels else 0
    parts: list[tuple[str, str, list[str]]] = [("", "", [])]
    under_heading = False
    code = in_code(lines)
    for index, line in enumerate(lines):
        stripped = line.strip()
        heading = found.get(index)
        if heading and len(heading.group(1)) <= level:
            label = _label(heading.group(2))
            parts.append((_classify(label) or "other", label, []))
            under_heading = True
            continue
        bold = None if heading or under_heading or code[index] else _BOLD_LABEL.match(stripped)
        if bold and (kind := _classify(_label(bold.group("label")))):
            rest = bold.group("rest").lstrip(": ")
            parts.append((kind, _label(bold.group("label")), [rest] if rest else []))
            continue
        parts[-1][2].append(line)
    return [(kind, label, markdown_to_text("\n".join(body))) for kind, label, body in parts]


PARSER = OwaspTop10Parser()
