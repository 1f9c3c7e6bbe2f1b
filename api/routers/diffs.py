"""Stored diffs and their typed changes, filtered by source, kind, substantive, tag and date."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import EngineDep, Reader
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.archive import ChangeOut, DiffOut, ReviewOut
from api.timeutil import as_utc
from tracker.diff.types import Kind, Tag
from tracker.storage.changes import ChangeStore
from tracker.storage.diffs import DiffHeader, DiffStore

router = APIRouter(prefix="/v1", tags=["diffs"], responses=responses(401, 403, 422))
Paging = Annotated[PageParams, Depends(page_params)]
SourceQ = Annotated[str | None, Query(max_length=128, description="source slug", examples=["nist-csf"])]


def _out(d: DiffHeader) -> DiffOut:
    return DiffOut(
        id=d.id,
        source=d.source,
        old_version=d.old_version,
        new_version=d.new_version,
        engine=d.engine,
        model_id=d.model_id,
        created_at=d.created_at,
        summary=d.summary,
    )


@router.get("/diffs", operation_id="listDiffs", summary="List stored diffs")
def list_diffs(engine: EngineDep, _key: Reader, paging: Paging, source: SourceQ = None) -> Page[DiffOut]:
    found = DiffStore(engine).page(after_id=paging.after, limit=paging.limit + 1, source=source)
    return paging.page([_out(d) for d in found], [d.id for d in found])


@router.get("/diffs/{diff_id}", operation_id="getDiff", summary="One stored diff", responses=responses(404))
def get_diff(diff_id: Annotated[int, Path(ge=1, le=2**31 - 1)], engine: EngineDep, _key: Reader) -> DiffOut:
    # not immutable: the operator's shared verdicts rewrite the stored diff's summary, so a
    # client revalidates (the caching layer's ETag makes that a 304 while nothing changed)
    found = DiffStore(engine).header(diff_id)
    if found is None:
        raise ApiProblem(404, f"no diff {diff_id}; list diffs with GET /v1/diffs", slug="not-found")
    return _out(found)


@router.get(
    "/changes",
    operation_id="listChanges",
    summary="Typed changes across stored diffs",
    description="Filters combine with AND. `since`/`until` bound the time the diff was stored (UTC).",
)
def list_changes(
    engine: EngineDep,
    _key: Reader,
    paging: Paging,
    source: SourceQ = None,
    kind: Annotated[Kind | None, Query(description="change kind")] = None,
    substantive: Annotated[bool | None, Query(description="true: substantive only; false: editorial")] = None,
    tag: Annotated[Tag | None, Query(description="changes carrying this tag")] = None,
    since: Annotated[datetime | None, Query(description="stored at or after (ISO 8601 date or time)")] = None,
    until: Annotated[datetime | None, Query(description="stored before")] = None,
    diff_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[ChangeOut]:
    found = ChangeStore(engine).changes(
        source=source,
        kind=kind.value if kind else None,
        substantive=substantive,
        tag=tag.value if tag else None,
        since=as_utc(since, "since"),
        until=as_utc(until, "until"),
        diff_id=diff_id,
        after_id=paging.after,
        limit=paging.limit + 1,
    )
    items = [
        ChangeOut(
            id=c.id,
            diff_id=c.diff_id,
            source=c.source,
            old_version=c.old_version,
            new_version=c.new_version,
            created_at=c.created_at,
            seq=c.seq,
            review=ReviewOut.of(c.review),
            engine=c.engine_version,
            older_engine=c.older_engine,
            **c.change.to_json_dict(),
        )
        for c in found
    ]
    return paging.page(items, [c.id for c in found])
