"""Modal strength of normative sentences (must/shall, should, may, and their negations).

Read with the conventions of RFC 2119 and the ISO/IEC and ETSI drafting rules: "shall",
"must" and "is required to" bind; "should" and "is recommended" advise; "may" and "can
optionally" permit. "Shall not" / "must not" prohibit; we record a prohibition as the same
strength with ``negated=True``, because weakening "shall not" to "should not" is as material
as weakening "shall" to "should".
"""

from __future__ import annotations

import re

from tracker.domain.model import Obligation, Strength

_SENTENCE = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z(\"'])|\n{2,}|\n(?=\s*(?:[-*\u2022]|[a-z0-9]{1,3}[.)])\s)")

# Longest phrases first so "shall not" wins over "shall".
_PATTERNS: tuple[tuple[str, Strength, bool], ...] = (
    (r"shall not", Strength.MUST, True),
    (r"must not", Strength.MUST, True),
    (r"is not (?:required|permitted|allowed) to", Strength.MUST, True),
    (r"should not", Strength.SHOULD, True),
    (r"is not recommended", Strength.SHOULD, True),
    (r"may not", Strength.MAY, True),
    (r"need not", Strength.MAY, True),
    (r"(?:is|are) required to", Strength.MUST, False),
    (r"(?:is|are) mandatory", Strength.MUST, False),
    (r"shall", Strength.MUST, False),
    (r"must", Strength.MUST, False),
    (r"(?:is|are) (?:strongly )?recommended", Strength.SHOULD, False),
    (r"should", Strength.SHOULD, False),
    (r"(?:is|are) (?:permitted|allowed) to", Strength.MAY, False),
    (r"may", Strength.MAY, False),
    (r"can optionally", Strength.MAY, False),
)
_MODAL = re.compile(r"\b(" + "|".join(p for p, _, _ in _PATTERNS) + r")\b", re.IGNORECASE)
_LOOKUP = [(re.compile(rf"^{p}$", re.IGNORECASE), s, n) for p, s, n in _PATTERNS]


def sentences(text: str) -> list[str]:
    """Split text into sentences and list items, dropping empty pieces."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def _classify(phrase: str) -> tuple[Strength, bool]:
    for pattern, strength, negated in _LOOKUP:
        if pattern.match(phrase):
            return strength, negated
    return Strength.NONE, False


def obligations(statement: str) -> tuple[Obligation, ...]:
    """Every modal verb in the statement, one entry per occurrence, in order."""
    found: list[Obligation] = []
    for sentence in sentences(statement):
        for match in _MODAL.finditer(sentence):
            phrase = " ".join(match.group(1).lower().split())
            strength, negated = _classify(phrase)
            found.append(Obligation(modal=phrase, strength=strength, negated=negated, sentence=sentence))
    return tuple(found)


# Verbs that open an instruction in guidance written as imperatives ("Limit the scope of
# ...", "Do not store secrets in prompts"), gathered from how control catalogs (SP 800-53
# Rev 5) and AI security guidance open their instructions; an adverb may come first
# ("Uniquely identify ..."). "Consider" is left out: it invites a judgement rather than
# directing an action.
_DIRECTIVE_VERBS = frozenset(
    re.findall(
        r"\S+",
        """
accept address adjust adopt alert align allow analyse analyze apply appoint approve
archive assess assign attach audit authenticate authorise authorize avoid back benchmark
block build change check classify collect communicate comply conduct configure confirm
control coordinate correct correlate create decommission define delete deny deploy
describe design designate detect determine develop disable display distribute do don't
downgrade educate employ enable encrypt enforce ensure escalate establish evaluate exercise
filter follow generate grant harden identify implement include incorporate inform initiate
inspect integrate invoke isolate issue keep label limit log maintain make manage mark
measure minimise minimize mitigate modify monitor never notify obtain patch perform permit
plan prepare prevent prioritise prioritize produce prohibit protect provide receive record
reduce remove report require respond restrict retain retire review revoke rotate route run
sanitise sanitize scan secure segment segregate select separate set share sign simulate
specify store support take terminate test track train transfer treat update use validate
verify
""",
    )
)
# A word after the verb that shows it was a noun after all ("Use of ...", "Review is ...").
_NOUN_FOLLOWERS = frozenset(
    {"of", "is", "are", "was", "were", "and", "or", "by", "as", "in", "for", "to", "&"}
)
_COPULAS = frozenset({"is", "are", "was", "were", "has", "have"})
_ITEM_MARK = re.compile(r"^(?:[-*\u2022>#]+|\(?[a-z0-9]{1,3}[.)])\s*|\*\*|__")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")


def is_imperative(sentence: str) -> bool:
    """Whether a sentence or list item opens with a directive verb in the imperative."""
    text = sentence.strip()
    while True:  # strip list markers and emphasis: "- **Limit** access" -> "Limit access"
        stripped = _ITEM_MARK.sub("", text, count=1).lstrip()
        if stripped == text:
            break
        text = stripped
    words = _WORD.findall(text[:80])
    if not words or not text[:1].isupper():
        return False
    verb = words[0].lower().replace("\u2019", "'")
    if verb.endswith("ly") and len(words) > 1 and words[1].lower() in _DIRECTIVE_VERBS:
        words, verb = words[1:], words[1].lower()  # "Uniquely identify ...", "Automatically alert ..."
    if verb not in _DIRECTIVE_VERBS:
        return False
    follower = words[1].lower() if len(words) > 1 else ""
    paired = follower in ("and", "or") and len(words) > 2 and words[2].lower() in _DIRECTIVE_VERBS
    if follower in _NOUN_FOLLOWERS and not paired:  # "Identify and authenticate ..." pairs two verbs
        return False
    # "Log files are kept": a copula right after means the verb opened a noun phrase
    return not any(w.lower() in _COPULAS for w in words[1:4])


def imperatives(statement: str) -> int:
    """How many sentences or list items of the statement are instructions in the imperative."""
    return sum(1 for s in sentences(statement) if is_imperative(s))


def strongest(items: tuple[Obligation, ...]) -> Strength:
    """The binding force of a statement: the strongest modal it uses."""
    return max((o.strength for o in items), default=Strength.NONE)
