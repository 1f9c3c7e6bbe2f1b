"""How two wordings of one statement differ, word by word: lists joined or cut, a party
qualified or replaced, a spelling fixed, a passive duty recast as an instruction. The rules
that weigh these findings (editorial or substantive) are in :mod:`tracker.diff.classify`.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

from tracker.diff import housestyle
from tracker.diff.features import QUALIFIERS, QUANTIFIERS, STOPWORDS, content_words, scope_terms
from tracker.domain.redline import DELETE, EQUAL, INSERT, Redline, redline
from tracker.domain.text import fold

# An insertion that joins a new item to a list or a term: ", or media", "or privacy", "system,".
_JOINED = re.compile(
    r"^(?:,\s*)?(?:and|or|and/or)\s\w|\w\s(?:and|or)$|^\w[\w-]*(?:\s\w[\w-]*)?,$", re.IGNORECASE
)
# A conjunction anywhere: "Provide" -> "Provide and implement" joins an action in a replacement.
_LIST_TOKEN = re.compile(r"[a-z0-9][\w'-]*|,")
_CONJUNCTION = re.compile(r"(?:^|\s)(?:and|or|and/or)(?:\s|$)", re.IGNORECASE)
SPELLING_MIN_RATIO = 0.8
QUALIFIER_MAX_WORDS = 4
CLAUSE_MAX_WORDS = 12
RECAST_MAX_WORDS = 120  # longer statements are not checked for a recast (quadratic, and rare)


def bag_similarity(a: str, b: str) -> float:
    """Dice coefficient of the two texts' word multisets: cheap, order-blind."""
    ca, cb = Counter(a.lower().split()), Counter(b.lower().split())
    total = sum(ca.values()) + sum(cb.values())
    return 1.0 if total == 0 else 2 * sum((ca & cb).values()) / total


def counter_delta(old: Counter[str], new: Counter[str]) -> str:
    gone = sorted((old - new).elements())
    came = sorted((new - old).elements())
    parts = []
    if gone:
        parts.append("-" + ", -".join(dict.fromkeys(gone)))
    if came:
        parts.append("+" + ", +".join(dict.fromkeys(came)))
    return " ".join(parts)


def scope_delta(red: Redline) -> str:
    """Scope words that an edit replaced, qualified or dropped, e.g. "all users" -> "privileged users".

    Precisely: (a) a short replacement (at most ``QUALIFIER_MAX_WORDS`` words on each side)
    whose scope words differ ("all users" -> "privileged users", "developers" -> "operators"),
    or a clause replaced (up to ``CLAUSE_MAX_WORDS``) that names other parties ("report to the
    security team" -> "notify regulators and affected customers");
    (b) a short insertion or deletion of a qualifier of a party ("users" -> "privileged
    users"). Not a change of scope: a longer clause rewritten, added or dropped (new or
    dropped content, judged by similarity: a scope word it happens to mention, "... each
    user ...", is not a change of who is bound); a party named or unnamed on its own
    ("notify the user" -> "notify"), which says who is addressed, not who is covered; and a
    lone quantifier added or dropped ("for all information" -> "for information", "only
    permit" -> "permit"): emphasis, not extent. A scope word that only moved within the
    statement is no change either.
    """
    gone: Counter[str] = Counter()
    came: Counter[str] = Counter()
    ops = red.ops
    for pos, (op, text) in enumerate(ops):
        if op == EQUAL:
            continue
        partner = None
        if op == DELETE and pos + 1 < len(ops) and ops[pos + 1][0] not in (EQUAL, op):
            partner = ops[pos + 1][1]
        elif op != DELETE and pos > 0 and ops[pos - 1][0] not in (EQUAL, op):
            partner = ops[pos - 1][1]
        longest = max(len(text.split()), len(partner.split()) if partner is not None else 0)
        if longest > CLAUSE_MAX_WORDS or (partner is None and longest > QUALIFIER_MAX_WORDS):
            continue
        terms = scope_terms(text)
        if partner is None:
            terms = Counter({t: n for t, n in terms.items() if t in QUALIFIERS})
        elif longest > QUALIFIER_MAX_WORDS:  # a clause replaced: who, not how many
            terms = Counter({t: n for t, n in terms.items() if t not in QUANTIFIERS})
        (gone if op == DELETE else came).update(terms)
    before, after = scope_terms(red.old_text()), scope_terms(red.new_text())
    counted = {t for t in before.keys() | after.keys() if before[t] != after[t]}  # not just moved
    gone = Counter({t: n for t, n in gone.items() if t in counted})
    came = Counter({t: n for t, n in came.items() if t in counted})
    return counter_delta(gone, came)


