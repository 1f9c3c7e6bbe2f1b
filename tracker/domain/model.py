"""Domain model: sources, versions, requirements and the documents parsers produce.

Everything here is an immutable value. Storage, parsing and diffing exchange these types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class Lifecycle(enum.StrEnum):
    """Where a version stands in its publisher's process."""

    DRAFT = "draft"
    CONSULTATION = "consultation"
    FINAL = "final"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class Strength(enum.IntEnum):
    """Modal strength of a normative sentence, ordered so that a larger value binds harder.

    RFC 2119 / ISO directives reading: may < should < shall = must. ``NONE`` is a sentence
    that states an outcome or describes without a modal verb.
    """

    NONE = 0
    MAY = 1
    SHOULD = 2
    MUST = 3


@dataclass(frozen=True)
class Obligation:
    """One modal verb found in a normative statement."""

    modal: str  # the verb as printed, lower case: "shall", "should not", "is required to"
    strength: Strength
    negated: bool
    sentence: str


@dataclass(frozen=True)
class Link:
    """A typed pointer from one requirement to another, as the publisher declares it.

    ``relation`` values used by parsers: ``incorporated-into`` and ``moved-to`` (withdrawn
    requirement to its successor), ``tactic`` and ``mitigates`` (ATLAS), ``related``, and
    ``cites`` (a requirement of another publication the publisher names, such as the MITRE
    ATLAS techniques an OWASP Top 10 entry lists). ``target`` is the target's normalised
    key within the publication; a link into another publication (``source``, that
    publication's slug) names the target as that publication prints it ("AML.T0051.000"),
    since a crosswalk shows it to people, and is compared through ``normalise_key``.
    """

    relation: str
    target: str
    source: str = ""

    @property
    def external(self) -> bool:
        return bool(self.source)


@dataclass(frozen=True)
class Requirement:
    """One node of a standard's requirement tree.

    ``ident`` is the identifier as the publisher prints it; ``key`` is the normalised form
    that survives cosmetic renumbering (see :mod:`tracker.domain.keys`). ``statement`` is the
    normative text only; discussion, guidance and examples go to ``guidance`` so that a
    change in explanation is never mistaken for a change in obligation.
    """

    ident: str
    key: str
    title: str = ""
    statement: str = ""
    guidance: str = ""
    parent: str | None = None  # parent's key
    order: int = 0
    depth: int = 0
    kind: str = "requirement"
    withdrawn: bool = False
    links: tuple[Link, ...] = ()
    params: tuple[tuple[str, str], ...] = ()  # (parameter id, text it was substituted with)
    obligations: tuple[Obligation, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def successors(self) -> tuple[str, ...]:
        return tuple(link.target for link in self.links if link.relation in ("incorporated-into", "moved-to"))

    @property
    def roles(self) -> tuple[str, ...]:
        """Who the requirement is for, as the publisher names them ("Developers", "System
        Operators"): the ``applies_to`` property, which parsers fill in canonical form."""
        return tuple(role for role in self.prop("applies_to").split(", ") if role)

    def prop(self, name: str, default: str = "") -> str:
        for key, value in self.properties:
            if key == name:
                return value
        return default


@dataclass(frozen=True)
class Profile:
    """A named selection of a version's requirements (a baseline such as 800-53 MODERATE)."""

    name: str
    title: str
    keys: tuple[str, ...]


class DocumentRole(enum.StrEnum):
    CATALOG = "catalog"  # the full set of requirements
    PROFILE = "profile"  # a selection that refers to a catalog
    RESOLVED = "resolved"  # a selection with its requirements inlined (resolved baseline)
    PART = "part"  # one piece of a multi-file document (a Top 10 entry, a chapter)


@dataclass(frozen=True)
class ParsedDocument:
    """What a parser makes of one file."""

    format: str
    parser_version: str
    role: DocumentRole
    title: str = ""
    requirements: tuple[Requirement, ...] = ()
    profiles: tuple[Profile, ...] = ()
    version_hint: str = ""
    published: date | None = None


@dataclass(frozen=True)
class Artefact:
    """Raw bytes of one archived file, addressed by their SHA-256."""

    sha256: str
    filename: str
    size: int
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Source:
    slug: str
    title: str = ""
    publisher: str = ""
    homepage: str = ""
    kind: str = ""
    licence: str = ""
    # Sources that track the same publication in another packaging (the EU AI Act from EUR-Lex
    # and as a framework YAML, with different identifiers), or documents published with it.
    companions: tuple[str, ...] = ()


class VersionRole(enum.StrEnum):
    """What an archived version is to its publication.

    An *edition* is a version in the publisher's succession (``2.0`` after ``1.1``); a
    *rendition* is the same edition's text in another format (CSF 2.0 as OSCAL beside the
    YAML packaging) and never supersedes or is diffed against its own edition; a *companion*
    is another document published alongside (the AI RMF Playbook beside AI RMF 1.0), kept with
    the source but outside its succession.
    """

    EDITION = "edition"
    RENDITION = "rendition"
    COMPANION = "companion"


@dataclass(frozen=True)
class Version:
    source: str
    label: str
    status: Lifecycle = Lifecycle.FINAL
    published: date | None = None
    observed_at: datetime | None = None
    content_hash: str = ""
    parser: str = ""
    parser_version: str = ""
    ordinal: int = 0
    requirement_count: int = 0
    artefacts: tuple[Artefact, ...] = ()
    role: VersionRole = VersionRole.EDITION
    rendition_of: str = ""  # a rendition's edition label
    partial: str = ""  # why the version holds only part of the publication; "" when whole
    revision: str = ""  # the file's own revision (OSCAL metadata.version, a commit date)


@dataclass(frozen=True)
class ParsedVersion:
    """All documents of one version assembled into a single requirement tree."""

    parser: str
    parser_version: str
    title: str
    requirements: tuple[Requirement, ...]
    profiles: tuple[Profile, ...] = ()
    published: date | None = None
    version_hint: str = ""
    formats: tuple[str, ...] = field(default_factory=tuple)
    partial: str = ""  # why these documents hold only part of the publication ("" when whole)
    companion: bool = False  # documents that accompany a publication rather than edit it

    def by_key(self) -> dict[str, Requirement]:
        return {req.key: req for req in self.requirements}
