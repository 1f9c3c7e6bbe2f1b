"""House style: rewrites a publisher applies across a whole new version without changing duties.

When NIST recast SP 800-53 for Rev 5 it rewrote almost every control the same way: the
actor left the statement ("The information system implements ..." -> "Implement ...",
"The organization develops ..." -> "Develop ..."), "information system" became "system",
parameter labels lost their "list of" ("[Assignment: organization-defined list of X]" ->
"[Assignment: organization-defined X]") and slashes were spelt out ("purges/wipes" ->
"purge or wipe"). NIST's own comparison calls all of these editorial. Each rule below
says what it rewrites and why the obligation is the same; :func:`canonical` applies them
all, and :func:`explain` names the ones that account for a difference between two texts,
so a reviewer reads *why* a change was judged editorial.

The canonical form is for comparison only (lower case, stemmed content words without stop
words); nothing here touches what is displayed.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from tracker.diff.features import STOPWORDS, stem, strip_citations
from tracker.domain.text import fold

# Where a clause starts: the text's start, a list label ("a.", "(b)", "1."), or a colon or
# semicolon that opens an enumerated duty.
_ASSIGNMENT = re.compile(r"\[Assignment:([^\[\]]*)\]", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_CLAUSE_START = r"(?:^|(?<=[:;])\s*|(?<=\s)\(?[a-z0-9]{1,2}[.)]\s+|^\(?[a-z0-9]{1,2}[.)]\s+)"


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    pattern: re.Pattern[str]
    replacement: str


RULES: tuple[Rule, ...] = (
    Rule(
        "actor dropped",
        'the party named as the statement\'s subject ("The information system ...", '
        '"The organization ...") was dropped and its verb recast as an instruction: the same '
        "party is still addressed, as the catalog's introduction says",
        re.compile(
            _CLAUSE_START
            + r"the (?:information system|organi[sz]ation|system)(?:\s*(?:,|:)\s*|\s+)(?=[a-z(])",
            re.IGNORECASE,
        ),
        " ",
    ),
    Rule(
        "information system -> system",
        '"information system" shortened to "system": the term\'s definition covers the same things',
        re.compile(r"\binformation (systems?)\b", re.IGNORECASE),
        r"\1",
    ),
    Rule(
        "parameter label wording",
        'an assignment\'s label lost "list of" or similar filler '
        '("organization-defined list of X" -> "organization-defined X"): the value is still '
        "the organisation's to define",
        re.compile(r"(organi[sz]ation-defined)\s+(?:list|lists|set|sets) of\b", re.IGNORECASE),
        r"\1",
    ),
    Rule(
        "slash spelt out",
        'a slash between two words spelt out as "and"/"or" ("purges/wipes" -> "purge or wipe")',
        re.compile(r"(?<=[A-Za-z])\s*/\s*(?=[A-Za-z])"),
        " or ",
    ),
    # Counted, not rewritten: canonical() moves assignments to the end of the sentence.
    Rule(
        "parameter moved",
        'an assignment moved to the end of the sentence behind "the following <label>:"; '
        "the same value is asked for",
        re.compile(r"\bthe following\b(?=[^.;]*\[Assignment:)", re.IGNORECASE),
        "the following",
    ),
)


@lru_cache(maxsize=1 << 14)
def rewrite(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` with every rule applied, and how often each rule fired (in ``RULES`` order)."""
    counts = []
    for rule in RULES:
        text, n = rule.pattern.subn(rule.replacement, text)
        counts.append(n)
    return text, tuple(counts)


def _verb_base(word: str) -> str:
    """Third person to base form even for short verbs ("uses" -> "use"), then :func:`stem`.

    Dropping the actor turns every "The system uses" into "Use": the verb's form is part of
    the same house-style rewrite.
    """
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return stem(word)


@lru_cache(maxsize=1 << 14)
def canonical(text: str) -> tuple[str, ...]:
    """Stemmed content words of ``text`` after the house-style rules: the comparison form.

    Parameters are compared wherever they sit: Rev 5 moved many assignments to the end of
    the sentence behind "the following <label>:" ("Implement [Assignment: security
    responses] automatically" -> "Implement the following security responses automatically:
    [Assignment: security responses]"). So the assignments' words come last, in their own
    order; "the following" is dropped, and with it the label words that repeat an assignment's.
    """
    rewritten = strip_citations(rewrite(text)[0])
    params = [_words(m.group(1)) for m in _ASSIGNMENT.finditer(rewritten)]
    pool = {w for p in params for w in p}
    tokens = _WORD.findall(fold(_ASSIGNMENT.sub(" ", rewritten), normalised=True))
    body: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "following" and i > 0 and tokens[i - 1] == "the":
            i += 1
            while i < len(tokens) and (_verb_base(tokens[i]) in pool or tokens[i] in STOPWORDS):
                i += 1
            continue
        body.extend(_words(tokens[i]))
        i += 1
    return tuple(body) + tuple(w for p in params for w in p)


def _words(text: str) -> tuple[str, ...]:
    words = (_verb_base(w) for w in _WORD.findall(fold(text, normalised=True)))
    return tuple(w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))


def explain(old: str, new: str) -> tuple[str, ...]:
    """Names and reasons of the rules that fired a different number of times on the two texts."""
    _, a = rewrite(old)
    _, b = rewrite(new)
    return tuple(f"{rule.name} ({rule.why})" for rule, x, y in zip(RULES, a, b, strict=True) if x != y)


def same_words(old: str, new: str) -> bool:
    """The same content words in the same order once house style is undone."""
    return canonical(old) == canonical(new)


def word_delta(old: str, new: str) -> tuple[Counter[str], Counter[str]]:
    """Content words dropped and added once house style is undone."""
    a, b = Counter(canonical(old)), Counter(canonical(new))
    return a - b, b - a


def similarity(old: str, new: str) -> float:
    """Share of content words kept in order once house style is undone (1.0 for identical)."""
    a, b = canonical(old), canonical(new)
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
