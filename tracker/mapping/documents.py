"""Turn a version's requirement tree into mapper inputs: queries and target controls.

A requirement tree mixes *groupings* (800-53 families, CSF functions and categories) with
the *assessable* nodes people map (controls, enhancements, subcategories). Groupings are
not mapped themselves; their titles become the ``family`` and ``context`` of the nodes
below them. An assessable node whose parent is itself assessable (an 800-53 enhancement
under its control) keeps that parent as ``Control.parent`` so the mapper can roll it up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tracker.domain.keys import normalise_key
from tracker.domain.model import Requirement
from tracker.mapping.types import Control

GROUP_KINDS = frozenset(
    {
        "family",
        "group",
        "function",
        "category",
        "section",
        "chapter",
        "part",
        "domain",
        "theme",
        "tactic-group",
    }
)


@dataclass(frozen=True)
class MapQuery:
    """One requirement to find controls for: its text and its ancestors' titles."""

    id: str
    text: str
    context: tuple[str, ...] = ()
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", normalise_key(self.id))


def _is_group(req: Requirement, has_children: set[str]) -> bool:
    if req.kind in GROUP_KINDS:
        return True
    return not req.statement.strip() and req.key in has_children


def assessable(requirements: Sequence[Requirement], *, include_withdrawn: bool = False) -> list[Requirement]:
    """The nodes that are mapped: not groupings, and (by default) not withdrawn."""
    has_children = {r.parent for r in requirements if r.parent}
    return [
        r
        for r in requirements
        if not _is_group(r, has_children)
        and (include_withdrawn or not r.withdrawn)
        and (r.statement or r.title)
    ]


def _ancestors(req: Requirement, by_key: dict[str, Requirement]) -> list[Requirement]:
    chain: list[Requirement] = []
    seen = {req.key}
    parent = req.parent
    while parent and parent in by_key and parent not in seen:
        seen.add(parent)
        node = by_key[parent]
        chain.append(node)
        parent = node.parent
    return chain


def requirement_text(req: Requirement) -> str:
    """Title and statement, the normative part."""
    title, statement = req.title.strip(), req.statement.strip()
    if title and statement:
        return f"{title}. {statement}"
    return title or statement


# How much of a requirement's guidance joins its query: about three implementation examples.
GUIDANCE_CHARS = 600
_LABEL_LINE = re.compile(r"^(?:examples?|discussion|guidance):?$|^\w+: \w+(?: \w+)? party risk$", re.I)
_EXAMPLE_MARK = re.compile(r"^(?:ex(?:ample)?\s*\d+[:.)]|[-*\u2022])\s*", re.I)


def guidance_excerpt(guidance: str, limit: int = GUIDANCE_CHARS) -> str:
    """The start of a requirement's guidance as plain sentences, labels and markers dropped.

    CSF 2.0's implementation examples ("Ex1: Maintain inventories for all types of
    hardware ...") name the activities a control implements, which an outcome statement
    ("Inventories of hardware ... are maintained") leaves implicit; the mapping benchmark
    scores CSF 2.0 with and without them. Only the start is taken, so a long discussion
    cannot outweigh the statement it explains.
    """
    lines = []
    for line in guidance.splitlines():
        line = line.strip()
        if not line or _LABEL_LINE.match(line):
            continue
        line = _EXAMPLE_MARK.sub("", line)
        lines.append(line if line[-1] in ".;:!?" else f"{line}.")
    text = " ".join(lines)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def query_text(req: Requirement, guidance_chars: int = GUIDANCE_CHARS) -> str:
    """What a requirement is mapped by: title and statement, then the start of its guidance."""
    text = requirement_text(req)
    extra = guidance_excerpt(req.guidance, guidance_chars) if guidance_chars > 0 else ""
    return f"{text.rstrip('.')}. {extra}" if text and extra else text or extra


def queries_from_requirements(
    requirements: Sequence[Requirement],
    *,
    only: Iterable[str] | None = None,
    guidance_chars: int = GUIDANCE_CHARS,
) -> list[MapQuery]:
    """One :class:`MapQuery` per assessable requirement (or per key in ``only``)."""
    by_key = {r.key: r for r in requirements}
    wanted = {normalise_key(k) for k in only} if only is not None else None
    out = []
    for req in assessable(requirements):
        if wanted is not None and req.key not in wanted:
            continue
        context = tuple(a.title or a.statement for a in _ancestors(req, by_key) if a.title or a.statement)
        text = query_text(req, guidance_chars)
        out.append(MapQuery(id=req.ident, text=text, context=context, key=req.key))
    return out


def controls_from_requirements(requirements: Sequence[Requirement]) -> list[Control]:
    """Adopt a version's assessable requirements as controls (``--catalog SOURCE@VERSION``).

    ``family`` is the nearest grouping's title; ``parent`` is set only when the parent is
    itself assessable (an enhancement). Declared ``related`` links are kept for the
    mapper's structural signals (breadth prior and ``related`` neighbourhood).
    """
    has_children = {r.parent for r in requirements if r.parent}
    by_key = {r.key: r for r in requirements}
    kept = assessable(requirements)
    kept_keys = {r.key for r in kept}
    out = []
    for req in kept:
        chain = _ancestors(req, by_key)
        family = next((a.title or a.ident for a in chain if _is_group(a, has_children)), "")
        parent = req.parent if req.parent in kept_keys else None
        out.append(
            Control(
                id=req.ident,
                key=req.key,
                title=req.title,
                description=req.statement,
                guidance=req.guidance,
                family=family,
                parent=parent,
                links=tuple(link.target for link in req.links if link.relation == "related"),
            )
        )
    return out
