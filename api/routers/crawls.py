"""Crawl runs of the spiders, read-only, for the operator key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import EngineDep, OperatorDep
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import CrawlRunOut
from tracker.storage.crawls import CrawlRun, RunStore

router = APIRouter(prefix="/v1/crawls", tags=["crawls"], responses=responses(401, 403, 422))
Paging = Annotated[PageParams, Depends(page_params)]


def _out(row: CrawlRun) -> CrawlRunOut:
    return CrawlRunOut(
        id=row.id,
        source=row.source,
        started_at=row.started_at,
        ended_at=row.ended_at,
        outcome=row.outcome,
        message=row.message,
        bytes_fetched=row.bytes_fetched,
        requests=row.requests,
        new_version=row.new_version,
        trigger=row.trigger,
    )


@router.get("", operation_id="listCrawlRuns", summary="Crawl runs, oldest first")
def list_runs(
    engine: EngineDep,
    _key: OperatorDep,
    paging: Paging,
    source: Annotated[str | None, Query(max_length=128)] = None,
    outcome: Annotated[str | None, Query(pattern=r"^(running|ok|unchanged|failed)$")] = None,
) -> Page[CrawlRunOut]:
    found = RunStore(engine).page(
        after_id=paging.after, limit=paging.limit + 1, source=source, outcome=outcome
    )
    return paging.page([_out(r) for r in found], [r.id for r in found])


@router.get("/{run_id}", operation_id="getCrawlRun", summary="One crawl run", responses=responses(404))
def get_run(
    run_id: Annotated[int, Path(ge=1, le=2**31 - 1)], engine: EngineDep, _key: OperatorDep
) -> CrawlRunOut:
    run = RunStore(engine).get(run_id)
    if run is None:
        raise ApiProblem(404, f"no crawl run {run_id}", slug="not-found")
    return _out(run)
