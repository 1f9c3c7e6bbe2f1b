"""What a crawl does with the bytes it fetched, kept free of Twisted so it is testable in-process.

The spiders (``spiders/``) discover and download; they hand each candidate version to
:func:`archive_fetched` as a :class:`FetchedVersion`. Bytes already archived for the source
cost nothing more; new bytes are parsed as the registry's format, archived in one
transaction together with the pipeline's durable diff job, and announced to the workers
through :func:`tracker.pipeline.announce`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from tracker import pipeline
from tracker.domain.errors import NotFoundError, ParseError, TrackerError
from tracker.domain.inputs import check_label
from tracker.domain.model import Lifecycle, ParsedVersion, Version, VersionRole
from tracker.sources.ingest import guess_status, parse_files
from tracker.sources.registry import SourceSpec
from tracker.sources.renditions import archive_version
from tracker.storage.archive import Archive, content_hash, sha256
from tracker.storage.crawls import Validator


@dataclass(frozen=True)
class FetchedVersion:
    """A candidate version as downloaded: the publisher's label and the raw files."""

    label: str
    files: tuple[tuple[str, bytes], ...]
    url: str
    format: str
    published: date | None = None
    status: Lifecycle | None = None
    fallback_label: str = ""  # used when ``label`` is taken by different bytes
    numbered: bool = False  # labels we made up (dates) get "-2", "-3" on collision
    revision: str = ""  # the file's own revision (OSCAL metadata.version, a commit date)
    # the label is ours (a commit date): prefer the edition the documents name ("2025" from
    # "LLM01:2025"), keeping ours as the revision and, on collision, as the label's suffix
    document_label: bool = False


@dataclass(frozen=True)
class Archived:
    version: Version
    created: bool
    hook_error: str = ""


@dataclass
class CrawlReport:
    """Everything a crawl learned, turned into a run row at the end."""

    bytes_fetched: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    validators: dict[str, Validator] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        if message not in self.failures:
            self.failures.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)

    @property
    def outcome(self) -> str:
        if self.failures:
            return "failed"
        return "ok" if self.new_versions else "unchanged"

    @property
    def message(self) -> str:
        parts: list[str] = []
        if self.failures:
            parts.append("; ".join(self.failures))
        if self.new_versions:
            parts.append("archived " + ", ".join(self.new_versions))
        if self.notes and not self.failures:
            parts.append("; ".join(self.notes))
        return "; ".join(parts) or "nothing to do"


def archived_versions(archive: Archive, slug: str) -> list[Version]:
    try:
        return archive.versions(slug)
    except NotFoundError:
        return []


def already_archived(archive: Archive, slug: str, files: Sequence[tuple[str, bytes]]) -> Version | None:
    """The archived version holding these bytes, if any.

    A version with the same content hash matches; so does, for a one-file version, any version
    that already holds that file among others (a crawled catalog equal to the one ingested
    from the corpus together with its profiles is not news).
    """
    found = archive.find_by_hash(slug, content_hash(files))
    if found is not None or len(files) != 1:
        return found
    digest = sha256(files[0][1])
    for version in archived_versions(archive, slug):
        if any(a.sha256 == digest for a in version.artefacts):
            return version
    return None


def choose_label(archive: Archive, slug: str, item: FetchedVersion) -> str:
    taken = {v.label for v in archived_versions(archive, slug)}
    if item.label not in taken:
        return item.label
    if item.fallback_label and item.fallback_label not in taken:
        return item.fallback_label
    if item.numbered:
        n = 2
        while f"{item.label}-{n}" in taken:
            n += 1
        return f"{item.label}-{n}"
    return item.label  # the archive refuses different bytes under a taken label, with a clear error


def describe_bytes(data: bytes) -> str:
    head = data[:200].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        kind = "an HTML page"
    elif head.startswith(b"%pdf-"):
        kind = "a PDF"
    elif head.startswith((b"{", b"[")):
        kind = "JSON"
    else:
        kind = "unrecognised bytes"
    return f"{kind} ({len(data)} bytes, starting {data[:24]!r})"


