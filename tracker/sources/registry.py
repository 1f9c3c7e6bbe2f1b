"""The source registry: which documents we track, through which channel, how often.

``data/sources.toml`` (or ``TRACKER_REGISTRY``) holds one ``[[source]]`` table per tracked
document. Loading validates everything up front and names the entry and field at fault, so a
typo fails at start-up rather than at 03:00 in a scheduled crawl. Entries are frozen values;
the spiders read the channel fields, the scheduler the ``schedule``, the mirror builder the
repository paths.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.domain.model import Source
from tracker.settings import Settings

# The channels a source can be crawled through, with the fields each needs beyond the common
# ones. A channel's spider is listed under the same name in spiders/crawl.py (a test ties the two).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "govuk-content-api": ("url",),
    "etsi-deliver-folder": ("url",),
    "github-release-file": ("repo", "path"),
    "github-folder": ("repo", "path"),
    "nist-oscal": ("repo", "path"),
    "nist-pdf": ("url",),
    "eurlex": ("url",),
    "generic": ("url",),
}
KINDS = tuple(_REQUIRED)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,126}$")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_INTERVAL = re.compile(r"^every\s+(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Schedule:
    """A cron expression (five fields, UTC) or a fixed interval ("every 6h")."""

    cron: str = ""
    interval: timedelta | None = None

    @classmethod
    def parse(cls, text: str, where: str) -> Schedule:
        text = " ".join(text.split())
        match = _INTERVAL.match(text)
        if match:
            amount = int(match.group(1))
            if amount <= 0:
                raise InvalidInputError(f"{where}: interval must be positive", 'e.g. schedule = "every 6h"')
            return cls(interval=timedelta(**{_UNITS[match.group(2)]: amount}))
        if len(text.split(" ")) != 5:
            raise InvalidInputError(
                f"{where}: schedule {text!r} is neither a five-field cron expression nor 'every N[smhd]'",
                'e.g. schedule = "17 6 * * *" (daily 06:17 UTC) or schedule = "every 6h"',
            )
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(text, timezone="UTC")
        except ValueError as exc:
            raise InvalidInputError(
                f"{where}: bad cron expression {text!r}: {exc}", "check the cron fields"
            ) from exc
        return cls(cron=text)

    def __str__(self) -> str:
        if self.interval is not None:
            return f"every {int(self.interval.total_seconds())}s"
        return self.cron


@dataclass(frozen=True)
class SourceSpec:
    """One tracked document and how to fetch it."""

    slug: str
    title: str
    publisher: str
    homepage: str
    kind: str
    format: str
    schedule: Schedule
    licence: str = ""
    url: str = ""
    repo: str = ""
    path: str = ""
    ref: str = "main"
    glob: str = "*.md"
    select: str = ""  # generic: CSS selector whose matches are kept
    json_path: str = ""  # generic: JMESPath expression whose result is kept
    backfill: int = 1  # github-release-file: how many newest tags a first crawl archives
    misfire_grace: int = 3600  # seconds a late scheduled run may still start
    enabled: bool = True
    # slugs of sources tracking the same publication in another packaging, or documents
    # published with it; shown on each other's pages, never diffed against each other
    companions: tuple[str, ...] = ()
    # slugs of the documents this one was written from, provision by provision (the ETSI TS
    # from the UK Code, the EN from the TS): a change in one is looked for in the others
    derived_from: tuple[str, ...] = ()

    def to_source(self) -> Source:
        return Source(
            slug=self.slug,
            title=self.title,
            publisher=self.publisher,
            homepage=self.homepage,
            kind=self.kind,
            licence=self.licence,
            companions=self.companions,
        )

    @property
    def entry_url(self) -> str:
        """The first URL a crawl of this source fetches (before mirror rewriting)."""
        if self.kind == "govuk-content-api":
            return govuk_api_url(self.url)
        if self.kind == "github-release-file":
            return f"https://api.github.com/repos/{self.repo}/tags?per_page=100"
        if self.kind == "github-folder":
            return (
                f"https://api.github.com/repos/{self.repo}/commits?path={quote(self.path)}"
                f"&sha={quote(self.ref)}&per_page=1"
            )
        if self.kind == "nist-oscal":
            return raw_url(self.repo, self.ref, self.path)
        return self.url


def govuk_api_url(page_url: str) -> str:
    """``https://www.gov.uk/a/b`` -> ``https://www.gov.uk/api/content/a/b`` (the Content API)."""
    parts = urlsplit(page_url)
    return f"{parts.scheme}://{parts.netloc}/api/content{parts.path}"


