"""OSCAL catalogs and profiles in JSON, YAML and XML (SP 800-53 Rev 4 and Rev 5, CSF 2.0).

Domain decisions:

* Groups become ``family`` requirements (their OSCAL ``class``: ``function`` in CSF), controls
  ``control`` and nested controls ``enhancement``; CSF keeps its own ``category`` and
  ``subcategory`` classes. The identifier is the printed label (``AC-2(1)``, derived from
  the id ``ac-2.1`` when there is no label prop), so keys agree across Rev 4 and Rev 5 and
  across the zero-padded ids of later releases.
* The statement is the ``statement`` part with its items, one per line with their labels
  (``a. ...`` then ``  1. ...``); guidance is the ``guidance`` part (CSF implementation
  examples, group overviews). SP 800-53A assessment objectives and methods are ignored.
* Withdrawn: ``status`` prop ``withdrawn`` (any case). The CSF 2.0 OSCAL catalog marks
  nothing: its withdrawn CSF 1.1 subcategories are the ones without CSF 2.0 implementation
  examples, and its withdrawn categories have an empty statement; both are flagged
  ``withdrawn-basis``.
* Links: ``incorporated-into`` and ``moved-to`` (a withdrawn control's successors) and
  ``related`` (800-53's "Related Controls", not successors) become :class:`Link` s to the
  target's key, in file order, without duplicates or links to the control itself; a link
  to a statement item (``#ac-2_smt.k``) points at its control. ``reference`` and
  ``required`` links and links to back matter are dropped.
* A resolved baseline catalog (``resolution-tool`` prop or ``source-profile`` link) is role
  RESOLVED with one profile of every control it holds; a profile selects ids through
  ``imports/include-controls/with-ids``. Profiles are named LOW, MODERATE, HIGH or PRIVACY
  from their title or file name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import PurePath
from typing import Any

import defusedxml.ElementTree as DefusedET
from defusedxml import DTDForbidden

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, Link, ParsedDocument, Profile, Requirement
from tracker.sources.parsing.loaders import as_date, load_json, load_yaml, text
from tracker.sources.parsing.oscal_text import (
    Obj,
    ParamText,
    as_list,
    label_from_id,
    local,
    prose_of,
    target_key,
    xml_to_obj,
)

_SUCCESSION = ("incorporated-into", "moved-to")
_KEPT_LINKS = (*_SUCCESSION, "related")
_ASSESSMENT = frozenset(
    {"objective", "assessment", "objects", "assessment-objective", "assessment-method", "assessment-objects"}
)
_GUIDANCE = frozenset({"guidance", "discussion", "example"})
_KEPT_PROPS = ("sort-id",)
_BASELINE = re.compile(r"\b(LOW|MODERATE|HIGH|PRIVACY)\b", re.IGNORECASE)
_PARENTHESISED = re.compile(r".*\(\s*([^()]+?)\s*\)\s*")
_NOT_OSCAL = "expected an OSCAL catalog or profile (JSON, YAML or XML)"

# Sniffing looks at the first bytes only: the root must be a catalog or profile with metadata.
_HEAD = 8192
_XML_ROOT = re.compile(
    rb"\A(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:\w+:)?(?:catalog|profile)\b", re.DOTALL
)
_JSON_ROOT = re.compile(rb'\A\{\s*(?:"\$schema"\s*:\s*"[^"]*"\s*,\s*)?"(?:catalog|profile)"\s*:\s*\{')
_YAML_ROOT = re.compile(rb"\A(?:(?:#[^\n]*|---[ \t]*|[ \t]*)\r?\n)*(?:catalog|profile):[ \t]*\r?\n")
_YAML_METADATA = re.compile(rb"^[ \t]+metadata:", re.MULTILINE)
_NAMESPACE = b"http://csrc.nist.gov/ns/oscal"


class OscalParser:
    name = "oscal"
    version = "1.1"

    def sniff(self, filename: str, data: bytes) -> int:
        """95 for an OSCAL catalog or profile that names OSCAL (version or XML namespace), 60 for
        a JSON or YAML one that does not; else 0. Only the first 8 KiB are read."""
        try:
            head = data[:_HEAD].lstrip(b"\xef\xbb\xbf \t\r\n")
            if head.startswith(b"<"):
                return 95 if _XML_ROOT.match(head) and _NAMESPACE in head else 0
            if head.startswith(b"{"):
                found = _JSON_ROOT.match(head) is not None and b'"metadata"' in head
            else:
                found = _YAML_ROOT.match(head) is not None and _YAML_METADATA.search(head) is not None
            if not found:
                return 0
            return 95 if b"oscal-version" in head else 60
        except Exception:  # sniffing must never raise
            return 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        kind, body = _load(filename, data)
        try:
            if kind == "profile":
                return _profile_document(filename, body)
            return _Catalog(filename, body).document()
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ParseError(filename, f"malformed OSCAL {kind}: {type(exc).__name__}: {exc}") from exc


PARSER = OscalParser()


def _load(filename: str, data: bytes) -> tuple[str, Obj]:
    """The document's root model (``catalog`` or ``profile``) as JSON-shaped objects."""
    head = data[:_HEAD].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        # defusedxml refuses a DTD wherever it sits (entity expansion, external entities);
        # OSCAL XML never needs one.
        try:
            root = DefusedET.fromstring(data, forbid_dtd=True)
        except DTDForbidden as exc:
            raise ParseError(filename, "XML with a DTD or entities is refused", _NOT_OSCAL) from exc
        except ET.ParseError as exc:
            raise ParseError(filename, f"invalid XML: {exc}") from exc
        try:
            doc: Any = {local(root.tag): xml_to_obj(root)}
        except RecursionError:
            raise ParseError(filename, "XML elements nested too deeply to read", _NOT_OSCAL) from None
    elif head.startswith(b"{"):
        doc = load_json(filename, data)
    else:
        doc = load_yaml(filename, data)
    if isinstance(doc, dict):
        for kind in ("catalog", "profile"):
            if isinstance(doc.get(kind), dict):
                return kind, doc[kind]
    raise ParseError(filename, "no top-level 'catalog' or 'profile' object", _NOT_OSCAL)