def parse_as(
    files: Sequence[tuple[str, bytes]], fmt: str, where: str, max_bytes: int, title: str
) -> ParsedVersion:
    """Parse with format detection, then insist the registry's format is what was read.

    ``raw`` keeps the bytes without a requirement tree, for publications no parser reads yet.
    """
    if fmt == "raw":
        for name, data in files:
            if len(data) > max_bytes:
                raise ParseError(f"{where}/{name}", f"{len(data)} bytes is over the {max_bytes}-byte limit")
        return ParsedVersion(parser="raw", parser_version="1", title=title, requirements=(), formats=("raw",))
    from tracker.sources.formats import parsers

    known = {p.name: p for p in parsers()}
    if fmt != "auto" and fmt not in known:
        raise TrackerError(
            f"unknown format {fmt!r} in the registry", f"formats: auto, raw, {', '.join(sorted(known))}"
        )
    if fmt != "auto" and len(files) == 1 and known[fmt].sniff(files[0][0], files[0][1]) == 0:
        name, data = files[0]
        raise ParseError(f"{where}/{name}", f"expected {fmt} but got {describe_bytes(data)}")
    if fmt != "auto" and all(known[fmt].sniff(name, data) > 0 for name, data in files):
        # the registry's word beats detection when its parser accepts every file: a generic
        # page with numbered headings is an html-outline source, not a GOV.UK code of practice
        return parse_files(files, where, max_bytes, known[fmt])
    parsed = parse_files(files, where, max_bytes)
    if fmt != "auto" and fmt not in parsed.formats:
        raise ParseError(
            where, f"expected {fmt} but the files read as {parsed.parser}", "check the registry's format"
        )
    return parsed


def publisher_labelled(item: FetchedVersion, parsed: ParsedVersion) -> FetchedVersion:
    """``item`` labelled with the edition its documents name, when its own label is made up."""
    hint = re.sub(r"\s+", "-", parsed.version_hint.strip())
    if not item.document_label or not hint or not _EDITION.match(hint):
        return item
    return replace(
        item,
        label=hint,
        fallback_label=f"{hint}-{item.label}",
        revision=item.revision or item.label,
        numbered=True,
    )


_EDITION = re.compile(r"^v?\d{1,4}(\.\d+){0,3}$")


def archive_fetched(archive: Archive, spec: SourceSpec, item: FetchedVersion, max_bytes: int) -> Archived:
    """Archive ``item`` unless its bytes are already there; run the new-version hook."""
    existing = already_archived(archive, spec.slug, item.files)
    if existing is not None:
        return Archived(existing, created=False)
    parsed = parse_as(
        item.files, item.format, f"{spec.slug} {item.label} ({item.url})", max_bytes, spec.title
    )
    item = publisher_labelled(item, parsed)
    taken = next((v for v in archived_versions(archive, spec.slug) if v.label == item.label), None)
    if taken is not None and taken.role is VersionRole.EDITION and taken.parser != parsed.parser:
        label = item.label  # the same edition in another format: archived as its rendition
    else:
        label = choose_label(archive, spec.slug, item)
    label = check_label(label)
    source = spec.to_source()
    version, created = archive_version(
        archive,
        source,
        label,
        list(item.files),
        parsed,
        status=item.status or guess_status(label),
        published=item.published,
        jobs=[pipeline.diff_job(spec.slug, label)],
        revision=item.revision,
    )
    hook_error = ""
    if created and version.role is VersionRole.EDITION:
        _fault_pause()
        try:
            pipeline.announce(archive, source, version)
        except Exception as exc:  # the version and its diff job are stored whatever happens here
            hook_error = f"announcing {label} failed: {type(exc).__name__}: {exc}"
    return Archived(version, created, hook_error)


def _fault_pause() -> None:
    """Fault tests: hold the crawl between the commit and the wake-up (``archived:SECONDS``)."""
    from tracker.settings import Settings

    kind, _, seconds = Settings.from_env().fault_pause.partition(":")
    if kind == "archived":
        import time

        time.sleep(float(seconds or "0"))


_VERSION_NUMBERS = re.compile(r"\d+")


def version_key(label: str) -> tuple[int, ...]:
    """Numeric sort key of a tag or version label: ``v5.10.0`` after ``v5.9.1``."""
    return tuple(int(n) for n in _VERSION_NUMBERS.findall(label))
