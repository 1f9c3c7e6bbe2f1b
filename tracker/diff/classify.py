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

A title change alone is editorial (``title_changed``): the obligation lives in the statement.
Where a requirement has no statement at all, its title *is* the requirement and is judged
by the same rule. Grouping nodes (families, functions) carry no obligation, so their
changes are never substantive.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass

from tracker.diff.features import (
    SCOPE_PROPERTIES,
    STOPWORDS,
    Item,
    compared_strengths,
    content_words,
    numbers,
    scope_terms,
)
from tracker.diff.types import Tag
from tracker.domain.redline import DELETE, EQUAL, Redline, redline
from tracker.domain.text import fold

_TAG_ORDER = {tag: k for k, tag in enumerate(Tag)}
EDITORIAL_MIN_SIMILARITY = 0.9
SPELLING_MIN_RATIO = 0.8
QUALIFIER_MAX_WORDS = 4
RECAST_MAX_WORDS = 120  # longer statements are not checked for a recast (quadratic, and rare)


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing two aligned requirements."""

    changed: bool
    substantive: bool
    tags: tuple[Tag, ...]
    reasons: tuple[str, ...]
    redlines: tuple[tuple[str, Redline], ...]
    similarity: float  # word similarity of the statement (1.0 when identical)


def bag_similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' word multisets: cheap, order-blind."""
    ca, cb = Counter(a.lower().split()), Counter(b.lower().split())
    total = sum(ca.values()) + sum(cb.values())
    return 1.0 if total == 0 else 2 * sum((ca & cb).values()) / total


def _counter_delta(old: Counter[str], new: Counter[str]) -> str:
    gone = sorted((old - new).elements())
    came = sorted((new - old).elements())
    parts = []
    if gone:
        parts.append("-" + ", -".join(dict.fromkeys(gone)))
    if came:
        parts.append("+" + ", +".join(dict.fromkeys(came)))
    return " ".join(parts)


def _scope_delta(red: Redline) -> str:
    """Scope words that an edit replaced, qualified or dropped, e.g. "all users" -> "privileged users".

    A long clause added or removed on its own (more than ``QUALIFIER_MAX_WORDS`` words, with no
    edit on the other side next to it) is new or dropped content, judged by similarity: a
    scope word it happens to mention ("... analysis of third-party software") is not a change
    of scope.
    """
    gone: Counter[str] = Counter()
    came: Counter[str] = Counter()
    ops = red.ops
    for pos, (op, text) in enumerate(ops):
        if op == EQUAL:
            continue
        paired = (pos > 0 and ops[pos - 1][0] not in (EQUAL, op)) or (
            pos + 1 < len(ops) and ops[pos + 1][0] not in (EQUAL, op)
        )
        if not paired and len(text.split()) > QUALIFIER_MAX_WORDS:
            continue
        (gone if op == DELETE else came).update(scope_terms(text))
    return _counter_delta(gone, came)


def _spelling_only(red: Redline) -> bool:
    """True when every edit replaces a word by a near-identical spelling, or adds/drops a stop word."""
    ops = red.ops
    for pos, (op, text) in enumerate(ops):
        if op == 0:
            continue
        if op == -1 and pos + 1 < len(ops) and ops[pos + 1][0] == 1:
            new = ops[pos + 1][1]
            if len(text.split()) != len(new.split()):
                return False
            if difflib.SequenceMatcher(None, text.lower(), new.lower()).ratio() < SPELLING_MIN_RATIO:
                return False
            continue
        if op == 1 and pos > 0 and ops[pos - 1][0] == -1:
            continue  # second half of a replacement, judged above
        words = [w.lower().strip(".,;:()'\"") for w in text.split()]
        if any(w and w not in STOPWORDS for w in words):
            return False
    return True


