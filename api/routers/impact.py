"""Impact worklists: what changed for an organisation's controls since a date."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic_core import to_json

from api.deps import EngineDep, ReadTenant
from api.pagination import Page, PageParams, next_link, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import ImpactLineOut, ImpactOut
from api.stores import ChangeCache, PageCache, impact_lines
from api.timeutil import as_utc
from tracker.impact.oscal_poam import write_poam
from tracker.mapping.crosswalks.oscal_ids import OSCAL_VERSION
from tracker.storage.impacts import ImpactStore
from tracker.storage.worklist import WorklistFilter, impact_generation

router = APIRouter(prefix="/v1/orgs/{org}", tags=["impact"], responses=responses(401, 403, 404, 422))
Paging = Annotated[PageParams, Depends(page_params)]
ACTIONS = r"^(reassess|gap|retire|none)$"


def _cache(request: Request) -> ChangeCache:
    cache: ChangeCache = request.app.state.change_cache
    return cache


@router.get(
    "/impact",
    operation_id="getImpact",
    response_model=Page[ImpactLineOut],
    responses={304: {"description": "Not Modified: the worklist is unchanged since the ETag sent"}},
    summary="What changed for my controls since a date",
    description=(
        "The organisation's stored impact worklist, one line per (changed requirement, affected "
        "control), in id order: the action (`reassess`, `gap`, `retire`, `none`), a score and the "
        "reason. `since`/`until` bound when the impact was stored (ISO 8601; naive means UTC)."
    ),
)
async def get_impact(
    request: Request,
    tenant: ReadTenant,
    engine: EngineDep,
    paging: Paging,
    since: Annotated[datetime | None, Query(examples=["2025-01-01"])] = None,
    until: Annotated[datetime | None, Query()] = None,
    action: Annotated[str | None, Query(pattern=ACTIONS, description="only this action")] = None,
    control: Annotated[str | None, Query(max_length=256, description="only lines for this control")] = None,
    source: Annotated[str | None, Query(max_length=128, description="only changes of this source")] = None,
    diff_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    # The hot path of the API. It runs on the event loop (no thread hop: the queries are
    # single indexed lookups) and answers from a cache of rendered pages keyed by the
    # organisation's impact generation, which changes whenever a stored impact does; the
    # same key is the ETag, so pollers get 304 until something changed.
    generation = impact_generation(engine, tenant.org_id)
    query = tuple(sorted(request.query_params.multi_items()))
    key = (tenant.org_id, generation, query)
    etag = '"' + hashlib.sha256(repr(key).encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    pages: PageCache = request.app.state.page_cache
    cached = pages.get(key)
    if cached is not None:
        body, link = cached
    else:
        flt = WorklistFilter(as_utc(since, "since"), as_utc(until, "until"), action, control, source, diff_id)
        lines = impact_lines(engine, _cache(request), tenant.org_id, flt, paging.after, paging.limit + 1)
        page = paging.page(lines, [line["id"] for line in lines])
        # rows already have the documented types: written straight to JSON, not re-validated
        body = to_json({"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit})
        link = next_link(request, page.next_cursor) if page.next_cursor else ""
        pages.put(key, body, link)
    if link:
        headers["Link"] = link
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/impacts/{diff_id}",
    operation_id="getStoredImpact",
    summary="The stored impact worklist of one diff, as the impact engine wrote it",
)
def get_stored_impact(
    diff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], tenant: ReadTenant, engine: EngineDep
) -> ImpactOut:
    stored = ImpactStore(engine).impact(tenant.org, diff_id)
    if stored is None:
        raise ApiProblem(404, f"no stored impact of diff {diff_id} for {tenant.org}", slug="not-found")
    return ImpactOut(diff_id=diff_id, result=stored.to_json())


@router.get(
    "/impacts/{diff_id}/poam",
    operation_id="getImpactPoam",
    summary="The stored impact of one diff as an OSCAL plan of action and milestones",
    description=(
        "One POA&M item per control the change asks an action of (reassess, close a gap, "
        "retire), each pointing at an observation of the change; validated against OSCAL "
        f"{OSCAL_VERSION}. 404 when there is no stored impact, or when it asks for no action "
        "(OSCAL requires at least one POA&M item)."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "OSCAL plan-of-action-and-milestones (JSON)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def get_impact_poam(
    diff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], tenant: ReadTenant, engine: EngineDep
) -> Response:
    stored = ImpactStore(engine).impact(tenant.org, diff_id)
    if stored is None:
        raise ApiProblem(404, f"no stored impact of diff {diff_id} for {tenant.org}", slug="not-found")
    return Response(write_poam(stored), media_type="application/json")
