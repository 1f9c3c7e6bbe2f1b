"""Reading files and corpus folders into the archive."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tracker.domain.errors import DocumentTooLargeError, NoDocumentsError, ParseError, TrackerError
from tracker.domain.inputs import check_label, check_slug
from tracker.domain.model import Lifecycle, ParsedDocument, ParsedVersion, Source, Version
from tracker.sources.formats import assemble, parse_document, parser_named
from tracker.sources.parsing.base import Parser
from tracker.sources.renditions import archive_version
from tracker.storage.archive import Archive, content_hash

_SKIP = re.compile(r"^(\.|README|LICEN[CS]E|MANIFEST\.json$)", re.IGNORECASE)


@dataclass(frozen=True)
class IngestResult:
    version: Version
    created: bool

    def to_dict(self) -> dict[str, Any]:
        v = self.version
        return {
            "source": v.source,
            "version": v.label,
            "created": self.created,
            "status": str(v.status),
            "requirements": v.requirement_count,
            "parser": v.parser,
            "content_hash": v.content_hash,
            "files": [a.filename for a in v.artefacts],
            "role": str(v.role),
            "rendition_of": v.rendition_of or None,
            "partial": v.partial or None,
        }


def guess_status(label: str) -> Lifecycle:
    """Lifecycle from a version label when the publisher gives nothing better."""
    lowered = label.lower()
    if "consultation" in lowered:
        return Lifecycle.CONSULTATION
    if re.search(r"draft|fpd|(^|[-_.])rc([-_.0-9]|$)|preview|ipd", lowered):
        return Lifecycle.DRAFT
    if "withdrawn" in lowered:
        return Lifecycle.WITHDRAWN
    return Lifecycle.FINAL


def collect_files(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, plus the documents inside named folders (sorted, no dotfiles)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.iterdir()) if p.is_file() and not _SKIP.match(p.name))
        elif path.is_file():
            found.append(path)
        else:
            raise TrackerError(f"{path}: no such file or folder", "check the path")
    return found


def read_files(paths: Sequence[Path], max_bytes: int) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for path in paths:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentTooLargeError(str(path), size, max_bytes)
        files.append((path.name, path.read_bytes()))
    names = [n for n, _ in files]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise TrackerError(
            f"two files named {sorted(duplicates)[0]!r}", "a version's files need distinct names"
        )
    return files


def parse_files(
    files: Sequence[tuple[str, bytes]], where: str, max_bytes: int, parser: Parser | None = None
) -> ParsedVersion:
    """Parse (with ``parser``, else each file's detected format) and assemble; every error
    names the file it came from."""
    docs: list[tuple[str, ParsedDocument]] = []
    folder = where if not where.endswith(tuple(n for n, _ in files)) else str(Path(where).parent)
    for name, data in files:
        try:
            docs.append((name, parse_document(name, data, max_bytes, parser)))
        except ParseError as err:
            raise err.located(str(Path(folder) / name)) from err
    return assemble(docs, where)


def ingest_files(
    archive: Archive,
    source: Source,
    label: str,
    paths: Sequence[Path],
    *,
    max_bytes: int,
    status: Lifecycle | None = None,
    published: date | None = None,
    ordinal: int | None = None,
    parser: str | None = None,
) -> IngestResult:
    """Archive one version from files; ``parser`` names the format when detection would pick
    another (a page that several parsers could read)."""
    check_slug(source.slug)  # before any file is read: the names must be reachable later
    check_label(label)
    chosen = parser_named(parser) if parser else None
    files = read_files(collect_files(paths), max_bytes)
    where = str(paths[0]) if len(paths) == 1 else f"{source.slug} {label}"
    if not files:
        raise NoDocumentsError(where)
    digest = content_hash(files)
    known = archive.existing(source.slug, label)
    if known is None or known.content_hash != digest:
        # the same bytes under another label (a crawl's date label) are the same version: an
        # import and a crawl of one text meet instead of archiving it twice
        known = archive.find_by_hash(source.slug, digest) or known
    if known is not None and known.content_hash == digest:
        return IngestResult(known, False)  # same bytes already archived: nothing to parse or store
    parsed = parse_files(files, where, max_bytes, chosen)
    version, created = archive_version(
        archive,
        source,
        label,
        files,
        parsed,
        status=status or guess_status(label),
        published=published,
        ordinal=ordinal,
        digest=digest,
    )
    return IngestResult(version, created)


@dataclass(frozen=True)
class CorpusEntry:
    source: Source
    label: str
    folder: Path
    published: date | None
    ordinal: int | None


def corpus_entries(root: Path) -> list[CorpusEntry]:
    """Version folders of a corpus laid out as ``<source>/<version>/<files>``.

    ``MANIFEST.json``, when present, supplies titles, release dates, licences and the
    publisher's version order; without it folders are taken in name order.
    """
    if not root.is_dir():
        raise TrackerError(
            f"{root}: not a folder", "point ingest-corpus at a folder of <source>/<version>/ folders"
        )
    manifest = _manifest(root)
    related = registry_companions()
    entries: list[CorpusEntry] = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        meta = manifest.get(source_dir.name, {})
        version_meta = {v.get("version"): v for v in meta.get("versions", [])}
        source = Source(
            slug=source_dir.name,
            title=str(meta.get("title", "")),
            publisher=str(meta.get("publisher", "")),
            licence=str(meta.get("licence", "")),
            companions=related.get(source_dir.name, ()),
        )
        folders = [p for p in source_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]

        def order(p: Path, vm: dict[Any, Any] = version_meta) -> tuple[int, str]:
            return (int(vm.get(p.name, {}).get("order", 10_000)), p.name)

        for folder in sorted(folders, key=order):
            vm = version_meta.get(folder.name, {})
            released = vm.get("release_date")
            entries.append(
                CorpusEntry(
                    source=source,
                    label=folder.name,
                    folder=folder,
                    published=_loose_date(released),
                    ordinal=int(vm["order"]) if "order" in vm else None,
                )
            )
    if not entries:
        raise NoDocumentsError(str(root))
    return entries


def registry_companions() -> dict[str, tuple[str, ...]]:
    """Companion slugs by source, both ways, as the source registry declares them (a corpus
    folder ``eu-ai-act`` learns that ``eu-ai-act-eurlex`` tracks the same Act). An unreadable
    registry gives none: importing a corpus does not depend on the crawl configuration."""
    from tracker.sources.registry import load

    try:
        specs = load().sources
    except TrackerError:
        return {}
    found: dict[str, list[str]] = {}
    for spec in specs:
        for other in spec.companions:
            found.setdefault(spec.slug, []).append(other)
            found.setdefault(other, []).append(spec.slug)
    return {slug: tuple(dict.fromkeys(others)) for slug, others in found.items()}


def _loose_date(value: object) -> date | None:
    """A release date as MANIFEST.json gives it: ``2024-04-30``, ``2024-04`` or ``2024-04 (approx.)``."""
    match = re.match(r"(\d{4})-(\d{2})(?:-(\d{2}))?", str(value or ""))
    if not match:
        return None
    year, month, day = match.groups()
    return date(int(year), int(month), int(day or 1))


def _manifest(root: Path) -> dict[str, dict[str, Any]]:
    path = root / "MANIFEST.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(str(path), f"not valid JSON ({exc})") from exc
    by_slug: dict[str, dict[str, Any]] = {}
    for source in data.get("sources", []):
        by_slug[source.get("source_slug", "")] = dict(source)
    for entry in data.get("files", []):
        slug = entry.get("source_slug", "")
        if slug in by_slug and entry.get("license") and "licence" not in by_slug[slug]:
            by_slug[slug]["licence"] = entry["license"]
    return by_slug


def ingest_corpus(
    archive: Archive,
    root: Path,
    *,
    max_bytes: int,
    on_progress: Callable[[CorpusEntry], None] | None = None,
) -> Iterator[IngestResult]:
    for entry in corpus_entries(root):
        result = ingest_files(
            archive,
            entry.source,
            entry.label,
            [entry.folder],
            max_bytes=max_bytes,
            published=entry.published,
            ordinal=entry.ordinal,
        )
        if on_progress is not None:
            on_progress(entry)
        yield result
