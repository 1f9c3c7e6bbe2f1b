"""Shared pieces of the provision-style parsers (GOV.UK codes of practice, ETSI specifications).

Both formats print requirements as numbered provisions ("5.2.1", "Provision 5.1.2-1") inside
principles or clauses, mix normative sentences with explanation, and state who a principle
is for ("Primarily applies to: Developers and System Operators"). This module holds the
rules the two parsers must agree on, so that the same text reads the same way from HTML
and from PDF:

* a paragraph is *normative* when it uses a modal verb (:mod:`tracker.domain.modality`), unless it
  is a NOTE or EXAMPLE, which are always guidance (ISO/IEC and ETSI drafting rules);
* applicability is stored as the property ``applies_to`` (read as ``Requirement.roles``):
  the stakeholders in canonical spelling, sorted and comma-separated, so reordering or
  "developer"/"Developers" is not a scope change, while adding or removing a stakeholder is.
  It is printed as a line ("Primarily applies to: ...") or as a tag opening a provision
  ("[Developers, System Operators]: ..."), which then leaves the provision's text;
* provisions inherit ``applies_to`` from the nearest ancestor that states it, because a
  principle's change of scope changes the scope of every provision under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracker.domain import modality
from tracker.domain.keys import normalise_key
from tracker.domain.model import Requirement

_APPLIES = re.compile(
    r"^(?:(?:primarily|mainly|principally|only)\s+)?appl(?:ies|y)\s+to\s*:\s*(?P<who>.+)$", re.IGNORECASE
)
_SPLIT = re.compile(r"\s*(?:,|;|&|\band/or\b|\band\b|\bor\b)\s*", re.IGNORECASE)
_ROLE_TAG = re.compile(
    r"^\[(?P<who>[A-Za-z][A-Za-z ,;&/-]{1,120})\]\s*[:\u2013\u2014-]?\s*(?P<text>.*)$", re.S
)
_SINGULAR = {"developer", "operator", "custodian", "user", "provider", "deployer", "owner", "manager"}
_GUIDANCE = re.compile(
    r"^(?:(?:NOTE|EXAMPLE)S?(?:\s*\d+)?\s*[:.\u2013\u2014-]?(?:\s|$)"
    r"|(?:Notes?|Examples?|Rationale|Implementation guidance)\s*[:\u2013\u2014-]|For example\b)"
)
_BULLET = re.compile(r"^(?:[-\u2013\u2022\u25aa\u25cf*]|[a-z0-9]{1,3}[.)])\s")
_SPACE = re.compile(r"\s+")
_INVISIBLE = str.maketrans({"\u00a0": " ", "\u200b": None, "\u00ad": None, "\ufeff": None})


def clean(text: str) -> str:
    """One line of running text: no-break spaces, soft hyphens and runs of white space removed."""
    return _SPACE.sub(" ", text.translate(_INVISIBLE)).strip()


def applies_to(text: str) -> str | None:
    """The canonical stakeholder list of an applicability line, or ``None`` if it is not one."""
    match = _APPLIES.match(clean(text))
    return stakeholders(match.group("who")) if match else None


def stakeholders(who: str) -> str | None:
    """A printed list of stakeholders ("Developers and System Operators", "Developer,
    system operators") in canonical form: sorted, plural, capitalised, comma-separated."""
    roles = {_role(part) for part in _SPLIT.split(who.rstrip(" ."))}
    roles.discard("")
    return ", ".join(sorted(roles)) or None


def role_tag(text: str) -> tuple[str, str] | None:
    """A leading stakeholder tag, "[Developers, System Operators]: text", as (roles, text).

    Only words may stand in the brackets: "[i.1]" and "[1]" are citations, not roles."""
    match = _ROLE_TAG.match(text)
    if not match:
        return None
    roles = stakeholders(match.group("who"))
    return (roles, match.group("text")) if roles else None


def _role(name: str) -> str:
    words = re.sub(r"[-\s]+", " ", name.strip(" .;:")).lower().split()
    while words and words[0] in ("the", "all", "any"):
        words.pop(0)
    if words and words[-1] in _SINGULAR:
        words[-1] += "s"
    return " ".join(w.capitalize() for w in words)


def is_guidance_marker(text: str) -> bool:
    """NOTE, EXAMPLE and similar labelled paragraphs: explanation even when they use "should"."""
    return bool(_GUIDANCE.match(text))


def is_bullet(text: str) -> bool:
    return bool(_BULLET.match(text))


def is_normative(text: str) -> bool:
    return not is_guidance_marker(text) and bool(modality.obligations(text))


@dataclass
class Node:
    """A requirement under construction; text arrives a paragraph at a time."""

    ident: str
    key: str
    kind: str
    title: str = ""
    parent: str | None = None
    depth: int = 0
    statement: list[str] = field(default_factory=list)
    guidance: list[str] = field(default_factory=list)
    props: dict[str, str] = field(default_factory=dict)
    last: str = ""  # "statement" or "guidance": where the previous paragraph went

    def add_text(self, text: str, informative: bool = False) -> None:
        """File a paragraph as statement or guidance; a list item follows its lead-in."""
        if is_bullet(text) and self.last:
            target = self.last
        elif informative or not is_normative(text):
            target = "guidance"
        else:
            target = "statement"
        (self.statement if target == "statement" else self.guidance).append(text)
        self.last = target


@dataclass
class Tree:
    """Nodes in document order, with unique keys and parents resolved by number."""

    nodes: list[Node] = field(default_factory=list)
    by_key: dict[str, Node] = field(default_factory=dict)

    def add(self, ident: str, kind: str, title: str = "", parent: Node | None = None) -> Node:
        """A new node. A repeated identifier (a publisher's typo) gets a ``#2`` key suffix
        instead of failing the whole version."""
        key = base = normalise_key(ident)
        count = 1
        while key in self.by_key:
            count += 1
            key = f"{base}#{count}"
        node = Node(
            ident=ident,
            key=key,
            kind=kind,
            title=title,
            parent=parent.key if parent else None,
            depth=parent.depth + 1 if parent else 0,
        )
        self.nodes.append(node)
        self.by_key[key] = node
        return node

    def ancestor(self, number: str, fallback: Node | None = None) -> Node | None:
        """The node of the nearest shorter number ("5.2" for "5.2.1"), else ``fallback``."""
        parts = number.split(".")
        for size in range(len(parts) - 1, 0, -1):
            found = self.by_key.get(normalise_key(".".join(parts[:size])))
            if found is not None and (fallback is None or _within(found, fallback, self.by_key)):
                return found
        return fallback

    def requirements(self) -> tuple[Requirement, ...]:
        reqs = []
        for order, node in enumerate(self.nodes):
            props = dict(node.props)
            if "applies_to" not in props:
                inherited = self._inherited(node)
                if inherited:
                    props["applies_to"] = inherited
            reqs.append(
                Requirement(
                    ident=node.ident,
                    key=node.key,
                    title=node.title,
                    statement=join(node.statement),
                    guidance=join(node.guidance),
                    parent=node.parent,
                    order=order,
                    depth=node.depth,
                    kind=node.kind,
                    properties=tuple(sorted(props.items())),
                )
            )
        return tuple(reqs)

    def _inherited(self, node: Node) -> str:
        seen = node
        while seen.parent is not None:
            seen = self.by_key[seen.parent]
            if "applies_to" in seen.props:
                return seen.props["applies_to"]
        return ""


def _within(node: Node, ancestor: Node, by_key: dict[str, Node]) -> bool:
    """Whether ``node`` is ``ancestor`` or below it: numbers never reach across principles."""
    seen: Node | None = node
    while seen is not None:
        if seen is ancestor:
            return True
        seen = by_key.get(seen.parent) if seen.parent else None
    return False


def join(paragraphs: list[str]) -> str:
    """Paragraphs separated by a blank line; list items on their own line under their lead-in."""
    out = ""
    for para in paragraphs:
        if not out:
            out = para
        elif is_bullet(para):
            out += "\n" + para
        else:
            out += "\n\n" + para
    return out
