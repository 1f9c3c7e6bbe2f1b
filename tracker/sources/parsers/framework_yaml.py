"""CISO Assistant framework-library YAML (``objects.framework.requirement_nodes``).

The corpus holds NIST CSF 1.1 and 2.0, the NIST AI RMF core, the EU AI Act and the NCSC CAF
in this shape. Each node has ``urn``, ``parent_urn``, ``depth``, ``assessable`` and usually
``ref_id``, ``name`` and ``description``. Domain decisions:

- A node with a ``ref_id`` is a requirement: ident = ref_id, title = name, statement =
  description, whether or not the packager marked it assessable (the legal text of a
  non-assessable paragraph still binds).
- Nodes without a ``ref_id`` labelled "Examples" (CSF 2.0 implementation examples) or
  "Preamble" (AI RMF function introductions), with no numbered or assessable node below, are
  folded into the parent's guidance: they illustrate or introduce an outcome and do not state
  one, so a new example must never read as a changed requirement.
- Other nodes without a ``ref_id`` stay in the tree with a derived ident: a named heading is
  identified by its name ("Article 4", "CHAPTER III") with the description as its title; an
  unnamed paragraph (the EU AI Act's unnumbered subparagraphs and annex points) by its parent's
  ident and its position, "Article 5 para 2". Urn tails ("node288") are avoided because they
  shift whenever the packager inserts a node earlier in the file.
- An ident printed more than once (the EU AI Act has a "Section 1" in several chapters) is
  prefixed with its parent's ident, "CHAPTER III Section 1", so keys stay unique; only if that
  still collides does the urn tail break the tie.
- EU AI Act recitals explain rather than enact: their text is guidance, kind ``recital``.
- A node whose text starts "Withdrawn" is withdrawn, with ``incorporated-into``/``moved-to``
  links to any successors it names. No corpus file has one; CSF 1.1 withdrawals are in OSCAL.
- Kinds: CSF and AI RMF nodes with a ref_id are function/category/subcategory by depth; the
  rest are ``requirement`` if assessable, else ``section``.

``requirement_mapping_sets`` (crosswalk libraries) are not read: no corpus file has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, Link, ParsedDocument, Requirement
from tracker.sources.parsing.base import Parser
from tracker.sources.parsing.loaders import as_date, load_yaml, text

NAME = "framework-library"
VERSION = "1"

_HEAD = 8192
_LIBRARY_URN = re.compile(rb"^urn:\s*['\"]?urn:intuitem:", re.MULTILINE)
_HINT = "expected a CISO Assistant framework library: objects.framework.requirement_nodes"
_GUIDANCE_LABELS = frozenset({"examples", "implementation examples", "preamble"})
_FUNCTION_KINDS: dict[int, str] = {1: "function", 2: "category", 3: "subcategory"}
_FUNCTION_FAMILIES = ("nist-csf", "nist-ai-rmf")
_RECITAL = re.compile(r"^recital\b", re.IGNORECASE)
_WITHDRAWN = re.compile(r"^\W*withdrawn\b", re.IGNORECASE)
_SUCCESSORS = re.compile(r"\b(incorporated\s+into|moved\s+to)\b\s*:?\s*([^\]\n]+)", re.IGNORECASE)
_TARGET_SPLIT = re.compile(r",|;|\band\b", re.IGNORECASE)


class FrameworkLibraryParser:
    """Reads a CISO Assistant library holding one framework."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        head = data[:_HEAD]
        if not _LIBRARY_URN.search(head):
            return 0
        if b"requirement_nodes" in head:
            return 95
        return 60 if b"framework:" in head else 30

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        library = load_yaml(filename, data)
        if not isinstance(library, dict):
            raise ParseError(filename, "the top level is not a mapping", _HINT)
        objects = library.get("objects")
        framework = objects.get("framework") if isinstance(objects, dict) else None
        if not isinstance(framework, dict):
            raise ParseError(filename, "no 'objects.framework' mapping (a mapping-only library?)", _HINT)
        nodes = framework.get("requirement_nodes")
        if not isinstance(nodes, list) or not nodes:
            raise ParseError(filename, "'objects.framework.requirement_nodes' is missing or empty", _HINT)
        family = (text(framework.get("urn")) or text(library.get("urn"))).lower()
        tree = _Tree(filename, nodes, functions=any(f in family for f in _FUNCTION_FAMILIES))
        try:
            requirements = tree.requirements()
        except RecursionError as exc:
            raise ParseError(filename, "requirement nodes are nested too deeply", _HINT) from exc
        ref_id = text(library.get("ref_id")) or text(framework.get("ref_id"))
        revision = text(library.get("version"))
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.CATALOG,
            title=text(framework.get("name")) or text(library.get("name")),
            requirements=requirements,
            version_hint=f"{ref_id} v{revision}" if ref_id and revision else ref_id or revision,
            published=as_date(library.get("publication_date")),
        )


