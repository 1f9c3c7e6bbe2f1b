"""Which changes of a diff a bulk review action decides: a typed filter and its matching.

A reviewer facing hundreds of changes (SP 800-53 Rev 4 -> Rev 5 has 1,021 changed requirements)
decides them by kind of evidence, not one by one: every change confined to guidance, every
change the engine explained by one house-style rule ("actor dropped"), every withdrawn control
of one family, everything not yet reviewed. :class:`ChangeFilter` names such a set; it is
recorded with the bulk action (:mod:`tracker.review.bulk`) so the history says *why* each
change was decided.

The review page's own filters (kind, verdict, tag, house-style rule, identifier prefix, text,
review status) are one :class:`ChangeFilter`, so "confirm all N shown" decides exactly the N
changes the page lists. Every criterion narrows (they are combined with AND); an empty filter
selects every changed requirement (not the unchanged ones, which only an explicit kind
selects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.diff.housestyle import RULES
from tracker.diff.types import Kind, Tag
from tracker.domain.errors import InvalidInputError

SUBSTANTIVE = {"yes": True, "no": False, "na": None}
STATUSES = ("unreviewed", "reviewed")
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
CHANGED: tuple[Kind, ...] = tuple(k for k in Kind if k is not Kind.UNCHANGED)


@dataclass(frozen=True)
class Candidate:
    """One change as a filter sees it: the verdict as the deciding organisation reads it, the
    engine's reasons, the printed identifiers, and the text a search looks through (identifiers,
    titles, reasons and stored redlines)."""

    kind: str
    substantive: bool | None
    tags: tuple[str, ...]
    reasons: tuple[str, ...]
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]
    reviewed: bool
    text: str = ""


@dataclass(frozen=True)
class ChangeFilter:
    """A set of changes of one diff. ``kinds`` empty means every changed kind; ``substantive``
    is ``yes``, ``no``, ``na`` (the question does not apply) or empty for any; ``tags`` and
    ``rules`` (house-style rule names from the engine's reasons) must all be present;
    ``prefixes`` matches a change with any identifier starting with one of them (a family:
    ``AC-``); ``status`` is ``unreviewed``, ``reviewed`` or empty; ``text`` is the review page's
    search (case-insensitive, in identifiers, titles, reasons and redlines)."""

    kinds: tuple[Kind, ...] = ()
    substantive: str = ""
    tags: tuple[Tag, ...] = ()
    rules: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    status: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        if self.substantive and self.substantive not in SUBSTANTIVE:
            raise InvalidInputError(
                f"unknown substantive filter {self.substantive!r}", "use yes, no, na or leave it empty"
            )
        if self.status and self.status not in STATUSES:
            raise InvalidInputError(
                f"unknown review status {self.status!r}", "use unreviewed, reviewed or leave it empty"
            )
        unknown = [r for r in self.rules if r not in RULE_NAMES]
        if unknown:
            raise InvalidInputError(
                f"unknown house-style rule {unknown[0]!r}", "use one of: " + ", ".join(RULE_NAMES)
            )
        if any(not p.strip() for p in self.prefixes):
            raise InvalidInputError(
                "an empty identifier prefix selects everything", "give e.g. AC- or drop it"
            )

    @property
    def needs_text(self) -> bool:
        return bool(self.text)

    def matches(self, change: Candidate) -> bool:
        if change.kind not in (self.kinds or CHANGED):
            return False
        if self.substantive and change.substantive is not SUBSTANTIVE[self.substantive]:
            return False
        if any(t not in change.tags for t in self.tags):
            return False
        if self.rules and not all(_names(rule, change.reasons) for rule in self.rules):
            return False
        if self.prefixes and not any(
            i.upper().startswith(p.strip().upper())
            for i in change.old_ids + change.new_ids
            for p in self.prefixes
        ):
            return False
        if self.status and (self.status == "reviewed") != change.reviewed:
            return False
        return not self.text or self.text.lower() in change.text.lower()

    def to_dict(self) -> dict[str, Any]:
        """The filter as recorded with a bulk action and served by the API (defaults left out)."""
        out: dict[str, Any] = {
            "kinds": [k.value for k in self.kinds],
            "substantive": self.substantive,
            "tags": [t.value for t in self.tags],
            "rules": list(self.rules),
            "prefixes": list(self.prefixes),
            "status": self.status,
            "text": self.text,
        }
        return {k: v for k, v in out.items() if v}

    @classmethod
    def of(cls, data: dict[str, Any]) -> ChangeFilter:
        try:
            return cls(
                kinds=tuple(Kind(k) for k in data.get("kinds") or ()),
                substantive=str(data.get("substantive") or ""),
                tags=tuple(Tag(t) for t in data.get("tags") or ()),
                rules=tuple(str(r) for r in data.get("rules") or ()),
                prefixes=tuple(str(p) for p in data.get("prefixes") or ()),
                status=str(data.get("status") or ""),
                text=str(data.get("text") or ""),
            )
        except ValueError as err:
            raise InvalidInputError(f"bad filter: {err}", "use the kinds and tags the API lists") from None

    def describe(self) -> str:
        """In words, for notices and the decision history: 'guidance only, unreviewed'."""
        parts = [", ".join(k.value for k in self.kinds)] if self.kinds else ["changed"]
        if self.substantive:
            parts.append({"yes": "substantive", "no": "editorial", "na": "substance n/a"}[self.substantive])
        parts += [t.value.replace("_", " ") for t in self.tags]
        parts += [f"house style: {r}" for r in self.rules]
        if self.prefixes:
            parts.append("ids " + " or ".join(f"{p}*" for p in self.prefixes))
        if self.status:
            parts.append(self.status)
        if self.text:
            parts.append(f"text {self.text!r}")
        return ", ".join(parts)


def _names(rule: str, reasons: tuple[str, ...]) -> bool:
    """The engine names a house-style rule in its reasons as ``<name> (<why>)``."""
    return any(f"{rule} (" in reason for reason in reasons)
