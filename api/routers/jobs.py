"""The durable jobs after archiving, for the operator key: list them, see dead ones, replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import EngineDep, OperatorDep, SettingsDep
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.jobs import JobOut
from tracker.domain.errors import InvalidInputError
from tracker.storage.jobs import JobStore

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=responses(401, 403, 422))
Paging = Annotated[PageParams, Depends(page_params)]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", operation_id="listJobs", summary="Jobs after archiving, oldest first")
def list_jobs(
    engine: EngineDep,
    _key: OperatorDep,
    paging: Paging,
    status: Annotated[str | None, Query(pattern=r"^(queued|running|done|dead)$")] = None,
    kind: Annotated[str | None, Query(pattern=r"^(diff|impact|digest|deliver)$")] = None,
) -> Page[JobOut]:
    jobs = JobStore(engine).page(after_id=paging.after, limit=paging.limit + 1, status=status, kind=kind)
    return paging.page([JobOut.of(j) for j in jobs], [j.id for j in jobs])


@router.get("/{job_id}", operation_id="getJob", summary="One job", responses=responses(404))
def get_job(job_id: JobId, engine: EngineDep, _key: OperatorDep) -> JobOut:
    return JobOut.of(JobStore(engine).get(job_id))


@router.post(
    "/{job_id}/replay",
    operation_id="replayJob",
    summary="Queue a dead (or done) job again, with a fresh count of attempts",
    responses=responses(404, 409),
)
def replay_job(job_id: JobId, engine: EngineDep, settings: SettingsDep, _key: OperatorDep) -> JobOut:
    from tracker.jobs.queue import wake

    try:
        job = JobStore(engine).replay(job_id)
    except InvalidInputError as err:
        raise ApiProblem(409, err.problem, slug="conflict") from err
    wake(engine, settings, job.key)
    return JobOut.of(job)