@dataclass
class _Node:
    urn: str
    parent_urn: str
    ref_id: str
    name: str
    description: str
    assessable: bool
    depth: int
    raw: dict[str, Any]
    children: list[_Node] = field(default_factory=list)
    ident: str = ""
    key: str = ""
    guidance: list[str] = field(default_factory=list)


class _Tree:
    """The node tree, with idents derived and guidance folded in."""

    def __init__(self, filename: str, raw_nodes: list[Any], functions: bool) -> None:
        self.filename = filename
        self.functions = functions
        self.nodes: list[_Node] = [self.node(raw, i) for i, raw in enumerate(raw_nodes)]
        by_urn: dict[str, _Node] = {}
        for node in self.nodes:
            if node.urn in by_urn:
                raise self.fail(f"two requirement nodes share the urn {node.urn}")
            by_urn[node.urn] = node
        self.roots: list[_Node] = []
        for node in self.nodes:
            if not node.parent_urn:
                self.roots.append(node)
            elif node.parent_urn in by_urn:
                by_urn[node.parent_urn].children.append(node)
            else:
                raise self.fail(f"node {node.urn} names parent {node.parent_urn}, which is not in the file")
        counts: dict[str, int] = {}
        for node in self.nodes:
            if node.ref_id or node.name:
                label = normalise_key(node.ref_id or node.name)
                counts[label] = counts.get(label, 0) + 1
        self.repeated = {label for label, count in counts.items() if count > 1}

    def fail(self, problem: str) -> ParseError:
        return ParseError(self.filename, problem, _HINT)

    def node(self, raw: object, index: int) -> _Node:
        if not isinstance(raw, dict):
            raise self.fail(f"requirement node #{index + 1} is not a mapping")
        urn = text(raw.get("urn"))
        if not urn:
            raise self.fail(f"requirement node #{index + 1} has no urn")
        depth = raw.get("depth")
        return _Node(
            urn=urn,
            parent_urn=text(raw.get("parent_urn")),
            ref_id=" ".join(text(raw.get("ref_id")).split()),
            name=" ".join(text(raw.get("name")).split()),
            description=text(raw.get("description")),
            assessable=raw.get("assessable") is True,
            depth=depth if isinstance(depth, int) else 0,
            raw=raw,
        )

    def requirements(self) -> tuple[Requirement, ...]:
        out: list[Requirement] = []
        keys: dict[str, str] = {}
        reachable = 0

        def visit(node: _Node, parent: _Node | None, level: int, paragraph: int) -> None:
            nonlocal reachable
            reachable += 1
            if parent is not None and self.folds(node):
                parent.guidance.append(self.folded_text(node))
                reachable += self.count(node) - 1
                return
            node.ident = self.derive_ident(node, parent, paragraph)
            node.key = normalise_key(node.ident)
            if node.key in keys:
                node.ident = f"{node.ident} [{node.urn.rsplit(':', 1)[-1]}]"
                node.key = normalise_key(node.ident)
                if node.key in keys:
                    raise self.fail(
                        f"two nodes resolve to the key {node.key!r}: {keys[node.key]} and {node.urn}"
                    )
            keys[node.key] = node.urn
            position = len(out)
            out.append(Requirement(ident=node.ident, key=node.key))  # placeholder, filled below
            paragraphs = 0
            for child in node.children:
                unnumbered = not child.ref_id and not child.name
                paragraphs += unnumbered
                visit(child, node, level + 1, paragraphs if unnumbered else 0)
            out[position] = self.requirement(node, parent, level)

        paragraphs = 0
        for root in self.roots:
            unnumbered = not root.ref_id and not root.name
            paragraphs += unnumbered
            visit(root, None, 0, paragraphs if unnumbered else 0)
        if reachable != len(self.nodes):
            raise self.fail("some requirement nodes are not reachable from a top-level node (a parent cycle)")
        return tuple(out)

    def count(self, node: _Node) -> int:
        return 1 + sum(self.count(child) for child in node.children)

    def folds(self, node: _Node) -> bool:
        """Examples and preambles: illustration, not a requirement (see the module docstring)."""
        if node.ref_id or node.name.lower() not in _GUIDANCE_LABELS:
            return False
        return not self.has_requirement_below(node)

    def has_requirement_below(self, node: _Node) -> bool:
        return any(c.ref_id or c.assessable or self.has_requirement_below(c) for c in node.children)

    def folded_text(self, node: _Node) -> str:
        parts = [node.description] if node.description else []
        stack = list(reversed(node.children))
        while stack:
            child = stack.pop()
            if child.name or child.description:
                parts.append(": ".join(p for p in (child.name, child.description) if p))
            stack.extend(reversed(child.children))
        return f"{node.name}:\n" + "\n\n".join(parts)

    def derive_ident(self, node: _Node, parent: _Node | None, paragraph: int) -> str:
        if node.ref_id or node.name:
            ident = node.ref_id or node.name
            if parent is not None and normalise_key(ident) in self.repeated:
                ident = f"{parent.ident} {ident}"
            return ident
        if parent is None:
            return node.urn.rsplit(":", 1)[-1]
        return f"{parent.ident} para {paragraph}"

    def requirement(self, node: _Node, parent: _Node | None, level: int) -> Requirement:
        withdrawn = bool(_WITHDRAWN.match(node.description) or _WITHDRAWN.match(node.name))
        statement, title = node.description, node.name
        guidance = [text(node.raw.get("annotation"))]
        evidence = text(node.raw.get("typical_evidence"))
        if evidence:
            guidance.append(f"Typical evidence:\n{evidence}")
        guidance.extend(node.guidance)
        if not node.ref_id and node.name:  # a heading: its description is its title
            title, statement = " ".join(node.description.split()), ""
        if _RECITAL.match(node.ref_id) or withdrawn:
            guidance.insert(0, statement)
            statement = ""
        return Requirement(
            ident=node.ident,
            key=node.key,
            title=title,
            statement=statement,
            guidance="\n\n".join(g for g in guidance if g),
            parent=parent.key if parent is not None else None,
            depth=level,
            kind=self.kind(node),
            withdrawn=withdrawn,
            links=_successors(f"{node.name} {node.description}") if withdrawn else (),
            properties=(("urn", node.urn), ("assessable", "true" if node.assessable else "false")),
        )

    def kind(self, node: _Node) -> str:
        if _RECITAL.match(node.ref_id):
            return "recital"
        if self.functions and node.ref_id and node.depth in _FUNCTION_KINDS:
            return _FUNCTION_KINDS[node.depth]
        return "requirement" if node.assessable else "section"


def _successors(notice: str) -> tuple[Link, ...]:
    links: list[Link] = []
    for match in _SUCCESSORS.finditer(notice):
        relation = "moved-to" if match.group(1).lower().startswith("moved") else "incorporated-into"
        for target in _TARGET_SPLIT.split(match.group(2)):
            target = target.strip(" \t.:;[]()")
            if target and " " not in target:
                links.append(Link(relation, normalise_key(target)))
    return tuple(dict.fromkeys(links))


PARSER: Parser = FrameworkLibraryParser()
