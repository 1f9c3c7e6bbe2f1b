"""What the engine knows about one requirement before comparing: its normalised fields,
whether it is a grouping node, and the signals that decide editorial versus substantive."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from tracker.domain import modality
from tracker.domain.keys import normalise_key
from tracker.domain.model import Obligation, Requirement, Strength
from tracker.domain.text import fold, normalise

STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "been", "being", "by", "can", "could", "do", "does",
        "for", "from", "had", "has", "have", "how", "if", "in", "into", "is", "it", "its", "may",
        "might", "must", "of", "on", "or", "our", "shall", "should", "such", "than", "that", "the",
        "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "were",
        "what", "when", "where", "which", "while", "who", "will", "with", "within", "would", "you",
        "your", "also", "not", "no", "other", "use", "used", "using", "including",
    }
)  # fmt: skip

# Words that decide to whom and to what a requirement applies. A change in their counts is
# a change of scope ("all users" -> "privileged users"); "organization" is deliberately absent
# because SP 800-53 Rev 5 dropped it from every control as a drafting convention.
_QUANTIFIERS = (
    "all", "any", "each", "every", "some", "only", "none", "at least", "at most", "except",
    "unless", "excluding", "exclusively", "solely", "where applicable", "as applicable",
    "if applicable", "as appropriate", "where appropriate",
)  # fmt: skip
_ROLES = (
    "developer", "operator", "provider", "deployer", "user", "end user", "custodian", "owner",
    "vendor", "supplier", "third party", "third-party", "administrator", "personnel", "employee",
    "contractor", "manufacturer", "importer", "distributor", "customer", "consumer", "data subject",
    "privileged", "external", "internal", "remote", "public", "high-risk", "critical",
)  # fmt: skip
_SCOPE = re.compile(
    r"\b("
    + "|".join(re.escape(w) for w in sorted(_QUANTIFIERS + _ROLES, key=len, reverse=True))
    + r")(?:e?s)?\b"
)
QUANTIFIERS = frozenset(q.replace("-", " ") for q in _QUANTIFIERS)
# Role words that narrow a party ("privileged users"): added or dropped on their own, they
# change who is covered, where a bare party noun added or dropped only says who is addressed.
QUALIFIERS = frozenset({"privileged", "external", "internal", "remote", "public", "high-risk", "critical"})
_NUMBER = re.compile(r"(?<![\w.\-])\d+(?:[.,]\d+)?(?![\w\-]|\.\d)")
_ENUMERATOR = re.compile(r"(?:^|(?<=[;:.]\s)|(?<=\band\s)|(?<=\bor\s))\(?\d{1,2}[.)](?=\s|[A-Z])")
_YEAR = re.compile(r"(?:19|20)\d\d")
# Citation and cross-reference markers: "Scenario #3", "(Ref #5, #6)", "[12]", "Scenario # 3".
# They number examples and sources; adding the thirteenth scenario is not a changed quantity.
_CITATION = re.compile(r"#\s?\d+\b|\[\d{1,3}\]")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Properties that state applicability; a change to one is a scope change.
SCOPE_PROPERTIES = frozenset(
    {"applies_to", "applies-to", "applicability", "scope", "role", "roles", "audience", "actors", "actor",
     "lifecycle", "stage", "phase", "baseline", "impact-level", "level"}
)  # fmt: skip
# Properties that are bookkeeping, not content: never a change.
IGNORED_PROPERTIES = frozenset(
    {"label", "sort-id", "sort_id", "created", "modified", "created_date", "modified_date", "date",
     "last-modified", "version", "order", "file", "path", "url", "href", "source", "status", "family",
     "list", "edition", "year", "object-type", "urn", "ident-source", "number", "withdrawn-basis",
     "permalink"}
)  # fmt: skip
MATCH_CHARS = 600
LINEAGE_RELATIONS = frozenset({"incorporated-into", "moved-to"})


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A deliberately crude suffix stripper: "develops", "developed", "developing" -> "develop".

    Only used to make lexical similarity robust to Rev 4 "The organization develops" vs Rev 5
    "Develop"; it never touches what is displayed.
    """
    if len(word) <= 4 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") else word


def content_words(text: str) -> list[str]:
    """Stemmed folded words of ``text`` without stop words: the vocabulary of coverage tests."""
    return [stem(w) for w in _WORD.findall(text) if w not in STOPWORDS and len(w) > 1]


# Quantifiers of the same extent are one term: "each user" and "every user" cover the same users.
_SAME_EXTENT = {"any": "all", "each": "all", "every": "all", "solely": "only", "exclusively": "only"}


def scope_terms(text: str) -> Counter[str]:
    """Scope words with their counts; "third-party" and "third party" are one term, and so
    are quantifiers of the same extent ("each", "every", "all")."""
    terms = (m.group(1).replace("-", " ") for m in _SCOPE.finditer(text.lower()))
    return Counter(_SAME_EXTENT.get(t, t) for t in terms)


def strip_citations(text: str) -> str:
    """``text`` without citation markers ("Scenario #3", "[12]"): they number, they do not count."""
    return _CITATION.sub(" ", text)


def numbers(text: str) -> Counter[str]:
    """Quantities in the text: not list labels ("1.", "(2)"), citation markers ("#3", "[12]")
    or years (references, editions)."""
    text = _ENUMERATOR.sub(" ", strip_citations(text))
    return Counter(n for n in _NUMBER.findall(text) if not _YEAR.fullmatch(n))


