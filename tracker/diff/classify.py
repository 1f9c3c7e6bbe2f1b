"""Editorial or substantive: what changed inside an aligned pair, and whether it matters.

The rule, applied to the normalised texts (so noise never reaches it):

1. Statement identical after normalisation: not substantive, whatever happened to the
   title, the guidance (``guidance_only``) or the bookkeeping around it.
2. Statement changed, and any of these moved: strongest modal verb or a prohibition
   (``obligation_strengthened``/``_weakened``), parameter values (``parameters_changed``),
   numbers, scope words or applicability properties (``scope_changed``): substantive.
3. Otherwise the edit is editorial when it keeps at least ``EDITORIAL_MIN_SIMILARITY`` of
   the words, when every edit is a spelling-level replacement (a typo fix, British vs
   American spelling), or when the statement was only *recast*: the same content words in
   the same order except one that moved, which is how a passive duty becomes an instruction
   ("The permissions should be limited to ..." -> "Limit the permissions to ..."). Rule 2
   has already ruled out a change of modal strength. Any larger rewording is substantive,
   and so is a recast that swaps who does what to whom ("administrators approve developers'
   changes" -> "developers approve administrators' changes": two words move).

A title change alone is editorial (``title_changed``): the obligation lives in the statement;
a title that differs only in letter case or house style is not even that. A change confined to
the guidance (discussion, examples, references), with the statement unchanged or changed by
house style only, is ``guidance_only`` and never substantive.

House style (:mod:`tracker.diff.housestyle`) is undone before rules 2 and 3: a statement
that differs only by it is editorial, with the house-style rules named in the reasons.
Where a requirement has no statement at all, its title *is* the requirement and is judged
by the same rule. Grouping nodes (families, functions) carry no obligation, so their
changes are never substantive.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from tracker.diff import housestyle
from tracker.diff.features import (
    SCOPE_PROPERTIES,
    Item,
    compared_strengths,
    numbers,
)
from tracker.diff.types import Tag
from tracker.diff.wording import (
    bag_similarity,
    coordination,
    counter_delta,
    recast,
    scope_delta,
    spelling_only,
)
from tracker.domain.redline import Redline, redline

_TAG_ORDER = {tag: k for k, tag in enumerate(Tag)}
# A parameter placeholder as catalogs print them inline: "[Assignment: ...]", "[Selection: ...]".
_PLACEHOLDER = re.compile(r"\[(?:Assignment|Selection)\b", re.IGNORECASE)
# Share of content words kept, in order, once house style is undone (see housestyle.similarity).
# Chosen on NIST's Rev 4 -> Rev 5 workbook: 0.90 misses rewrites NIST calls substantive, 0.94
# flags more rewordings NIST calls editorial; F1 is flat between 0.90 and 0.94.
EDITORIAL_MIN_SIMILARITY = 0.92


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing two aligned requirements."""

    changed: bool
    substantive: bool
    tags: tuple[Tag, ...]
    reasons: tuple[str, ...]
    redlines: tuple[tuple[str, Redline], ...]
    similarity: float  # word similarity of the statement (1.0 when identical)


def _obligation_tags(old: Item, new: Item, reasons: list[str]) -> list[Tag]:
    tags: list[Tag] = []
    before, after = compared_strengths(old, new)
    if after > before:
        tags.append(Tag.OBLIGATION_STRENGTHENED)
        reasons.append(f"obligation strengthened: {old.force} -> {new.force}")
    elif after < before:
        tags.append(Tag.OBLIGATION_WEAKENED)
        reasons.append(f"obligation weakened: {old.force} -> {new.force}")
    # A prohibition added turns a duty or a permission into a ban: stronger. One dropped: weaker.
    if new.prohibitions > old.prohibitions:
        if Tag.OBLIGATION_STRENGTHENED not in tags:
            tags.append(Tag.OBLIGATION_STRENGTHENED)
        reasons.append(f"negation added ({old.prohibitions} -> {new.prohibitions} prohibitions)")
    elif new.prohibitions < old.prohibitions:
        if Tag.OBLIGATION_WEAKENED not in tags:
            tags.append(Tag.OBLIGATION_WEAKENED)
        reasons.append(f"negation dropped ({old.prohibitions} -> {new.prohibitions} prohibitions)")
    return tags