def spelling_only(red: Redline) -> bool:
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


def recast(old: str, new: str) -> bool:
    """Same stemmed content words, same order but for one word that moved (voice or mood change)."""
    a, b = content_words(fold(old, normalised=True)), content_words(fold(new, normalised=True))
    if not a or len(a) > RECAST_MAX_WORDS or Counter(a) != Counter(b):
        return False
    return len(a) - _common_subsequence(a, b) <= 1


def coordination(old: str, new: str) -> tuple[list[str], list[str]]:
    """Items joined to or cut from a list or a term.

    "system" -> "system, system component, or media", "Provide" -> "Provide and implement",
    "users and devices" -> "users": the duty reaches more (or fewer) things or actions. Read
    on the house-style forms, so "purges/wipes" -> "purge or wipe" is no change, nor is a word
    that was already in the other version (it moved). An item joined inside an assignment's
    label counts too ("[Assignment: security and privacy attributes]"): the label says what
    the organisation must define values for.
    """
    a, b = housestyle.rewrite(old)[0], housestyle.rewrite(new)[0]
    red = redline(a, b)
    added: list[str] = []
    dropped: list[str] = []
    ops = red.ops
    for pos, (op, text) in enumerate(ops):
        if op == EQUAL or len(text.split()) > QUALIFIER_MAX_WORDS + 1:
            continue
        partner = ""
        if op == DELETE and pos + 1 < len(ops) and ops[pos + 1][0] == INSERT:
            partner = ops[pos + 1][1]
        elif op == INSERT and pos > 0 and ops[pos - 1][0] == DELETE:
            partner = ops[pos - 1][1]
        mine, theirs = Counter(housestyle.canonical(text)), Counter(housestyle.canonical(partner))
        if partner:  # a replacement joins items only when it keeps what it replaced
            if not _CONJUNCTION.search(text) or theirs - mine:
                continue
        elif not _JOINED.search(text.strip()):
            continue
        extra = mine - theirs - Counter(housestyle.canonical(a if op == INSERT else b))
        if extra:
            (added if op == INSERT else dropped).append(text.strip())
    if not added and not dropped:  # the redline may pair the words differently: read the lists
        short = [(op, text) for op, text in ops if op != EQUAL and len(text.split()) <= QUALIFIER_MAX_WORDS]
        came = {w for op, text in short if op == INSERT for w in housestyle.canonical(text)}
        gone = {w for op, text in short if op == DELETE for w in housestyle.canonical(text)}
        added, dropped = _joined_words(a, b, came), _joined_words(b, a, gone)
    return added, dropped


def _joined_words(a: str, b: str, edited: set[str]) -> list[str]:
    """Words of ``b`` that ``a`` lacks, joined by "and"/"or" into a list of qualifiers of a
    noun both texts keep: "Legal and regulatory requirements" -> "Legal, regulatory, and
    contractual requirements" (both neighbours are shared words). Only words of a short edit
    (``edited``) count: a new sentence that mentions a list is new content, judged by similarity."""
    before = set(housestyle.canonical(a))
    shared = before & set(housestyle.canonical(b))
    tokens = _LIST_TOKEN.findall(b.lower())
    found = []
    for i, token in enumerate(tokens):
        words = housestyle.canonical(token)
        if (
            not words
            or words[0] in before
            or words[0] not in edited
            or i < 2
            or tokens[i - 1] not in ("and", "or")
        ):
            continue
        left = tokens[i - 2] if tokens[i - 2] != "," else (tokens[i - 3] if i >= 3 else "")
        right = tokens[i + 1] if i + 1 < len(tokens) else ""
        if set(housestyle.canonical(left)) & shared and set(housestyle.canonical(right)) & shared:
            found.append(f"{tokens[i - 1]} {token}")
    return found
