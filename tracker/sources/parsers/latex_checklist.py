"""The OWASP LLM AI Cybersecurity & Governance Checklist, LaTeX sections (``*.tex``).

Every ``\\chapter``/``\\section``/``\\subsection`` is a node nested by level; each file also
has a ``chapter`` root named after the file (``checklist``, ``overview``, ...), which holds the
text before the first section. In the checklist file (the one with a ``checklist``
environment, or named ``checklist.tex``) every ``\\item`` is a node too, under its section:

- items of a ``checklist`` environment are the requirements (kind ``item``, the text is the
  statement); their ident is the section slug plus the item's ordinal within the section,
  ``adversarial-risk.3``, and nested items extend it (``legal.4.1``). LaTeX prints no numbers,
  so the ordinal is the only stable handle the publisher gives; an item inserted above shifts
  the ordinals below it, and the diff engine aligns such items by text similarity as well as
  by key, so an ordinal ident costs a few extra comparisons rather than wrong alignments;
- items of other lists (``itemize``: the attributes of a model card) describe rather than
  ask, so they are ``list-item`` nodes with the text as guidance, keyed by their bold label
  (``model-cards-and-risk-cards.model-details``) or else ``<section>.list-<n>``.

Section text (the introduction above a checklist) is guidance. The three narrative files
(overview, challenges, strategy) are kept as ``chapter``/``section`` nodes with guidance only:
they give context to the reviewer and the mapper but carry no obligations, and their idents
are prefixed with the file (``overview/who-is-this-for``) because the overview repeats
sections of the challenges file. All text is plain: see :func:`latex_to_text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement
from tracker.sources.parsing.markup import basename, decode, latex_to_text, slugify

NAME = "latex-checklist"
VERSION = "1"

_HINT = "expected a LaTeX section file with \\chapter/\\section headings (OWASP LLM governance checklist)"
_LEVELS = {"part": -1, "chapter": 0, "section": 1, "subsection": 2, "subsubsection": 3, "paragraph": 4}
_TOKEN = re.compile(
    r"\\(?P<cmd>part|chapter|section|subsection|subsubsection|paragraph)\*?\s*(?:\[[^\]]*\])?\s*(?=\{)"
    r"|\\begin\s*\{(?P<begin>[^}]*)\}|\\end\s*\{(?P<end>[^}]*)\}|\\item\b"
)
_COMMENT = re.compile(r"(?<!\\)%.*")
_LISTS = frozenset({"itemize", "enumerate", "description", "checklist", "compactitem", "todolist"})
_BOLD_LABEL = re.compile(r"^\s*\\textbf\s*\{([^{}]+)\}")
_SNIFF_HEADING = re.compile(rb"\\(?:chapter|section|subsection)\*?\s*[\[{]")


@dataclass
class _Node:
    ident: str
    title: str
    kind: str
    level: int
    depth: int
    parent: str | None
    chunks: list[str] = field(default_factory=list)
    normative: bool = False

    def finish(self) -> Requirement:
        text = latex_to_text("".join(self.chunks))
        return Requirement(
            ident=self.ident,
            key=normalise_key(self.ident),
            title=self.title,
            statement=text if self.normative else "",
            guidance="" if self.normative else text,
            parent=normalise_key(self.parent) if self.parent else None,
            depth=self.depth,
            kind=self.kind,
        )


@dataclass
class _List:
    env: str
    owner: _Node


class LatexChecklistParser:
    """Reads one LaTeX section file of the OWASP LLM governance checklist."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        is_tex = basename(filename).lower().endswith((".tex", ".latex", ".ltx"))
        if is_tex and _SNIFF_HEADING.search(data[:262144]):
            return 85
        if is_tex:
            return 30  # ours, though parse will say what is missing
        if data.lstrip()[:14] == b"\\documentclass":
            return 40
        return 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        text = decode(filename, data, "LaTeX")
        text = "\n".join(_COMMENT.sub("", line) for line in text.split("\n"))
        stem = slugify(basename(filename).rsplit(".", 1)[0]) or "document"
        checklist = "\\begin{checklist}" in text or stem == "checklist"
        builder = _Builder(filename, stem, checklist)
        builder.run(text)
        if not builder.headings:
            raise ParseError(filename, "no \\chapter, \\section or \\subsection found", _HINT)
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.PART,
            title=builder.root.title,
            requirements=tuple(node.finish() for node in builder.nodes),
        )