def _metadata(body: Obj) -> tuple[str, str, date | None]:
    meta = body.get("metadata") or {}
    return text(meta.get("title")), text(meta.get("version")), as_date(meta.get("published"))


def _props(obj: Obj, name: str) -> list[Obj]:
    props = as_list(obj.get("props")) + as_list(obj.get("properties"))
    return [p for p in props if isinstance(p, dict) and p.get("name") == name]


def _baseline_name(title: str, filename: str) -> str:
    for where in (title, PurePath(filename).name):
        match = _BASELINE.search(where.replace("_", " ").replace("-", " "))
        if match:
            return match.group(1).upper()
    return PurePath(filename).stem


def _profile_document(filename: str, body: Obj) -> ParsedDocument:
    """A profile's selection: the ids it includes, less those it excludes, as normalised keys."""
    title, version, published = _metadata(body)
    included: list[str] = []
    excluded: set[str] = set()
    for imp in as_list(body.get("imports")):
        for rule in as_list(imp.get("include-controls")) + as_list((imp.get("include") or {}).get("calls")):
            included.extend(_selected_ids(rule))
        for rule in as_list(imp.get("exclude-controls")) + as_list((imp.get("exclude") or {}).get("calls")):
            excluded.update(_selected_ids(rule))
    keys = [normalise_key(label_from_id(i)) for i in included if i not in excluded]
    profile = Profile(name=_baseline_name(title, filename), title=title, keys=tuple(dict.fromkeys(keys)))
    return ParsedDocument(
        format=PARSER.name,
        parser_version=PARSER.version,
        role=DocumentRole.PROFILE,
        title=title,
        profiles=(profile,),
        version_hint=version,
        published=published,
    )


def _selected_ids(rule: Obj) -> list[str]:
    """Ids of one selection rule: OSCAL 1.x ``with-ids`` or the milestone ``control-id``."""
    ids = [text(i) for i in as_list(rule.get("with-ids"))]
    return ids + ([text(rule["control-id"])] if rule.get("control-id") else [])


