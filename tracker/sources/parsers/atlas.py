"""MITRE ATLAS ``ATLAS.yaml``: tactics, techniques, sub-techniques and mitigations.

The layout changed between releases and every one of them is read:

- v3.0.0 keeps ``tactics`` and ``techniques`` at the top level; from v4 they sit inside
  ``matrices[]`` (one matrix, ``ATLAS``, in every release so far).
- Mitigations appear in v4.4.0 (with ``tags``); v4.5.0 has ``category`` and ``ML-lifecycle``
  instead, which v4.7.0 spells ``ml-lifecycle``. ``created_date``/``modified_date`` arrive in
  v4.6/v4.7, technique ``maturity`` in v5.0.0.
- Sub-techniques are entries of ``techniques`` carrying ``subtechnique-of`` instead of ``tactics``.

Domain decisions: ATLAS describes adversary behaviour rather than imposing obligations, so a
description is the statement (a changed description is a changed definition). What a mitigation
does against one technique (``techniques[].use``) is guidance. Case studies are incidents, not
requirements, and are left out. The matrix is the root: a technique serving several tactics
cannot have several parents, so it hangs under the matrix with one ``tactic`` link per tactic.
Sub-techniques follow their parent technique, whatever the file order.
"""

from __future__ import annotations

import re
from typing import Any

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, Link, ParsedDocument, Requirement
from tracker.sources.parsing.base import Parser
from tracker.sources.parsing.loaders import load_yaml, text

NAME = "mitre-atlas"
VERSION = "1"

_HEAD = 8192
_MATRICES = re.compile(rb"^matrices:", re.MULTILINE)
_TOP_TACTICS = re.compile(rb"^tactics:", re.MULTILINE)
_ATLAS_ID = re.compile(rb"\bAML\.TA?\d{4}\b")
_HINT = "expected MITRE ATLAS.yaml (matrices[] with tactics, techniques and mitigations)"