class _Builder:
    def __init__(self, filename: str, stem: str, checklist: bool) -> None:
        self.filename = filename
        self.stem = stem
        self.checklist = checklist
        self.root = _Node(stem, stem, "chapter", 0, 0, None)
        self.nodes: list[_Node] = [self.root]
        self.used = {normalise_key(stem)}
        self.stack: list[_Node] = [self.root]
        self.lists: list[_List] = []
        self.counters: dict[tuple[str, str], int] = {}
        self.current = self.root
        self.headings = 0
        self.titled = False  # the first \chapter names the root instead of opening a node

    def run(self, text: str) -> None:
        pos = 0
        for match in _TOKEN.finditer(text):
            if match.start() < pos:  # inside a heading argument already consumed
                continue
            self.current.chunks.append(text[pos : match.start()])
            pos = match.end()
            if match.group("cmd"):
                title, pos = _group(text, pos, self.filename)
                self._heading(match.group("cmd"), latex_to_text(title))
            elif not self.checklist:
                self.current.chunks.append(match.group(0))
            elif (env := match.group("begin")) is not None and env.strip() in _LISTS:
                owner = self.current if self.current.kind in ("item", "list-item") else self.stack[-1]
                self.lists.append(_List(env.strip(), owner))
            elif (env := match.group("end")) is not None and self.lists and self.lists[-1].env == env.strip():
                self.current = self.lists.pop().owner
                self.current.chunks.append("\n\n")
            elif match.group(0) == "\\item" and self.lists:
                self._item(text, pos)
            else:
                self.current.chunks.append(match.group(0))
        self.current.chunks.append(text[pos:])

    def _heading(self, cmd: str, title: str) -> None:
        self.headings += 1
        level = _LEVELS[cmd]
        self.lists.clear()
        if level <= 0 and not self.titled and len(self.nodes) == 1:
            self.root.title, self.current, self.titled = title or self.stem, self.root, True
            return
        while len(self.stack) > 1 and self.stack[-1].level >= level:
            self.stack.pop()
        parent = self.stack[-1]
        slug = slugify(title) or f"{cmd}-{self.headings}"
        ident = slug if self.checklist else f"{self.stem}/{slug}"
        if normalise_key(ident) in self.used and parent is not self.root:
            ident = f"{parent.ident}/{slug}"
        node = self._add(ident, title, "chapter" if level <= 0 else "section", level, parent)
        self.stack.append(node)
        self.current = node

    def _item(self, text: str, pos: int) -> None:
        entry = self.lists[-1]
        owner = entry.owner
        normative = entry.env == "checklist"
        kind = "item" if normative else "list-item"
        count = self.counters[(owner.ident, kind)] = self.counters.get((owner.ident, kind), 0) + 1
        label = None if normative else _BOLD_LABEL.match(text[pos : pos + 400])
        suffix = str(count) if normative else (slugify(label.group(1)) if label else f"list-{count}")
        title = latex_to_text(label.group(1)) if label else ""
        node = self._add(f"{owner.ident}.{suffix}", title, kind, owner.level + 1, owner)
        node.normative = normative
        self.current = node

    def _add(self, ident: str, title: str, kind: str, level: int, parent: _Node) -> _Node:
        base, ordinal = ident, 1
        while normalise_key(ident) in self.used:
            ordinal += 1
            ident = f"{base}~{ordinal}"
        self.used.add(normalise_key(ident))
        node = _Node(ident, title, kind, level, parent.depth + 1, parent.ident)
        self.nodes.append(node)
        return node


def _group(text: str, start: int, filename: str) -> tuple[str, int]:
    """The balanced ``{...}`` argument opening at ``text[start]``, and the index after it."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index], index + 1
        index += 1
    line = text.count("\n", 0, start) + 1
    raise ParseError(filename, f"unbalanced braces in a heading at line {line}", _HINT)


PARSER = LatexChecklistParser()
