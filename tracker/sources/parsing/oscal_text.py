"""OSCAL prose as plain text, identical whatever the serialisation or OSCAL release.

The same NIST sentence reaches us as Markdown prose in JSON or YAML with one of two
parameter-insertion syntaxes (``{{ insert: param, ac-1_prm_1 }}`` from OSCAL 1.0,
``{{ ac-1_prm_1 }}`` in the 1.0.0-rc1 rendering of 800-53 Rev 5), or as XML mixed content
with ``<insert type="param" id-ref="..."/>``. Every parameter is rendered the way NIST prints
it (``[Assignment: organization-defined frequency]``, ``[Selection (one or more): a; b]``),
links keep their text, emphasis is dropped and white space is collapsed, so that a change of
syntax, wrapping or markup never reads as a change of requirement.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from tracker.domain.keys import normalise_key
from tracker.domain.text import strip_markdown

Obj = dict[str, Any]

_INSERT = re.compile(r"\{\{\s*(?:insert\s*:\s*param\s*,\s*)?([A-Za-z0-9_.\-]+)\s*\}\}")
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_SPACE = re.compile(r"\s+")
_BEFORE_PUNCT = re.compile(r"\s+(?=\))|(?<=\()\s+|\s+(?=[;,:.](?:\s|$))")
_CONTROL_ID = re.compile(r"([a-z]{2,3})-0*(\d+)((?:\.0*\d+)*)", re.IGNORECASE)
# A label that already says who defines the value ("organization-defined", "organization-identified").
_DEFINED = re.compile(r"\borgani[sz]\w*[- ](?:defined|identified)\b", re.IGNORECASE)
_INVISIBLE = str.maketrans({"\u00a0": " ", "\u200b": ""})


def label_from_id(oscal_id: str) -> str:
    """The printed label of an OSCAL control id: ``ac-2.1`` and ``ac-02.01`` give ``AC-2(1)``."""
    match = _CONTROL_ID.fullmatch(oscal_id)
    if not match:
        return oscal_id.upper()
    family, number, enhancements = match.groups()
    subs = "".join(f"({int(part)})" for part in enhancements.split(".")[1:])
    return f"{family.upper()}-{int(number)}{subs}"


def target_key(href: str) -> str | None:
    """The key a link points at: ``#ac-2.3`` is AC-2(3); ``#ac-2_smt.k`` (an item) is AC-2."""
    if not href.startswith("#") or len(href) < 2:
        return None
    return normalise_key(label_from_id(href[1:].split("_", 1)[0]))


def _link_text(match: re.Match[str]) -> str:
    """Link text, with control references printed one way (``[AU-02](#au-2)`` is ``AU-2``)."""
    text, href = match.group(1), match.group(2)
    key = target_key(href)
    if key is not None and normalise_key(text) == key:
        return label_from_id(href[1:].split("_", 1)[0])
    return text


def _markup(text: str) -> str:
    """Markdown links to their text, emphasis dropped, NIST's stray ``<assign:#>`` tags as brackets."""
    text = text.translate(_INVISIBLE).replace("<assign:#>", "[Assignment: ").replace("<#:assign>", "]")
    return strip_markdown(text, link_text=_link_text)


