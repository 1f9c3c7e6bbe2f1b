"""The briefing: what one event asks of an organisation, ranked, before it is rendered.

A digest is read by a compliance lead deciding what to do this week, so it opens with the
counts per action and the ten items that matter most, then lists the items grouped by
action. The ranking, in words:

1. obligations strengthened (``should`` became ``shall``) that touch the organisation:
   a control that satisfied the old wording may not satisfy the new one;
2. then, alternately, gaps (a new or substantively changed requirement that none of the
   organisation's controls is mapped to) in document order, and reassessments ranked by
   how many of the organisation's controls they touch (a requirement mapped to many
   controls is one whose change spreads furthest).

Gap suggestions are the mapper's candidates with a calibrated score, read as the
probability that a curator would list the control for the requirement. Below
:data:`SUGGESTION_FLOOR` a candidate is noise to a reader (fewer than one in five would
be right); such candidates are not shown as covering the gap: the review page keeps them.
The floor is the one the demo uses to store proposals (``tracker map --save 0.2``).

Pure: a payload snapshot (see :mod:`tracker.digests.events`) in, typed values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.digests.links import review_url

Payload = Mapping[str, Any]
SUGGESTION_FLOOR = 0.2
TOP = 10
# The order of the groups, with their headings and what each asks of the reader.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("gap", "Gaps", "Nothing of yours is mapped to these requirements yet."),
    ("reassess", "Reassess", "Your mapped controls may no longer satisfy these requirements."),
    ("retire", "Retire or remap", "Withdrawn requirements: their mappings point at nothing now."),
    ("none", "No action", "Editorial changes and renumbering: update references only."),
)
COUNT_WORDS = {"gap": "gap", "reassess": "to reassess", "retire": "to retire", "none": "no action"}
_TAG_WORDS = {
    "obligation_strengthened": "obligation strengthened",
    "obligation_weakened": "obligation weakened",
    "scope_changed": "scope changed",
    "parameters_changed": "parameters changed",
    "title_changed": "title changed",
    "guidance_only": "guidance only",
    "identifier_reused": "identifier reused",
}


@dataclass(frozen=True)
class Cover:
    """A control named on an item: mapped (reassess, retire) or suggested (gap)."""

    control_id: str
    title: str
    score: float


@dataclass(frozen=True)
class Item:
    change_id: int | None
    ident: str  # the identifier the item is known by now (the new one when there is one)
    ids: str  # ``ID.GV-3 → GV.OC-03`` when the identifier changed
    title: str
    kind: str
    action: str
    what: str  # ``new requirement``, ``obligation strengthened, scope changed`` and the like
    text: str  # the requirement's text when it was added or withdrawn
    redline: tuple[tuple[str, str], ...]  # (field, ``[-old-]{+new+}`` text) of a changed one
    controls: tuple[Cover, ...]
    below_floor: int  # gap suggestions left out for scoring under the floor
    strengthened: bool
    link: str


@dataclass(frozen=True)
class Briefing:
    organisation: str
    subscription: str
    source: str
    source_title: str
    old_version: str
    new_version: str
    review_url: str
    counts: tuple[tuple[str, int], ...]  # (action, items), in ACTIONS order, zero counts left out
    controls: int  # distinct controls to reassess or retire mappings of
    top: tuple[Item, ...]
    groups: tuple[tuple[str, tuple[Item, ...]], ...]  # (action, items), in ACTIONS order

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def pair(self) -> str:
        """``NIST Cybersecurity Framework 1.1 → 2.0``."""
        return f"{self.source_title or self.source} {self.old_version} → {self.new_version}"

    def count_line(self) -> str:
        """``62 gaps, 44 to reassess, 62 to retire, 2 no action``."""
        return ", ".join(count_words(action, n) for action, n in self.counts)


def count_words(action: str, n: int) -> str:
    if action == "gap":
        return f"{n} gap{'s' if n != 1 else ''}"
    return f"{n} {COUNT_WORDS.get(action, action)}"


def _ids(change: Payload) -> str:
    old, new = list(change.get("old_ids") or ()), list(change.get("new_ids") or ())
    if old and new and old != new:
        return f"{', '.join(old)} → {', '.join(new)}"
    return ", ".join(new or old) or "?"


def _what(change: Payload) -> str:
    kind, tags = str(change.get("kind", "")), [str(t) for t in change.get("tags") or ()]
    words = [_TAG_WORDS.get(t, t.replace("_", " ")) for t in tags if t != "withdrawn"]
    base = {
        "added": "new requirement",
        "removed": "withdrawn",
        "split": "split",
        "merged": "merged",
        "moved": "moved" if not words else "",
        "modified": "changed in substance" if change.get("substantive") and not words else "",
    }.get(kind, "")
    if not base and not words:
        base = "editorial change" if change.get("substantive") is False else kind
    return ", ".join(w for w in (base, *words) if w)


def _item(change: Payload, event: Payload, public_url: str) -> Item:
    ident = next(iter(change.get("new_ids") or change.get("old_ids") or ()), "")
    action = str(change.get("action", "none"))
    covers, below = [], 0
    for c in change.get("controls") or ():
        if not c.get("control_id"):
            continue
        score = float(c.get("score") or 0.0)
        if c.get("action") == "gap" and score < SUGGESTION_FLOOR:
            below += 1
            continue
        covers.append(Cover(str(c["control_id"]), str(c.get("title") or ""), score))
    change_id = change.get("change_id")
    return Item(
        change_id=change_id if isinstance(change_id, int) else None,
        ident=ident,
        ids=_ids(change),
        title=str(change.get("title") or ""),
        kind=str(change.get("kind", "")),
        action=action,
        what=_what(change),
        text=str(change.get("text") or ""),
        redline=tuple((str(k), str(v)) for k, v in (change.get("redline") or {}).items()),
        controls=tuple(covers),
        below_floor=below,
        strengthened="obligation_strengthened" in (change.get("tags") or ()),
        link=review_url(
            public_url,
            str(event.get("source", "")),
            str(event.get("old_version", "")),
            str(event.get("new_version", "")),
            ident=ident,
            change_id=change_id if isinstance(change_id, int) else None,
        ),
    )


def rank(items: Sequence[Item]) -> list[Item]:
    """The ten most important items (see the module docstring), most important first."""
    strengthened = [i for i in items if i.strengthened and i.action in ("gap", "reassess")]
    strengthened.sort(key=lambda i: -len(i.controls))
    gaps = [i for i in items if i.action == "gap" and i not in strengthened]
    reassess = sorted(
        (i for i in items if i.action == "reassess" and i not in strengthened), key=lambda i: -len(i.controls)
    )
    out = strengthened[:TOP]
    while len(out) < TOP and (gaps or reassess):
        for queue in (gaps, reassess):
            if queue and len(out) < TOP:
                out.append(queue.pop(0))
    return out


def brief(event: Payload, public_url: str) -> Briefing:
    """The briefing of one event payload."""
    items = [_item(c, event, public_url) for c in event.get("changes") or ()]
    groups = tuple(
        (action, tuple(i for i in items if i.action == action))
        for action, _, _ in ACTIONS
        if any(i.action == action for i in items)
    )
    known = {a for a, _, _ in ACTIONS}
    others = tuple(i for i in items if i.action not in known)
    if others:  # an action this version does not know yet is listed, not dropped
        groups += (("other", others),)
    controls = {c.control_id for i in items if i.action in ("reassess", "retire") for c in i.controls}
    return Briefing(
        organisation=str(event.get("organisation", "")),
        subscription=str(event.get("subscription", "")),
        source=str(event.get("source", "")),
        source_title=str(event.get("source_title") or ""),
        old_version=str(event.get("old_version", "")),
        new_version=str(event.get("new_version", "")),
        review_url=review_url(
            public_url,
            str(event.get("source", "")),
            str(event.get("old_version", "")),
            str(event.get("new_version", "")),
        ),
        counts=tuple((action, len(group)) for action, group in groups),
        controls=len(controls),
        top=tuple(rank(items)),
        groups=groups,
    )


def detail(briefing: Briefing, budget: int) -> list[tuple[str, tuple[Item, ...], tuple[Item, ...]]]:
    """(action, all its items, the items shown) per group when at most ``budget`` items are
    shown: the budget is dealt out one item per group in turn, so a long group of gaps does
    not crowd out the reassessments, and within a group the items of the top ten come first
    (in their rank), then the rest in document order."""
    ranked = {id(item): n for n, item in enumerate(briefing.top)}
    ordered = [
        (action, items, sorted(items, key=lambda i: ranked.get(id(i), TOP)))
        for action, items in briefing.groups
    ]
    counts = [0] * len(ordered)
    left = budget
    while left > 0 and any(n < len(items) for n, (_, items, _) in zip(counts, ordered, strict=True)):
        for g, (_, items, _) in enumerate(ordered):
            if left > 0 and counts[g] < len(items):
                counts[g] += 1
                left -= 1
    return [
        (action, items, tuple(order[:n])) for (action, items, order), n in zip(ordered, counts, strict=True)
    ]


def heading(action: str) -> tuple[str, str]:
    """The heading of an action's group and what it asks of the reader."""
    for name, title, ask in ACTIONS:
        if name == action:
            return title, ask
    return action.capitalize(), ""


def summary_text(briefing: Briefing, top: int = TOP) -> str:
    """A few lines of plain text: the pair, the counts and the most important items (the Atom
    summary, the email's preview line)."""
    lines = [f"{briefing.pair}: {briefing.count_line()}."]
    if briefing.controls:
        lines.append(f"{briefing.controls} of your controls affected.")
    if briefing.top[:top]:
        lines.append(
            "Most important: " + "; ".join(f"{i.ident} ({i.what})" for i in briefing.top[:top]) + "."
        )
    return " ".join(lines)