class _Catalog:
    """One pass over a catalog's groups and controls, producing the requirement tree in order."""

    def __init__(self, filename: str, body: Obj) -> None:
        self.filename = filename
        self.body = body
        raw: dict[str, Obj] = {}
        self.has_examples = False
        self._scan(body, raw)
        self.params = ParamText(raw)
        self.requirements: list[Requirement] = []
        self.group_keys: set[str] = set()

    def _scan(self, node: Obj, raw: dict[str, Obj]) -> None:
        """Collect every parameter (inserts may reach across controls) and spot CSF examples."""
        for param in as_list(node.get("params")) + as_list(node.get("parameters")):
            raw[text(param.get("id"))] = param
        for part in as_list(node.get("parts")):
            self.has_examples = self.has_examples or part.get("name") == "example"
        for child in as_list(node.get("groups")) + as_list(node.get("controls")):
            self._scan(child, raw)

    def document(self) -> ParsedDocument:
        title, version, published = _metadata(self.body)
        for group in as_list(self.body.get("groups")):
            self._group(group, None, 0)
        for control in as_list(self.body.get("controls")):
            self._control(control, None, 0, "")
        meta = self.body.get("metadata") or {}
        resolved = (
            bool(_props(meta, "resolution-tool"))
            or any(link.get("rel") == "source-profile" for link in as_list(meta.get("links")))
            or "resolved" in PurePath(self.filename).name.lower()
        )
        profiles: tuple[Profile, ...] = ()
        if resolved:
            keys = tuple(r.key for r in self.requirements if r.key not in self.group_keys)
            profiles = (Profile(name=_baseline_name(title, self.filename), title=title, keys=keys),)
        return ParsedDocument(
            format=PARSER.name,
            parser_version=PARSER.version,
            role=DocumentRole.RESOLVED if resolved else DocumentRole.CATALOG,
            title=title,
            requirements=tuple(self.requirements),
            profiles=profiles,
            version_hint=version,
            published=published,
        )

    def _ident(self, node: Obj) -> str:
        """The printed label; ``GOVERN (GV)`` style labels give the parenthesised id."""
        oscal_id = text(node.get("id"))
        labels = _props(node, "label")
        plain = [p for p in labels if not p.get("class")] or labels
        label = text(plain[0].get("value")) if plain else ""
        if not label:
            return label_from_id(oscal_id)
        match = _PARENTHESISED.fullmatch(label)
        if match and oscal_id and normalise_key(match.group(1)) == normalise_key(oscal_id):
            return match.group(1)
        return label

    def _group(self, group: Obj, parent: str | None, depth: int) -> None:
        ident = self._ident(group)
        key = normalise_key(ident)
        self.group_keys.add(key)
        self.requirements.append(
            Requirement(
                ident=ident,
                key=key,
                title=text(group.get("title")),
                guidance=prose_of(as_list(group.get("parts")), self.params, frozenset({"overview"})),
                parent=parent,
                order=len(self.requirements),
                depth=depth,
                kind=text(group.get("class")) or "group",
                properties=self._properties(group, ""),
            )
        )
        for sub in as_list(group.get("groups")):
            self._group(sub, key, depth + 1)
        for control in as_list(group.get("controls")):
            self._control(control, key, depth + 1, ident)

    def _control(
        self, control: Obj, parent: str | None, depth: int, family: str, nested: bool = False
    ) -> None:
        ident = self._ident(control)
        key = normalise_key(ident)
        parts = as_list(control.get("parts"))
        cls = text(control.get("class"))
        used: list[str] = []
        lines: list[str] = []
        for part in parts:
            if part.get("name") == "statement":
                self._statement(part, -1, lines, used)
        statement = "\n".join(lines)
        status = " ".join(text(p.get("value")).lower() for p in _props(control, "status"))
        inferred = self._csf_withdrawn(cls, parts, statement)
        links = []
        for link in as_list(control.get("links")):
            relation = text(link.get("rel"))
            target = target_key(text(link.get("href"))) if relation in _KEPT_LINKS else None
            if target is not None and target != key and Link(relation, target) not in links:
                links.append(Link(relation, target))
        extra: tuple[tuple[str, str], ...] = ()
        if "withdrawn" in status or inferred:
            extra = (("status", "withdrawn"),)
        if inferred:
            extra += (("withdrawn-basis", inferred),)
        if cls.islower() and "enhancement" not in cls:
            kind = cls  # CSF's category and subcategory
        else:
            kind = "enhancement" if nested or "enhancement" in cls.lower() else "control"
        self.requirements.append(
            Requirement(
                ident=ident,
                key=key,
                title=text(control.get("title")),
                statement=statement,
                guidance=prose_of(parts, self.params, _GUIDANCE),
                parent=parent,
                order=len(self.requirements),
                depth=depth,
                kind=kind,
                withdrawn=bool(extra),
                links=tuple(links),
                params=tuple(
                    dict.fromkeys((self.params.canonical_id(p), self.params.render(p)) for p in used)
                ),
                properties=self._properties(control, family) + extra,
            )
        )
        for child in as_list(control.get("controls")):
            self._control(child, key, depth + 1, family, nested=True)

    def _statement(self, part: Obj, level: int, lines: list[str], used: list[str]) -> None:
        """One line per item, its label first, indented two spaces per level of nesting."""
        prose = self.params.prose(str(part.get("prose") or ""), used).replace("\n\n", " ")
        labels = _props(part, "label")
        label = text(labels[0].get("value")) if labels and level >= 0 else ""
        line = " ".join(x for x in (label, prose) if x)
        if line:
            lines.append("  " * max(level, 0) + line)
        for sub in as_list(part.get("parts")):
            if sub.get("name") not in _ASSESSMENT and sub.get("name") not in _GUIDANCE:
                self._statement(sub, level + 1, lines, used)

    def _csf_withdrawn(self, cls: str, parts: list[Obj], statement: str) -> str:
        """Why a CSF 2.0 OSCAL item counts as withdrawn (NIST marks nothing), or ``""``."""
        if not self.has_examples:
            return ""
        if cls == "subcategory" and not any(p.get("name") == "example" for p in parts):
            return "no CSF 2.0 implementation examples (a withdrawn CSF 1.1 subcategory)"
        if cls == "category" and not statement:
            return "empty statement (a withdrawn CSF 1.1 category)"
        return ""

    @staticmethod
    def _properties(node: Obj, family: str) -> tuple[tuple[str, str], ...]:
        kept = [(name, text(p.get("value"))) for name in _KEPT_PROPS for p in _props(node, name)[:1]]
        return tuple(kept + ([("family", family)] if family else []))
