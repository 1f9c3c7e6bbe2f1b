"""Where a new version belongs in its source: an edition, a rendition of one, or a companion.

Publishers release one text in several formats (CSF 2.0 as a YAML packaging and as NIST's own
OSCAL catalog) and publish other documents beside it (the AI RMF Playbook beside AI RMF 1.0).
Neither is a new edition: a rendition must not supersede its own edition, and diffing 2.0
against "2.0-oscal" or 1.0 against the Playbook compares formats, not succession. The rules:

* a version read only by companion parsers (``COMPANION = True`` in the parser module) is a
  *companion*;
* a version whose label is an edition's label followed by a format word (``2.0-oscal``,
  ``1.0-pdf``) and which was read by another parser is a *rendition* of that edition;
* a version arriving under an edition's label with other bytes read by another parser (a crawl
  of the OSCAL file labelled ``2.0`` after the YAML was imported as ``2.0``) is a rendition
  too, archived as ``<label>-<format>``;
* otherwise it is an edition. An edition arriving after its renditions (``2.0-oscal`` first,
  then ``2.0``) takes them over, so the outcome does not depend on arrival order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tracker.domain.model import Lifecycle, ParsedVersion, Source, Version, VersionRole
from tracker.storage.archive import Archive
from tracker.storage.jobs import JobSpec

# A version holding under this share of its predecessor's requirements, every one of them
# already in the predecessor, is a part of the publication rather than a new edition of it.
PARTIAL_SHARE = 0.5
PARTIAL_MIN = 20  # below this many requirements a shrinking document is an edition, not a part

_FORMAT_WORDS = ("oscal", "json", "xml", "yaml", "yml", "pdf", "html", "md", "markdown", "csv", "xlsx")
_SUFFIX = re.compile(r"^(?P<base>.+?)[-_.](?P<word>" + "|".join(_FORMAT_WORDS) + r")$", re.IGNORECASE)


@dataclass(frozen=True)
class Placement:
    label: str
    role: VersionRole = VersionRole.EDITION
    rendition_of: str = ""


def format_word(parser: str) -> str:
    """The short word a rendition's label gets: ``oscal`` for ``oscal``, ``pdf`` for
    ``nist-ai-pdf``, ``html`` for ``eurlex-html``; else the parser's name."""
    first = parser.split("+", 1)[0]
    for word in _FORMAT_WORDS:
        if first == word or first.endswith(f"-{word}") or first.startswith(f"{word}-"):
            return word
    return first


def base_label(label: str) -> str:
    """``2.0`` for ``2.0-oscal``; the label itself when it names no format."""
    match = _SUFFIX.match(label)
    return match.group("base") if match else label


def place(existing: Sequence[Version], label: str, parsed: ParsedVersion) -> Placement:
    """The placement of a new version ``label`` read as ``parsed`` among ``existing``."""
    if parsed.companion:
        return Placement(label, VersionRole.COMPANION)
    editions = {v.label: v for v in existing if v.role is VersionRole.EDITION}
    taken = editions.get(label)
    if taken is not None and taken.parser != parsed.parser:
        # a publisher may revise the other format's file under the same version label (a
        # corrected OSCAL catalog): the revision is a further rendition with a free label,
        # never a conflict that would fail every later crawl
        word = format_word(parsed.parser)
        labels = {v.label for v in existing}
        candidate, n = f"{label}-{word}", 2
        while candidate in labels:
            candidate, n = f"{label}-{word}-{n}", n + 1
        return Placement(candidate, VersionRole.RENDITION, label)
    base = base_label(label)
    edition = editions.get(base) if base != label else None
    if edition is not None and edition.parser != parsed.parser:
        return Placement(label, VersionRole.RENDITION, base)
    return Placement(label)


def renditions_to_adopt(existing: Sequence[Version], label: str, parser: str) -> list[str]:
    """Editions archived earlier as ``<label>-<format>`` by another parser: renditions of the
    new edition ``label`` that arrived before it."""
    return [
        v.label
        for v in existing
        if v.role is VersionRole.EDITION
        and v.label != label
        and base_label(v.label) == label
        and v.parser != parser
    ]


def partial_reason(parsed: ParsedVersion, previous: Version | None, previous_keys: set[str]) -> str:
    """Why ``parsed`` holds only part of the publication, or "".

    The documents say so themselves (only resolved profiles, no catalog: see
    :func:`tracker.sources.formats.assemble`), or the numbers do: far fewer requirements than
    the edition before, and nothing that edition did not already hold. A real new edition that
    drops most of its text would still add or reword something; a subset adds nothing.
    """
    if parsed.partial:
        return parsed.partial
    if previous is None or len(previous_keys) < PARTIAL_MIN or not parsed.requirements:
        return ""
    keys = {r.key for r in parsed.requirements}
    if len(keys) < PARTIAL_SHARE * len(previous_keys) and keys <= previous_keys:
        return (
            f"holds {len(keys)} of the {len(previous_keys)} requirements of {previous.label}, "
            "and none that it did not"
        )
    return ""


def archive_version(
    archive: Archive,
    source: Source,
    label: str,
    files: Sequence[tuple[str, bytes]],
    parsed: ParsedVersion,
    *,
    status: Lifecycle,
    published: date | None = None,
    ordinal: int | None = None,
    observed_at: datetime | None = None,
    digest: str | None = None,
    jobs: Sequence[JobSpec] = (),
    revision: str = "",
) -> tuple[Version, bool]:
    """Archive a parsed version in its place (edition, rendition or companion), saying whether
    it is partial. ``jobs`` are written with an edition only: a rendition or a companion has
    no predecessor to be diffed against."""
    existing = _versions(archive, source.slug)
    where = place(existing, label, parsed)
    partial = ""
    if where.role is VersionRole.EDITION:
        previous = _previous_edition(existing, ordinal)
        keys: set[str] = set()
        if previous is not None and len(parsed.requirements) < PARTIAL_SHARE * previous.requirement_count:
            # only a version much smaller than the edition before can be a part of it
            keys = {r.key for r in archive.requirements(source.slug, previous.label)}
        partial = partial_reason(parsed, previous, keys)
    else:
        partial = parsed.partial
    version, created = archive.add_version(
        source,
        where.label,
        files,
        parsed,
        status=status,
        published=published,
        ordinal=ordinal,
        observed_at=observed_at,
        digest=digest,
        jobs=jobs if where.role is VersionRole.EDITION else (),
        role=where.role,
        rendition_of=where.rendition_of,
        partial=partial,
        revision=revision,
    )
    if created and where.role is VersionRole.EDITION:
        archive.adopt_renditions(
            source.slug, where.label, renditions_to_adopt(existing, where.label, parsed.parser)
        )
    return version, created


def _versions(archive: Archive, slug: str) -> list[Version]:
    from tracker.domain.errors import NotFoundError

    try:
        return archive.versions(slug)
    except NotFoundError:
        return []


def _previous_edition(existing: Sequence[Version], ordinal: int | None) -> Version | None:
    editions = [v for v in existing if v.role is VersionRole.EDITION]
    if ordinal is not None:
        editions = [v for v in editions if v.ordinal < ordinal]
    return editions[-1] if editions else None