def _spaces(text: str) -> str:
    """White space collapsed within each paragraph, none before closing punctuation."""
    paragraphs = (_BEFORE_PUNCT.sub("", _SPACE.sub(" ", p)).strip() for p in _PARAGRAPH.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def clean(text: str) -> str:
    """Markdown prose as plain text, paragraphs separated by a blank line."""
    return _spaces(_markup(text))


class ParamText:
    """Renders parameters as NIST prints them and maps renamed ids back to their first name.

    From release 5.1.1 the parameters are SP 800-53A "organization-defined parameters"
    (``ac-01_odp.04``) carrying their Rev 5 id as an ``alt-identifier`` prop (``ac-1_prm_3``);
    that older id is the canonical one, so a renamed parameter is recognised as the same.
    ODP labels are the short SP 800-53A ones; the SP 800-53 wording is kept in an ``alt-label``
    prop, which wins. Labels without "organization-defined" get it back, as NIST prints it.
    """

    def __init__(self, params: Mapping[str, Obj]) -> None:
        self._params = params
        self._rendered: dict[str, str] = {}

    def canonical_id(self, param_id: str) -> str:
        param = self._params.get(param_id, {})
        for prop in as_list(param.get("props")):
            if prop.get("name") == "alt-identifier" and prop.get("value"):
                return str(prop["value"])
        return param_id

    def render(self, param_id: str, depth: int = 0) -> str:
        if param_id not in self._rendered:
            self._rendered[param_id] = self._render(param_id, depth)
        return self._rendered[param_id]

    def _render(self, param_id: str, depth: int) -> str:
        param = self._params.get(param_id)
        if param is None or depth > 5:
            return f"[Assignment: {param_id}]"
        select = param.get("select") or param.get("selection")
        if isinstance(select, dict):
            how = str(select.get("how-many") or "").replace("-", " ").strip().lower()
            choices = [self.prose(str(c), [], depth + 1) for c in as_list(select.get("choice"))]
            head = f"Selection ({how})" if how and how != "one" else "Selection"
            return f"[{head}: {'; '.join(choices)}]"
        alt = [p for p in as_list(param.get("props")) if p.get("name") == "alt-label" and p.get("value")]
        label = clean(str(alt[0]["value"] if alt else param.get("label") or ""))
        if label:
            return f"[Assignment: {label if _DEFINED.search(label) else 'organization-defined ' + label}]"
        values = [clean(str(v)) for v in as_list(param.get("values"))]
        return f"[Assignment: {'; '.join(values) if values else param_id}]"

    def prose(self, text: str, used: list[str], depth: int = 0) -> str:
        """Clean prose with every parameter substituted; ``used`` collects the ids inserted."""

        def insert(match: re.Match[str]) -> str:
            used.append(match.group(1))
            return self.render(match.group(1), depth)

        return _spaces(_INSERT.sub(insert, _markup(text)))


def as_list(value: Any) -> list[Any]:
    """An OSCAL array: JSON lists as they are, a single object as one item, absent as none.

    Pre-1.0 renderings key some arrays by id (``"parameters": {"ac-1_prm_1": {...}}``);
    those become a list of objects with the id put back.
    """
    if value is None:
        return []
    if isinstance(value, list):
        return value
    keyed = isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values())
    if keyed and not {"id", "name", "prose"} & value.keys():
        return [{"id": k, **v} for k, v in value.items()]
    return [value]


# --- XML --------------------------------------------------------------------------------------

_LISTS = {
    "prop": "props", "link": "links", "param": "params", "part": "parts", "control": "controls",
    "group": "groups", "import": "imports", "with-id": "with-ids", "choice": "choice",
    "value": "values", "guideline": "guidelines", "include-controls": "include-controls",
    "exclude-controls": "exclude-controls",
}  # fmt: skip
_TEXT = {"title", "label", "choice", "with-id", "value", "version", "published", "oscal-version", "usage"}
_BLOCKS = {"p", "ul", "ol", "table", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {"back-matter", "remarks", "party", "role", "responsible-party", "location", "revisions"}


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_to_obj(element: ET.Element) -> Obj:
    """An OSCAL XML element as the object its JSON rendering would hold (prose as Markdown)."""
    obj: Obj = dict(element.attrib)
    prose: list[str] = []
    for child in element:
        tag = local(child.tag)
        if tag in _BLOCKS:
            prose.append(_block(child))
        elif tag not in _SKIP:
            value: Any = _inline(child) if tag in _TEXT else xml_to_obj(child)
            if tag in _LISTS:
                obj.setdefault(_LISTS[tag], []).append(value)
            else:
                obj[tag] = value
    if prose:
        obj["prose"] = "\n\n".join(prose)
    return obj


def _block(element: ET.Element) -> str:
    tag = local(element.tag)
    if tag in ("ul", "ol"):
        return "\n".join(f"- {_inline(li)}" for li in element if local(li.tag) == "li")
    if tag == "table":
        return "\n".join(
            " | ".join(_inline(cell) for cell in row) for row in element.iter() if local(row.tag) == "tr"
        )
    return _inline(element)


def _inline(element: ET.Element) -> str:
    """Mixed content as Markdown: ``<insert>`` as ``{{ insert: param, id }}``, ``<a>`` as a link."""
    pieces = [element.text or ""]
    for child in element:
        tag = local(child.tag)
        if tag == "insert":
            pieces.append(f"{{{{ insert: param, {child.get('id-ref') or child.get('param-id', '')} }}}}")
        elif tag == "a":
            pieces.append(f"[{_inline(child)}]({child.get('href', '')})")
        else:
            pieces.append(_inline(child))
        pieces.append(child.tail or "")
    return "".join(pieces)


def prose_of(parts: Iterable[Obj], params: ParamText, names: frozenset[str]) -> str:
    """Text of the parts with one of ``names`` and everything nested in them, a paragraph each."""
    texts: list[str] = []

    def walk(part: Obj) -> None:
        if part.get("prose"):
            texts.append(params.prose(str(part["prose"]), []))
        for sub in as_list(part.get("parts")):
            walk(sub)

    for part in parts:
        if part.get("name") in names:
            walk(part)
    return "\n\n".join(t for t in texts if t)