def _params_changed(old: Item, new: Item) -> tuple[str | None, bool]:
    """Describe a change of parameter values, and whether a parameter was added or dropped.

    Renamed parameter ids alone are not a change, nor is a label that differs only by house
    style ("organization-defined list of X" -> "organization-defined X").
    """
    if old.params == new.params:
        return None, False
    before = Counter(housestyle.canonical(v) for v in old.params.values())
    after = Counter(housestyle.canonical(v) for v in new.params.values())
    if before == after:
        return None, False
    count_changed = sum(before.values()) != sum(after.values())
    if old.params.keys() == new.params.keys():
        ids = [
            pid
            for pid in old.params
            if housestyle.canonical(old.params[pid]) != housestyle.canonical(new.params[pid])
        ]
        return "parameters changed: " + ", ".join(ids), count_changed
    gone, came = before - after, after - before
    return (
        f"parameters changed: {sum(gone.values())} value(s) dropped, {sum(came.values())} added",
        count_changed,
    )


def _property_changes(old: Item, new: Item) -> tuple[list[str], bool]:
    reasons: list[str] = []
    scope = False
    for name in sorted(old.properties.keys() | new.properties.keys()):
        before, after = old.properties.get(name, ""), new.properties.get(name, "")
        if before != after:
            reasons.append(f"property {name}: {before or '(none)'!r} -> {after or '(none)'!r}")
            scope = scope or name.lower() in SCOPE_PROPERTIES
    return reasons, scope


def _house_style(old: str, new: str) -> str | None:
    """Why the statement's edit is house style, or None when it is more than that."""
    if numbers(old) != numbers(new):
        return None
    why = housestyle.explain(old, new)
    detail = "; ".join(why) if why else "wording and punctuation only"
    if housestyle.same_words(old, new):
        return f"statement differs by house style only: {detail}"
    return None


def _judge_rewording(old: str, new: str, red: Redline, signals: list[Tag], reasons: list[str]) -> bool:
    """The rule's steps 2 and 3 for an edit that house style does not explain; True when substantive."""
    number_delta = counter_delta(numbers(old), numbers(new))
    if number_delta:
        reasons.append(f"numbers changed: {number_delta}")
    scope_words = scope_delta(red)
    if scope_words:
        signals.append(Tag.SCOPE_CHANGED)
        reasons.append(f"scope words changed: {scope_words}")
    added, dropped = coordination(old, new)
    if added or dropped:
        if Tag.SCOPE_CHANGED not in signals:
            signals.append(Tag.SCOPE_CHANGED)
        items = [f"+{a!r}" for a in added] + [f"-{d!r}" for d in dropped]
        reasons.append(f"list of things or actions {'extended' if added else 'cut'}: {', '.join(items)}")
    placeholders = (len(_PLACEHOLDER.findall(old)), len(_PLACEHOLDER.findall(new)))
    if placeholders[0] != placeholders[1]:
        signals.append(Tag.PARAMETERS_CHANGED)
        reasons.append(f"parameters in the statement: {placeholders[0]} -> {placeholders[1]}")
    if signals or number_delta:
        return True
    similarity = housestyle.similarity(old, new)
    if similarity >= EDITORIAL_MIN_SIMILARITY:
        reasons.append(
            f"statement reworded (similarity {similarity:.2f} once house style is undone); "
            "no change of modal, scope, parameters or numbers"
        )
    elif spelling_only(red):
        reasons.append(f"statement spelling fixes only (similarity {similarity:.2f})")
    elif recast(old, new):
        reasons.append(
            f"statement recast with the same content words (similarity {similarity:.2f}); "
            "no change of modal, scope or numbers"
        )
    else:
        reasons.append(f"statement rewritten (similarity {similarity:.2f} once house style is undone)")
        return True
    return False