def raw_url(repo: str, ref: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{quote(ref)}/{quote(path)}"


@dataclass(frozen=True)
class Registry:
    path: Path
    sources: tuple[SourceSpec, ...]

    def get(self, slug: str) -> SourceSpec:
        for spec in self.sources:
            if spec.slug == slug:
                return spec
        known = ", ".join(s.slug for s in self.sources)
        raise NotFoundError(f"no source {slug!r} in {self.path}", f"registered sources: {known}")

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(s.slug for s in self.sources)

    def family(self, slug: str) -> tuple[SourceSpec, ...]:
        """``slug`` and every source linked to it by ``derived_from``, either way, transitively;
        ancestors before the documents written from them (registry order among equals)."""
        self.get(slug)
        linked: dict[str, set[str]] = {s.slug: set() for s in self.sources}
        for spec in self.sources:
            for parent in spec.derived_from:
                linked[spec.slug].add(parent)
                linked[parent].add(spec.slug)
        members, todo = {slug}, [slug]
        while todo:
            for other in linked[todo.pop()] - members:
                members.add(other)
                todo.append(other)
        depth: dict[str, int] = {}

        def generation(name: str) -> int:
            if name not in depth:
                depth[name] = 0  # the registry refuses cycles; this only guards the recursion
                parents = self.get(name).derived_from
                depth[name] = 1 + max(map(generation, parents)) if parents else 0
            return depth[name]

        ordered = sorted((s for s in self.sources if s.slug in members), key=lambda s: generation(s.slug))
        return tuple(ordered)


def default_path(settings: Settings | None = None) -> Path:
    """The configured registry (``TRACKER_REGISTRY``), else ``data/sources.toml`` of the checkout."""
    configured = (settings or Settings.from_env()).registry
    if configured:
        return configured
    return Path(__file__).resolve().parents[2] / "data" / "sources.toml"


def load(path: Path | None = None, settings: Settings | None = None) -> Registry:
    path = path or default_path(settings)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInputError(
            f"{path}: registry not found", "set TRACKER_REGISTRY to a sources.toml"
        ) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: not valid TOML: {exc}", "fix the syntax of the registry") from exc
    return parse(raw, str(path), path)


def parse(raw: dict[str, Any], where: str, path: Path | None = None) -> Registry:
    defaults = raw.get("defaults", {})
    entries = raw.get("source", [])
    if not isinstance(defaults, dict) or not isinstance(entries, list) or not entries:
        raise InvalidInputError(
            f"{where}: no [[source]] entries", "add one [[source]] table per tracked document"
        )
    unknown_top = set(raw) - {"defaults", "source"}
    if unknown_top:
        raise InvalidInputError(
            f"{where}: unknown top-level key(s) {sorted(unknown_top)}", "use [defaults] and [[source]]"
        )
    specs: list[SourceSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise InvalidInputError(f"{where}: source #{index} is not a table", "write [[source]] entries")
        spec = _spec({**defaults, **entry}, f"{where}: source #{index} ({entry.get('slug', 'no slug')})")
        if spec.slug in seen:
            raise InvalidInputError(
                f"{where}: slug {spec.slug!r} appears twice", "each source needs its own slug"
            )
        seen.add(spec.slug)
        specs.append(spec)
    _check_derivations(specs, where)
    return Registry(path=path or Path(where), sources=tuple(specs))


def _check_derivations(specs: list[SourceSpec], where: str) -> None:
    """Every ``derived_from`` names another registered source, and no document descends from itself."""
    parents = {s.slug: s.derived_from for s in specs}
    for spec in specs:
        for parent in spec.derived_from:
            if parent not in parents or parent == spec.slug:
                raise InvalidInputError(
                    f"{where}: {spec.slug}: derived_from names {parent!r}, not another registered source",
                    f"registered sources: {', '.join(parents)}",
                )
    for spec in specs:
        seen, todo = set(), list(spec.derived_from)
        while todo:
            name = todo.pop()
            if name == spec.slug:
                raise InvalidInputError(
                    f"{where}: {spec.slug} is derived from itself through derived_from",
                    "derived_from points from a document to the ones it was written from",
                )
            if name not in seen:
                seen.add(name)
                todo.extend(parents[name])


_FIELDS = {f.name for f in fields(SourceSpec)}


def _spec(entry: dict[str, Any], where: str) -> SourceSpec:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown field(s) {sorted(unknown)}", f"known fields: {sorted(_FIELDS)}"
        )
    for name in ("slug", "title", "publisher", "homepage", "kind", "format", "schedule"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise InvalidInputError(f"{where}: missing or empty {name!r}", f"every source needs a {name}")
    slug, kind = entry["slug"], entry["kind"]
    if not _SLUG.match(slug):
        raise InvalidInputError(
            f"{where}: bad slug {slug!r}", "lower-case letters, digits and '-', 2-127 characters"
        )
    if kind not in KINDS:
        raise InvalidInputError(f"{where}: unknown kind {kind!r}", f"kinds: {', '.join(KINDS)}")
    for name in _REQUIRED[kind]:
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise InvalidInputError(f"{where}: kind {kind!r} needs {name!r}", _hint(kind))
    for name in ("url", "homepage"):
        if name in entry:
            _check_url(entry[name], f"{where}: {name}")
    if "repo" in entry and not _REPO.match(entry["repo"]):
        raise InvalidInputError(f"{where}: repo {entry['repo']!r} is not 'owner/name'", _hint(kind))
    if kind == "generic" and bool(entry.get("select")) == bool(entry.get("json_path")):
        raise InvalidInputError(
            f"{where}: a generic source needs exactly one of 'select' (CSS) or 'json_path' (JMESPath)",
            'e.g. select = "main article" or json_path = "data.items"',
        )
    if kind == "etsi-deliver-folder" and not entry["url"].endswith("/"):
        raise InvalidInputError(f"{where}: an ETSI deliver folder URL ends with '/'", _hint(kind))
    for name, typ in (("backfill", int), ("misfire_grace", int), ("enabled", bool)):
        if name in entry and (not isinstance(entry[name], typ) or (typ is int and entry[name] < 1)):
            raise InvalidInputError(
                f"{where}: {name} must be a positive {typ.__name__}", "see data/sources.toml"
            )
    companions = entry.get("companions", [])
    if not isinstance(companions, list) or not all(isinstance(c, str) and _SLUG.match(c) for c in companions):
        raise InvalidInputError(
            f"{where}: companions must be a list of source slugs", 'e.g. companions = ["eu-ai-act"]'
        )
    if slug in companions:
        raise InvalidInputError(
            f"{where}: a source is not its own companion", "remove its slug from companions"
        )
    derived = entry.get("derived_from", [])
    if not isinstance(derived, list) or not all(isinstance(d, str) and d.strip() for d in derived):
        raise InvalidInputError(
            f"{where}: derived_from must be a list of source slugs", 'e.g. derived_from = ["etsi-ts-104-223"]'
        )
    values = {k: v for k, v in entry.items() if k not in ("schedule", "companions", "derived_from")}
    values["companions"] = tuple(companions)
    values["derived_from"] = tuple(derived)
    return SourceSpec(**values, schedule=Schedule.parse(entry["schedule"], f"{where}: schedule"))


def _check_url(url: Any, where: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"{where}: {url!r} is not an http(s) URL", "write the publisher's full URL")


def _hint(kind: str) -> str:
    return {
        "govuk-content-api": 'url = "https://www.gov.uk/government/publications/..." (the page)',
        "etsi-deliver-folder": 'url = "https://www.etsi.org/deliver/etsi_ts/104200_104299/104223/"',
        "github-release-file": 'repo = "mitre-atlas/atlas-data", path = "dist/ATLAS.yaml"',
        "github-folder": 'repo = "OWNER/NAME", path = "folder/in/repo", ref = "main", glob = "*.md"',
        "nist-oscal": 'repo = "usnistgov/oscal-content", ref = "main", path = "nist.gov/.../catalog.json"',
        "nist-pdf": 'url = "https://nvlpubs.nist.gov/nistpubs/ai/NIST.AI.600-1.pdf"',
        "eurlex": 'url = "https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=CELEX:32024R1689"',
        "generic": 'url = "https://...", select = "main" or json_path = "...", format = "auto"',
    }[kind]