def _common_subsequence(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two word lists."""
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _recast(old: str, new: str) -> bool:
    """Same stemmed content words, same order but for one word that moved (voice or mood change)."""
    a, b = content_words(fold(old, normalised=True)), content_words(fold(new, normalised=True))
    if not a or len(a) > RECAST_MAX_WORDS or Counter(a) != Counter(b):
        return False
    return len(a) - _common_subsequence(a, b) <= 1


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


def _params_changed(old: Item, new: Item) -> str | None:
    """Describe a change of parameter values; renamed parameter ids alone are not a change."""
    if old.params == new.params:
        return None
    if sorted(old.params.values()) == sorted(new.params.values()):
        return None
    if old.params.keys() == new.params.keys():
        ids = [pid for pid in old.params if old.params[pid] != new.params[pid]]
        return "parameters changed: " + ", ".join(ids)
    gone = Counter(old.params.values()) - Counter(new.params.values())
    came = Counter(new.params.values()) - Counter(old.params.values())
    return f"parameters changed: {sum(gone.values())} value(s) dropped, {sum(came.values())} added"


def _property_changes(old: Item, new: Item) -> tuple[list[str], bool]:
    reasons: list[str] = []
    scope = False
    for name in sorted(old.properties.keys() | new.properties.keys()):
        before, after = old.properties.get(name, ""), new.properties.get(name, "")
        if before != after:
            reasons.append(f"property {name}: {before or '(none)'!r} -> {after or '(none)'!r}")
            scope = scope or name.lower() in SCOPE_PROPERTIES
    return reasons, scope


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
    if title_changed:
        tags.append(Tag.TITLE_CHANGED)
        redlines.append(("title", redline(old.title, new.title)))
        reasons.append(f"title changed: {old.title!r} -> {new.title!r}")

    similarity = 1.0
    text_old, text_new = (old.title, new.title) if title_is_text else (old.statement, new.statement)
    if text_old != text_new:
        red = redline(text_old, text_new) if not title_is_text else redlines[-1][1]
        if not title_is_text:
            redlines.append(("statement", red))
        similarity = red.similarity()
        signals = _obligation_tags(old, new, reasons)
        number_delta = _counter_delta(numbers(text_old), numbers(text_new))
        if number_delta:
            reasons.append(f"numbers changed: {number_delta}")
        scope_delta = _scope_delta(red)
        if scope_delta:
            signals.append(Tag.SCOPE_CHANGED)
            reasons.append(f"scope words changed: {scope_delta}")
        tags.extend(signals)
        if signals or number_delta:
            substantive = True
        elif similarity >= EDITORIAL_MIN_SIMILARITY:
            reasons.append(
                f"statement reworded (similarity {similarity:.2f}); no change of modal, scope or numbers"
            )
        elif _spelling_only(red):
            reasons.append(f"statement spelling fixes only (similarity {similarity:.2f})")
        elif _recast(text_old, text_new):
            reasons.append(
                f"statement recast with the same content words (similarity {similarity:.2f}); "
                "no change of modal, scope or numbers"
            )
        else:
            substantive = True
            reasons.append(f"statement rewritten (similarity {similarity:.2f})")
    elif old.statement:
        reasons.append("statement identical after normalisation")

    param_reason = _params_changed(old, new)
    if param_reason:
        tags.append(Tag.PARAMETERS_CHANGED)
        reasons.append(param_reason)
        # Parameter values show in the statement where publishers inline them (800-53); a value
        # change that leaves the statement identical is a serialisation artefact.
        substantive = substantive or statement_changed or not text_new
    prop_reasons, scope_props = _property_changes(old, new)
    reasons.extend(prop_reasons)
    if scope_props:
        if Tag.SCOPE_CHANGED not in tags:
            tags.append(Tag.SCOPE_CHANGED)
        substantive = True

    if guidance_changed:
        if not statement_changed and not title_changed:
            guidance_red = redline(old.guidance, new.guidance)
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

    changed = bool(tags or guidance_changed or links_gone or links_came or prop_reasons or statement_changed)
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