def analyse(old: Item, new: Item) -> Verdict:
    """Compare two aligned requirements field by field (see the module docstring for the rule)."""
    reasons: list[str] = []
    tags: list[Tag] = []
    redlines: list[tuple[str, Redline]] = []
    substantive = False
    title_is_text = not old.statement and not new.statement and not (old.is_group or new.is_group)

    title_changed = old.title != new.title
    statement_changed = old.statement != new.statement
    guidance_changed = old.guidance != new.guidance
    # A title in other capitals or house style ("Identify" -> "IDENTIFY", "Shared / Group" ->
    # "Shared and Group") names the same thing: shown, explained, but not a renaming.
    renamed = title_changed and housestyle.canonical(old.title) != housestyle.canonical(new.title)
    if title_changed:
        redlines.append(("title", redline(old.title, new.title)))
    if renamed:
        tags.append(Tag.TITLE_CHANGED)
        reasons.append(f"title changed: {old.title!r} -> {new.title!r}")
    elif title_changed:
        reasons.append(f"title differs in letter case or house style only: {old.title!r} -> {new.title!r}")

    similarity = 1.0
    style: str | None = None
    text_old, text_new = (old.title, new.title) if title_is_text else (old.statement, new.statement)
    if text_old != text_new:
        red = redline(text_old, text_new) if not title_is_text else redlines[-1][1]
        if not title_is_text:
            redlines.append(("statement", red))
        similarity = red.similarity()
        signals = _obligation_tags(old, new, reasons)
        style = None if signals else _house_style(text_old, text_new)
        if style is not None:
            reasons.append(style)
        else:
            substantive = _judge_rewording(text_old, text_new, red, signals, reasons)
        tags.extend(signals)
    elif old.statement:
        reasons.append("statement identical after normalisation")

    param_reason, params_counted = _params_changed(old, new)
    if param_reason:
        tags.append(Tag.PARAMETERS_CHANGED)
        reasons.append(param_reason)
        # Parameter values show in the statement where publishers inline them (800-53), where
        # the statement's own judgement covers them: a value change that leaves the statement
        # identical is a serialisation artefact.
        # A parameter added or dropped is a new or lost decision for the organisation.
        substantive = substantive or not text_new or (params_counted and statement_changed)
    prop_reasons, scope_props = _property_changes(old, new)
    reasons.extend(prop_reasons)
    if scope_props:
        if Tag.SCOPE_CHANGED not in tags:
            tags.append(Tag.SCOPE_CHANGED)
        substantive = True

    if guidance_changed:
        # Guidance only: nothing that binds changed beyond house style (statement, title,
        # parameters, applicability), so the change is confined to discussion and examples.
        binding_same = (text_old == text_new or style is not None) and not renamed
        if binding_same and not param_reason and not scope_props:
            guidance_red = redline(old.guidance, new.guidance)
            substantive = False
            tags.append(Tag.GUIDANCE_ONLY)
            redlines.append(("guidance", guidance_red))
            reasons.append(f"guidance reworded (similarity {guidance_red.similarity():.2f})")
        else:
            reasons.append(
                f"guidance reworded (word overlap {bag_similarity(old.guidance, new.guidance):.2f})"
            )

    links_gone = sorted(old.links - new.links)
    links_came = sorted(new.links - old.links)
    if links_gone or links_came:
        parts = [f"-{rel} {target}" for rel, target in links_gone] + [
            f"+{rel} {target}" for rel, target in links_came
        ]
        reasons.append("links changed: " + ", ".join(parts))

    changed = bool(
        tags
        or title_changed
        or guidance_changed
        or links_gone
        or links_came
        or prop_reasons
        or statement_changed
    )
    if old.is_group or new.is_group:
        substantive = False
    tags = sorted(dict.fromkeys(tags), key=_TAG_ORDER.__getitem__)
    field_order = {"title": 0, "statement": 1, "guidance": 2}
    redlines.sort(key=lambda fr: field_order[fr[0]])
    return Verdict(
        changed=changed,
        substantive=substantive if changed else False,
        tags=tuple(tags),
        reasons=tuple(reasons),
        redlines=tuple(redlines),
        similarity=similarity,
    )