class AtlasParser:
    """Reads ``ATLAS.yaml`` from the ``mitre-atlas/atlas-data`` distribution."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        head = data[:_HEAD]
        has_ids = _ATLAS_ID.search(head) is not None
        if has_ids and _MATRICES.search(head):
            return 95
        if has_ids and _TOP_TACTICS.search(head):
            return 90
        if filename.rsplit("/", 1)[-1].lower() == "atlas.yaml" and head.lstrip()[:3] in (b"---", b"id:"):
            return 40
        return 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        doc = load_yaml(filename, data)
        if not isinstance(doc, dict):
            raise ParseError(filename, "the top level is not a mapping", _HINT)
        matrices = doc.get("matrices")
        if matrices is None:  # v3 layout: one implicit matrix at the top level
            if "tactics" not in doc or "techniques" not in doc:
                raise ParseError(filename, "no 'matrices' and no top-level 'tactics' and 'techniques'", _HINT)
            matrices = [{**doc, "id": doc.get("id") or "ATLAS"}]
        if not isinstance(matrices, list) or not matrices:
            raise ParseError(filename, "'matrices' is not a non-empty list", _HINT)
        builder = _Builder(filename)
        for index, matrix in enumerate(matrices):
            builder.add_matrix(matrix, index)
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.CATALOG,
            title=text(doc.get("name")) or "MITRE ATLAS",
            requirements=tuple(builder.requirements),
            version_hint=text(doc.get("version")),
        )


class _Builder:
    """Collects requirements, keeping each ATLAS id once across matrices."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.requirements: list[Requirement] = []
        self.owner: dict[str, str] = {}  # key -> id of the matrix that first listed it

    def fail(self, problem: str) -> ParseError:
        return ParseError(self.filename, problem, _HINT)

    def add_matrix(self, matrix: object, index: int) -> None:
        if not isinstance(matrix, dict):
            raise self.fail(f"matrix #{index + 1} is not a mapping")
        ident = text(matrix.get("id"))
        if not ident:
            raise self.fail(f"matrix #{index + 1} has no id")
        root = normalise_key(ident)
        if root not in self.owner:
            self.owner[root] = ident
            self.requirements.append(
                Requirement(ident=ident, key=root, title=text(matrix.get("name")), kind="matrix")
            )
        tactics = self.entries(matrix, "tactics", ident, required=True)
        techniques = self.entries(matrix, "techniques", ident, required=True)
        mitigations = self.entries(matrix, "mitigations", ident, required=False)

        for obj in tactics:
            self.add(obj, "tactic", ident, parent=root)
        subs: dict[str, list[dict[str, Any]]] = {}
        for obj in techniques:
            parent = text(obj.get("subtechnique-of"))
            if parent:
                subs.setdefault(normalise_key(parent), []).append(obj)
        for obj in techniques:
            if text(obj.get("subtechnique-of")):
                continue
            links = tuple(Link("tactic", normalise_key(t)) for t in _ids(obj.get("tactics")))
            key = self.add(obj, "technique", ident, parent=root, links=links)
            for sub in subs.pop(key, []):
                self.add(sub, "subtechnique", ident, parent=key, depth=2)
        for parent_key, orphans in subs.items():
            if parent_key not in self.owner:  # a parent listed by an earlier matrix is fine
                sub_id, parent_id = text(orphans[0].get("id")), text(orphans[0].get("subtechnique-of"))
                raise self.fail(
                    f"sub-technique {sub_id} belongs to technique {parent_id}, which is not listed"
                )
            for sub in orphans:
                self.add(sub, "subtechnique", ident, parent=parent_key, depth=2)
        for obj in mitigations:
            uses = obj.get("techniques") or []
            if not isinstance(uses, list):
                raise self.fail(f"mitigation {text(obj.get('id'))}: 'techniques' is not a list")
            links = tuple(Link("mitigates", normalise_key(t)) for t in _ids(uses))
            guidance = "\n\n".join(
                f"{text(use.get('id'))}: {text(use.get('use'))}"
                for use in uses
                if isinstance(use, dict) and text(use.get("use"))
            )
            self.add(obj, "mitigation", ident, parent=root, links=links, guidance=guidance)

    def entries(self, matrix: dict[str, Any], field: str, where: str, required: bool) -> list[dict[str, Any]]:
        value = matrix.get(field)
        if value is None and not required:
            return []
        if not isinstance(value, list):
            raise self.fail(f"matrix {where}: '{field}' is missing or not a list")
        for position, obj in enumerate(value):
            if not isinstance(obj, dict):
                raise self.fail(f"matrix {where}: {field} entry #{position + 1} is not a mapping")
        return value

    def add(
        self,
        obj: dict[str, Any],
        kind: str,
        matrix: str,
        *,
        parent: str,
        depth: int = 1,
        links: tuple[Link, ...] = (),
        guidance: str = "",
    ) -> str:
        ident, name = text(obj.get("id")), text(obj.get("name"))
        if not ident:
            raise self.fail(f"matrix {matrix}: a {kind} has no id (name {name!r})")
        if not name:
            raise self.fail(f"{kind} {ident} has no name")
        key = normalise_key(ident)
        if key in self.owner:
            if self.owner[key] == matrix:
                raise self.fail(f"{ident} is listed twice in matrix {matrix}")
            return key  # shared with an earlier matrix: keep the first
        self.owner[key] = matrix
        self.requirements.append(
            Requirement(
                ident=ident,
                key=key,
                title=name,
                statement=text(obj.get("description")),
                guidance=guidance,
                parent=parent,
                depth=depth,
                kind=kind,
                links=links,
                properties=_properties(obj),
            )
        )
        return key


def _ids(value: object) -> list[str]:
    """Ids from a list of strings or of ``{id: ...}`` mappings (mitigation uses)."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if not isinstance(value, list):
        return []
    found = [text(item.get("id")) if isinstance(item, dict) else text(item) for item in value]
    return [ident for ident in found if ident]


def _joined(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(text(item) for item in value if text(item))
    return text(value)


def _properties(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    props: list[tuple[str, str]] = []
    for field in ("object-type", "created_date", "modified_date", "maturity"):
        if text(obj.get(field)):
            props.append((field, text(obj.get(field))))
    for name, fields in (("category", ("category",)), ("ml-lifecycle", ("ml-lifecycle", "ML-lifecycle"))):
        value = next((_joined(obj[f]) for f in fields if f in obj), "")
        if value:
            props.append((name, value))
    if _joined(obj.get("tags")):
        props.append(("tags", _joined(obj.get("tags"))))
    reference = obj.get("ATT&CK-reference")
    if isinstance(reference, dict):
        if text(reference.get("id")):
            props.append(("attack-id", text(reference.get("id"))))
        if text(reference.get("url")):
            props.append(("attack-url", text(reference.get("url"))))
    references = obj.get("references")
    if isinstance(references, list):
        urls = [text(r.get("url")) for r in references if isinstance(r, dict) and text(r.get("url"))]
        if urls:
            props.append(("references", "\n".join(urls)))
    return tuple(props)


PARSER: Parser = AtlasParser()
