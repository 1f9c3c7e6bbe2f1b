"""Format detection and assembly of a version's documents into one requirement tree.

Each format lives in its own module exposing ``PARSER``; add a format by writing the module
and listing it in ``_MODULES``. Detection asks every parser to ``sniff`` and takes the most
confident; ties are broken by the order below.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from functools import cache

from tracker.domain import modality
from tracker.domain.errors import (
    DocumentTooLargeError,
    InvalidInputError,
    NoDocumentsError,
    ParseError,
    UnknownFormatError,
)
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, ParsedVersion, Profile, Requirement
from tracker.sources.parsing.base import Parser

_MODULES: tuple[str, ...] = (
    "oscal",
    "atlas",
    "framework_yaml",
    "playbook",
    "latex_checklist",
    "owasp_top10",
    "ai_exchange",
    "eurlex",
    "govuk_html",
    "govuk_content_api",
    "nist_ai_pdf",  # before etsi_pdf, which reads any PDF of numbered clauses
    "etsi_pdf",
    "html_outline",  # last: the fallback for any HTML page with headings
)


@cache
def parsers() -> tuple[Parser, ...]:
    found: list[Parser] = []
    for name in _MODULES:
        module = importlib.import_module(f"tracker.sources.parsers.{name}")
        found.append(module.PARSER)
    return tuple(found)


@cache
def companion_formats() -> frozenset[str]:
    """Formats of documents that accompany a publication (a playbook) rather than edit it: the
    parser modules that say ``COMPANION = True``."""
    found = set()
    for name in _MODULES:
        module = importlib.import_module(f"tracker.sources.parsers.{name}")
        if getattr(module, "COMPANION", False):
            found.add(module.PARSER.name)
    return frozenset(found)


def detect(filename: str, data: bytes) -> Parser:
    """The parser most confident it can read this file."""
    best: Parser | None = None
    best_score = 0
    for parser in parsers():
        score = parser.sniff(filename, data)
        if score > best_score:
            best, best_score = parser, score
    if best is None:
        raise UnknownFormatError(filename)
    return best


def parse_document(
    filename: str, data: bytes, max_bytes: int | None = None, parser: Parser | None = None
) -> ParsedDocument:
    """Parse one file with ``parser``, or with the parser most confident it can read it."""
    if max_bytes is not None and len(data) > max_bytes:
        raise DocumentTooLargeError(filename, len(data), max_bytes)
    if not data.strip():
        raise ParseError(filename, "the file is empty")
    return _finish((parser or detect(filename, data)).parse(filename, data))


def parser_named(name: str) -> Parser:
    """The parser called ``name`` (as the registry and ``tracker ingest --parser`` spell it)."""
    for parser in parsers():
        if parser.name == name:
            return parser
    raise InvalidInputError(
        f"no parser named {name!r}", "parsers: " + ", ".join(sorted(p.name for p in parsers()))
    )


def _finish(doc: ParsedDocument) -> ParsedDocument:
    """Fill in what every parser would otherwise repeat: keys and obligations."""
    reqs = []
    for req in doc.requirements:
        key = req.key or normalise_key(req.ident)
        obligations = req.obligations or modality.obligations(req.statement)
        reqs.append(dataclasses.replace(req, key=key, obligations=obligations))
    return dataclasses.replace(doc, requirements=tuple(reqs))


def assemble(named: Sequence[tuple[str, ParsedDocument]], where: str = "version") -> ParsedVersion:
    """Combine the documents of one version.

    A catalog plus profiles is one version whose requirements are the catalog's and whose
    profiles are the selections. Where only resolved baselines exist (800-53 5.1.1, 5.2.0)
    the requirements are their union, in the order of the largest, and each is a profile;
    such a version is *partial* (``ParsedVersion.partial`` says why).
    Parts (one file per Top 10 entry, one chapter per file) are concatenated in file order.
    """
    if not named:
        raise NoDocumentsError(where)
    catalogs = [(n, d) for n, d in named if d.role is DocumentRole.CATALOG]
    resolved = [(n, d) for n, d in named if d.role is DocumentRole.RESOLVED]
    parts = [(n, d) for n, d in named if d.role is DocumentRole.PART]
    profile_docs = [(n, d) for n, d in named if d.role is DocumentRole.PROFILE]

    requirements: list[Requirement] = []
    profiles: list[Profile] = []
    if catalogs:
        for _, doc in catalogs:
            requirements.extend(doc.requirements)
        base = catalogs
    elif resolved:
        ordered = sorted(resolved, key=lambda nd: len(nd[1].requirements), reverse=True)
        requirements = _union([doc.requirements for _, doc in ordered])
        base = resolved
    elif parts:
        base = parts
    else:
        names = ", ".join(n for n, _ in profile_docs)
        raise ParseError(
            where,
            f"only profiles ({names}) and no catalog",
            "ingest the profiles together with their catalog",
        )
    for _, doc in parts:
        requirements.extend(doc.requirements)
    for name, doc in profile_docs:
        profiles.extend(doc.profiles or (Profile(name=name, title=doc.title, keys=()),))
    # A profile document states the selection; its resolved rendering only fills a gap.
    named_already = {p.name for p in profiles}
    for _, doc in resolved:
        profiles.extend(p for p in _as_profile(doc) if p.name not in named_already)

    _check_unique(requirements, where)
    known = {r.key for r in requirements}
    for profile in profiles:
        missing = [k for k in profile.keys if k not in known]
        if missing:
            raise ParseError(
                where,
                f"profile {profile.name!r} selects {len(missing)} requirement(s) not in the catalog, "
                f"e.g. {missing[0]}",
                "ingest the profile with the catalog it was written for",
            )
    first = base[0][1]
    formats = tuple(dict.fromkeys(doc.format for _, doc in named))
    partial = ""
    if resolved and not catalogs:
        # Resolved baselines are selections of a catalog that is not among the files: the
        # version holds the selected requirements only, and must be diffed as such.
        names = ", ".join(sorted({p.name for p in profiles}))
        partial = (
            f"holds only {len(resolved)} resolved profile(s) ({names}), not the full catalog: "
            f"{len(requirements)} requirement(s) the profiles select"
        )
    return ParsedVersion(
        parser="+".join(formats),
        parser_version=";".join(dict.fromkeys(f"{d.format}={d.parser_version}" for _, d in named)),
        title=first.title,
        requirements=tuple(dataclasses.replace(r, order=i) for i, r in enumerate(requirements)),
        profiles=tuple(profiles),
        published=next((d.published for _, d in named if d.published), None),
        version_hint=next((d.version_hint for _, d in named if d.version_hint), ""),
        formats=formats,
        partial=partial,
        companion=all(f in companion_formats() for f in formats),
    )


def _as_profile(doc: ParsedDocument) -> tuple[Profile, ...]:
    if doc.profiles:
        return doc.profiles
    return (Profile(name=doc.title, title=doc.title, keys=tuple(r.key for r in doc.requirements)),)


def _union(groups: list[tuple[Requirement, ...]]) -> list[Requirement]:
    seen: dict[str, Requirement] = {}
    for group in groups:
        for req in group:
            seen.setdefault(req.key, req)
    return list(seen.values())


def _check_unique(requirements: list[Requirement], where: str) -> None:
    seen: dict[str, str] = {}
    for req in requirements:
        if req.key in seen:
            raise ParseError(
                where,
                f"two requirements share the key {req.key!r} ({seen[req.key]!r} and {req.ident!r})",
                "a version must not hold the same requirement twice; check for duplicate files",
            )
        seen[req.key] = req.ident
