"""OWASP AI Exchange Markdown chapters (``owaspai.org`` ``docs/*.md``, Hugo front matter).

Each file is a ``PART``: a ``chapter`` node (the front-matter title, with the text before the
first heading) and one node per heading, nested by heading level. The AI Exchange has no
releases and renumbers its headings freely ("2.4. Model theft through use" became
"2.4. Model exfiltration"), so numbers never enter a key; they are kept as the ``number``
property.

Identifiers. Controls are headings named like ``#### #DATA MINIMIZE``: the name is the
publisher's own identifier and the ident (as printed), and its key drops the spaces, since
the site moved from ``#DATAMINIMIZE`` (2024) to ``#DATA MINIMIZE`` (2026) without changing
the control. Other headings are keyed by the slug of their text without the number. Every
key is prefixed with the chapter (the file name without its leading number, e.g.
``general-controls``) because one control can be described in two chapters at once
(``#TRAIN ADVERSARIAL`` under evasion and under data poisoning, since 2024-12) and a parser
sees one file at a time, so the chapter is the only deterministic way to keep keys unique
across a version. The bare control name is the ``control`` property, so a control that moves
between chapters (``#INPUT SEGREGATION`` in 2024, ``#MODEL ALIGNMENT`` in 2026) can still be
matched by name. A key repeated inside one file is qualified with its parent's slug, then
with an ordinal.

Statement: the section's own text up to the next heading, as plain text. The ``Category`` and
``Permalink`` lines under a heading are metadata (properties), not text. Index pages (the
alphabetical topic list) hold no requirements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
    split_number,
)

NAME = "owasp-ai-exchange-md"
VERSION = "2"

_HINT = "expected an OWASP AI Exchange chapter: Markdown with Hugo front matter (title, weight) and headings"
_CONTROL = re.compile(r"^#\s*([A-Z0-9][A-Z0-9 /&_.-]*[A-Z0-9])$")
_META = re.compile(r"^\s*>\s*(category|permalink)\s*:\s*(.*?)\s*$", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"^\d+[_\-. ]*")


@dataclass
class _Node:
    ident: str
    key: str
    title: str
    kind: str
    level: int
    depth: int
    parent: str | None
    slug: str
    body: list[str] = field(default_factory=list)
    properties: list[tuple[str, str]] = field(default_factory=list)

    def finish(self) -> Requirement:
        lines: list[str] = []
        properties = list(self.properties)
        for line in self.body:
            meta = _META.match(line)
            if meta:
                properties.append((meta.group(1).lower(), meta.group(2)))
            else:
                lines.append(line)
        return Requirement(
            ident=self.ident,
            key=self.key,
            title=self.title,
            statement=markdown_to_text("\n".join(lines)),
            parent=self.parent,
            depth=self.depth,
            kind=self.kind,
            # the Top 10 risks and ATLAS techniques the section links: the Exchange's own
            # cross-references (its links to its other sections are not, and name no source)
            links=citations("\n".join(lines)),
            properties=tuple(properties),
        )


class AiExchangeParser:
    """Reads one AI Exchange chapter into a chapter node and its heading tree."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        if not basename(filename).lower().endswith((".md", ".markdown")):
            return 0
        head = data[:4096]
        hugo = head.startswith(b"---") and re.search(rb"(?m)^weight\s*:", head) is not None
        has_title = re.search(rb"(?m)^title\s*:", head) is not None
        if hugo and has_title:
            return 90 if b"owaspai.org" in data[:65536] else 75
        if b"owaspai.org/goto/" in head or b"owaspai.org/go/" in head:
            return 40
        return 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        name = basename(filename)
        fields, body = front_matter(decode(filename, data, "Markdown"))
        lines = body.split("\n")
        if not fields.get("title") and not any(HEADING.match(line.strip()) for line in lines):
            raise ParseError(filename, "no front-matter title and no headings", _HINT)
        stem = name.rsplit(".", 1)[0]
        chapter = slugify(_LEADING_NUMBER.sub("", stem)) or slugify(stem) or "chapter"
        doc_title = md_inline(fields.get("title", "")) or stem
        if fields.get("title", "").strip().lower() == "index" or stem.lower().endswith("index"):
            return ParsedDocument(
                format=NAME, parser_version=VERSION, role=DocumentRole.PART, title=doc_title
            )

        number, chapter_title = split_number(doc_title)
        root = _Node(chapter, normalise_key(chapter), chapter_title, "chapter", 0, 0, None, chapter)
        if number:
            root.properties.append(("number", number))
        nodes = [root]
        used = {root.key}
        stack = [root]
        for line, code in zip(lines, in_code(lines), strict=True):
            heading = None if code else HEADING.match(line.strip())
            if heading is None:
                nodes[-1].body.append(line)
                continue
            level = len(heading.group(1))
            while len(stack) > 1 and stack[-1].level >= level:
                stack.pop()
            node = _heading_node(chapter, md_inline(heading.group(2)), level, stack[-1], used, len(nodes))
            nodes.append(node)
            stack.append(node)
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.PART,
            title=doc_title,
            requirements=tuple(node.finish() for node in nodes),
        )


def _heading_node(chapter: str, text: str, level: int, parent: _Node, used: set[str], position: int) -> _Node:
    """A node for one heading, with a key unique within the file (see the module docstring)."""
    control = _CONTROL.match(text)
    properties: list[tuple[str, str]] = []
    if control:
        title = " ".join(control.group(1).split())
        kind, slug, local = "control", slugify(title), "#" + title
        properties.append(("control", title.replace(" ", "")))
    else:
        number, title = split_number(text)
        kind, slug = "section", slugify(title) or f"section-{position}"
        local = slug
        if number:
            properties.append(("number", number))
    path = f"{chapter}/{local}"
    if normalise_key(path) in used and parent.kind != "chapter":
        path = f"{chapter}/{parent.slug}/{local}"
    key, ordinal = normalise_key(path), 1
    while key in used:
        ordinal += 1
        key = normalise_key(path) + f"~{ordinal}"
    used.add(key)
    ident = local if control else path + (f"~{ordinal}" if ordinal > 1 else "")
    return _Node(ident, key, title, kind, level, parent.depth + 1, parent.key, slug, properties=properties)


PARSER = AiExchangeParser()
