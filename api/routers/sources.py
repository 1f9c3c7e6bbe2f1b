"""Sources, versions with lifecycle status, requirements, and requirement time travel."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.caching import immutable
from api.deps import EngineDep, OperatorDep, Reader
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.archive import (
    RequirementAt,
    RequirementOut,
    RequirementSummary,
    SourceIn,
    SourceOut,
    VersionOut,
    VersionRef,
)
from tracker.domain.errors import NotFoundError
from tracker.domain.inputs import SLUG_PATTERN
from tracker.domain.keys import normalise_key
from tracker.domain.model import Lifecycle, Requirement, Source, Version, VersionRole
from tracker.storage.archive import Archive
from tracker.storage.catalog import Catalog, SourceEntry

router = APIRouter(prefix="/v1/sources", tags=["sources"], responses=responses(401, 403, 404, 422))

Slug = Annotated[str, Path(min_length=1, max_length=128, examples=["nist-sp-800-53"])]
NewSlug = Annotated[str, Path(pattern=SLUG_PATTERN, examples=["nist-sp-800-53"])]
Label = Annotated[str, Path(min_length=1, max_length=128, examples=["rev5"])]
Ident = Annotated[str, Path(min_length=1, max_length=256, examples=["AC-2(1)"])]
Paging = Annotated[PageParams, Depends(page_params)]
IN_FORCE = (Lifecycle.FINAL, Lifecycle.SUPERSEDED)


def _unknown(slug: str) -> ApiProblem:
    return ApiProblem(404, f"unknown source {slug!r}; list sources with GET /v1/sources", slug="not-found")


def _out(entry: SourceEntry) -> SourceOut:
    return SourceOut.of(entry.id, entry.source, entry.versions)


@router.get("", operation_id="listSources", summary="List sources")
def list_sources(engine: EngineDep, _key: Reader, paging: Paging) -> Page[SourceOut]:
    found = Catalog(engine).source_page(after_id=paging.after, limit=paging.limit + 1)
    return paging.page([_out(e) for e in found], [e.id for e in found])


@router.put(
    "/{slug}",
    operation_id="putSource",
    summary="Create or update a source (operator key)",
    responses=responses(409),
)
def put_source(slug: NewSlug, body: SourceIn, engine: EngineDep, _key: OperatorDep) -> SourceOut:
    if body.slug != slug:
        raise ApiProblem(
            422, f"the body names source {body.slug!r} but the path {slug!r}", slug="invalid-input"
        )
    archive = Archive(engine)
    archive.ensure_source(Source(**body.model_dump()))
    return get_source(slug, engine, _key)


@router.get("/{slug}", operation_id="getSource", summary="One source")
def get_source(slug: Slug, engine: EngineDep, _key: Reader) -> SourceOut:
    entry = Catalog(engine).source_entry(slug)
    if entry is None:
        raise _unknown(slug)
    return _out(entry)


@router.get(
    "/{slug}/versions", operation_id="listVersions", summary="A source's versions with lifecycle status"
)
def list_versions(
    slug: Slug,
    engine: EngineDep,
    _key: Reader,
    paging: Paging,
    status: Annotated[Lifecycle | None, Query(description="only versions with this status")] = None,
) -> Page[VersionOut]:
    catalog = Catalog(engine)
    if catalog.source_id(slug) is None:
        raise _unknown(slug)
    found = catalog.version_page(slug, after_id=paging.after, limit=paging.limit + 1, status=status)
    return paging.page([VersionOut.of(v.id, v.version) for v in found], [v.id for v in found])


@router.get("/{slug}/versions/{label}", operation_id="getVersion", summary="One version")
def get_version(slug: Slug, label: Label, engine: EngineDep, _key: Reader) -> VersionOut:
    archive = Archive(engine)
    return VersionOut.of(archive.version_id(slug, label), archive.version(slug, label))


@router.get(
    "/{slug}/versions/{label}/requirements",
    operation_id="listRequirements",
    summary="A version's requirements in document order",
)
def list_requirements(
    slug: Slug, label: Label, engine: EngineDep, _key: Reader, paging: Paging
) -> Page[RequirementSummary]:
    vid = Archive(engine).version_id(slug, label)
    found = Catalog(engine).requirement_page(vid, after_id=paging.after, limit=paging.limit + 1)
    items = [
        RequirementSummary(
            id=r.ident, key=r.key, kind=r.kind, title=r.title, parent=r.parent, withdrawn=r.withdrawn
        )
        for r in found
    ]
    return paging.page(items, [r.id for r in found])


@router.get(
    "/{slug}/versions/{label}/requirements/{ident}",
    operation_id="getRequirement",
    summary="One requirement of a version",
)
def get_requirement(
    slug: Slug, label: Label, ident: Ident, engine: EngineDep, _key: Reader, response: Response
) -> RequirementOut:
    archive = Archive(engine)
    found = RequirementOut.of(archive.requirement(slug, label, ident))
    # an archived version's text never changes: it was last modified when it was archived
    immutable(response, archive.version(slug, label).observed_at)
    return found


@router.get(
    "/{slug}/requirements/{ident}",
    operation_id="getRequirementAt",
    summary="What a requirement said on a date (time travel)",
    description=(
        "The requirement as written in the newest version of the source whose effective date "
        "(published, else first observed) is on or before `at` (default: today). Only versions in "
        "force (final or superseded) count unless `drafts=true`. The answer names the version. "
        "A version that holds only part of the publication (800-53 release 5.1.1: the baselines) "
        "answers for what it holds; for anything else the answer falls back to the newest earlier "
        "version that holds the requirement, and `fallback` says so."
    ),
)
def requirement_at(
    slug: Slug,
    ident: Ident,
    engine: EngineDep,
    _key: Reader,
    at: Annotated[date | None, Query(description="YYYY-MM-DD", examples=["2021-01-01"])] = None,
    drafts: Annotated[bool, Query(description="also consider draft and consultation versions")] = False,
) -> RequirementAt:
    archive = Archive(engine)
    day = at or date.today()
    candidates = [
        v
        for v in archive.versions(slug)
        if v.role is VersionRole.EDITION
        and (drafts or v.status in IN_FORCE)
        and _effective(v.published, v.observed_at) <= day
    ]
    if not candidates:
        raise ApiProblem(
            404,
            f"{slug} had no version {'in force ' if not drafts else ''}on {day.isoformat()}",
            slug="not-found",
        )
    candidates.sort(key=lambda v: (_effective(v.published, v.observed_at), v.ordinal), reverse=True)
    newest = version = candidates[0]
    key = normalise_key(ident)
    fallback = ""
    try:
        req = archive.requirement(slug, version.label, key)
    except NotFoundError:
        if not newest.partial:
            raise
        held = _last_holding(archive, slug, key, candidates[1:])
        if held is None:
            raise
        version, req = held
        fallback = (
            f"{newest.label}, the newest version on {day.isoformat()}, holds only part of the "
            f"publication ({newest.partial}) and not {ident}; read from {version.label}, the last "
            "version that holds it"
        )
    return RequirementAt(
        source=slug,
        at=at,
        version=VersionRef(
            label=version.label,
            status=version.status,
            published=version.published,
            observed_at=version.observed_at,
            effective=_effective(version.published, version.observed_at),
        ),
        requirement=RequirementOut.of(req),
        fallback=fallback,
    )


def _last_holding(
    archive: Archive, slug: str, key: str, older: list[Version]
) -> tuple[Version, Requirement] | None:
    """The newest of ``older`` holding ``key``, with the requirement as it reads there."""
    for version in older:
        try:
            return version, archive.requirement(slug, version.label, key)
        except NotFoundError:
            continue
    return None


def _effective(published: date | None, observed: object) -> date:
    if published is not None:
        return published
    from datetime import datetime

    assert isinstance(observed, datetime)
    return observed.date()