@dataclass
class Item:
    """One requirement of one side, with the normalised forms every stage compares."""

    req: Requirement
    side: int  # 0 old, 1 new
    index: int  # position within its version
    is_group: bool = False
    title: str = field(init=False)
    statement: str = field(init=False)
    guidance: str = field(init=False)

    def __post_init__(self) -> None:
        # A title that only repeats the identifier (catalogs without titles print the ID
        # there, as CSF 2.0 in OSCAL does) names nothing: it is no title.
        title = normalise(self.req.title)
        self.title = "" if title and normalise_key(title) == self.req.key else title
        self.statement = normalise(self.req.statement)
        self.guidance = normalise(self.req.guidance)

    @property
    def key(self) -> str:
        return self.req.key

    @property
    def ident(self) -> str:
        return self.req.ident

    @property
    def active(self) -> bool:
        return not self.req.withdrawn

    @cached_property
    def match_text(self) -> str:
        """What similarity sees: title, then the start of the statement and of the guidance.

        Both texts count: OWASP's statement is a list of mitigations and its identity lives in
        the description (guidance), while an 800-53 control is known by its statement. About
        ``MATCH_CHARS`` of each keeps the whole within MiniLM's 256-token window.
        """
        parts = [self.title, _clip(self.statement), _clip(self.guidance)]
        return ". ".join(p for p in parts if p)

    @cached_property
    def core_text(self) -> str:
        """Title and statement only (the guidance when there is no statement)."""
        body = self.statement or self.guidance
        return f"{self.title}. {body}" if self.title else body

    @cached_property
    def folded(self) -> str:
        return fold(self.match_text, normalised=True)

    @cached_property
    def folded_core(self) -> str:
        return fold(self.core_text, normalised=True)

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(content_words(self.folded_core))

    @cached_property
    def obligations(self) -> tuple[Obligation, ...]:
        return modality.obligations(self.statement) if self.statement else ()

    @cached_property
    def modal(self) -> Strength:
        """The strongest modal verb as written (for reasons)."""
        return modality.strongest(self.obligations)

    @cached_property
    def strength(self) -> Strength:
        """The binding force used to compare versions: should or shall/must, else none.

        "May" is ISO's permission but plain English's possibility ("a compromised model may
        leak data"), and guidance written as imperatives ("Enforce least privilege") has no
        modal at all; so a move between "may" and no modal says nothing reliable about the
        obligation, while should and shall/must are unambiguous in every drafting style.
        Imperatives are weighed against the other version in :func:`compared_strengths`.
        """
        return self.modal if self.modal >= Strength.SHOULD else Strength.NONE

    @cached_property
    def imperatives(self) -> int:
        return modality.imperatives(self.statement) if self.statement else 0

    @cached_property
    def force(self) -> str:
        """How the statement directs, for reasons: its strongest modal, or "imperative"."""
        if self.modal < Strength.SHOULD and self.imperatives:
            return "imperative"
        return {
            Strength.NONE: "no modal",
            Strength.MAY: "may",
            Strength.SHOULD: "should",
            Strength.MUST: "shall/must",
        }[self.modal]

    @cached_property
    def prohibitions(self) -> int:
        """Negated modals, "may not" included: adding or dropping a "not" next to a modal
        reverses the sentence, whatever the modal's strength."""
        return sum(1 for o in self.obligations if o.negated)

    @cached_property
    def params(self) -> dict[str, str]:
        return {pid: normalise(value) for pid, value in self.req.params}

    @cached_property
    def properties(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in self.req.properties:
            if name.lower() in IGNORED_PROPERTIES:
                continue
            out[name] = f"{out[name]}; {normalise(value)}" if name in out else normalise(value)
        return out

    @cached_property
    def links(self) -> frozenset[tuple[str, str]]:
        # a cited requirement of another publication reads "mitre-atlas:AML.T0051", so a changed
        # list of publisher-declared references is a change of its own
        return frozenset(
            (lk.relation, f"{lk.source}:{lk.target}" if lk.source else lk.target)
            for lk in self.req.links
            if lk.relation not in LINEAGE_RELATIONS
        )


def _clip(text: str) -> str:
    if len(text) <= MATCH_CHARS:
        return text
    cut = text[:MATCH_CHARS]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def build_items(reqs: Sequence[Requirement], side: int) -> list[Item]:
    """Items in version order; a node is a group when it has children and no statement."""
    parents = {r.parent for r in reqs if r.parent}
    return [
        Item(req=r, side=side, index=i, is_group=(r.key in parents and not r.statement.strip()))
        for i, r in enumerate(reqs)
    ]


def compared_strengths(old: Item, new: Item) -> tuple[Strength, Strength]:
    """The binding force of two versions of a statement, imperatives weighed against modals.

    An instruction in the imperative ("Limit the plugin's permissions") directs as much as
    "should": guidance such as OWASP's mitigations and the NCSC's principles advises in the
    imperative, and ISO/ETSI drafting gives it no binding force of its own. So against a
    should/shall on the other side, a statement with imperatives and no modal counts as
    "should": "X should be limited" -> "Limit X" is no change, "shall" -> "Limit X" is
    weaker. Between imperatives and no modal at all nothing is concluded: an outcome
    ("Data is encrypted") recast as an instruction, or a misspelt verb, is not a new duty.
    """
    o, n = old.strength, new.strength
    if o is Strength.NONE and n >= Strength.SHOULD and old.imperatives:
        o = Strength.SHOULD
    if n is Strength.NONE and o >= Strength.SHOULD and new.imperatives:
        n = Strength.SHOULD
    return o, n
