"""JSON API of bulk review: decide every change of a diff that a filter selects in one action,
preview it first, and undo it in one step (see :mod:`tracker.review.bulk` for what a batch is,
why changes decided since the preview are skipped, and what an undo keeps)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import EngineDep, ReadTenant, WriteTenant
from api.headers import created_responses, set_location
from api.problems import ApiProblem, responses
from api.timeutil import Utc
from tracker.diff.types import Kind, Tag
from tracker.review.bulk import BulkVerdict, apply_bulk, preview, undo_bulk
from tracker.review.selection import RULE_NAMES, ChangeFilter
from tracker.storage.batches import Batch, BatchStore

router = APIRouter(prefix="/v1/orgs/{org}/review", tags=["review"], responses=responses(401, 403, 404, 422))
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class FilterIn(BaseModel):
    """Which changes of the diff: every criterion narrows; an empty filter is every changed
    requirement (unchanged ones only when `kinds` lists `unchanged`)."""

    model_config = ConfigDict(extra="forbid")
    kinds: list[Kind] = Field(default=[], max_length=len(Kind), description="any of these kinds")
    substantive: Literal["", "yes", "no", "na"] = Field(
        default="", description="na: the question does not apply"
    )
    tags: list[Tag] = Field(default=[], max_length=len(Tag), description="all of these tags")
    rules: list[str] = Field(
        default=[],
        max_length=10,
        description="house-style rules the engine named in its reasons (all of them): "
        + ", ".join(RULE_NAMES),
    )
    prefixes: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default=[], max_length=50, description="identifier prefixes, any of them (a family: `AC-`)"
    )
    status: Literal["", "unreviewed", "reviewed"] = Field(
        default="", description="as your organisation reads it"
    )
    text: str = Field(
        default="", max_length=200, description="words in identifiers, titles, reasons, redlines"
    )

    def domain(self) -> ChangeFilter:
        return ChangeFilter.of(self.model_dump())


class VerdictSet(BaseModel):
    """What a bulk correction sets: `substantive` always; `kind` and `tags` when given, else
    each change keeps its own."""

    model_config = ConfigDict(extra="forbid")
    substantive: bool | None
    kind: Kind | None = None
    tags: list[Tag] | None = Field(default=None, max_length=len(Tag))


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filter: FilterIn = Field(default_factory=FilterIn)
    action: Literal["confirm", "correct"] = "confirm"
    verdict: VerdictSet | None = Field(default=None, description="for `correct` only")
    reason: str = Field(default="", max_length=2000, description="required for `correct`")
    reviewer: str = Field(default="", max_length=200, description="defaults to the API key's name or id")
    dry_run: bool = Field(default=False, description="only say which changes would be decided, and `as_of`")
    as_of: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="the `as_of` of your dry run: changes decided after it are skipped, not overwritten",
    )


class BulkOut(BaseModel):
    """A bulk action (or its dry run): how many changes, which, and what to send back."""

    dry_run: bool
    batch_id: int | None = None
    diff_id: int
    filter: dict[str, Any]
    count: int = Field(description="changes decided (or, in a dry run, that would be)")
    change_ids: list[int]
    labels: list[str] = Field(default=[], description="dry run: the identifiers of those changes, in order")
    skipped: list[int] = Field(default=[], description="decided by someone after `as_of`: left as they are")
    as_of: int | None = None
    impacts_updated: list[str] = []


class BatchOut(BaseModel):
    id: int
    diff_id: int
    action: str
    filter: dict[str, Any]
    verdict: dict[str, Any] | None = None
    reviewer: str
    reason: str
    decided: int
    created_at: Utc
    undone_at: Utc | None = None
    undone_by: str | None = None

    @classmethod
    def of(cls, batch: Batch) -> BatchOut:
        return cls.model_validate(batch.to_dict())


class UndoOut(BaseModel):
    batch_id: int
    diff_id: int
    restored: list[int] = Field(description="changes back at the reading in force before the batch")
    kept: list[int] = Field(description="changes decided after the batch: that decision stands")
    impacts_updated: list[str] = []


@router.post(
    "/diffs/{diff_id}/bulk",
    operation_id="bulkReview",
    summary="Confirm or correct every change a filter selects, in one undoable action",
    description="With `dry_run` nothing is recorded: the answer lists the changes that would be decided "
    "and the `as_of` to send back. Applied, every chosen change gets its own decision naming the batch; "
    "with `as_of`, changes someone decided since are skipped and listed.",
    status_code=201,
    responses=created_responses(responses(409)),
)
def post_bulk(
    diff_id: Id, body: BulkIn, tenant: WriteTenant, engine: EngineDep, response: Response
) -> BulkOut:
    flt = body.filter.domain()
    reviewer = tenant.reviewer(body.reviewer)
    if body.dry_run:
        seen = preview(engine, diff_id, reviewer, flt)
        response.status_code = 200
        return BulkOut(
            dry_run=True,
            diff_id=diff_id,
            filter=flt.to_dict(),
            count=len(seen.chosen),
            change_ids=list(seen.change_ids),
            labels=[c.label for c in seen.chosen],
            as_of=seen.as_of,
        )
    verdict = None
    if body.action == "correct":
        if body.verdict is None:
            raise ApiProblem(
                422, "a bulk correction needs `verdict` (substantive, and kind or tags)", slug="invalid-input"
            )
        tags = None if body.verdict.tags is None else tuple(dict.fromkeys(body.verdict.tags))
        verdict = BulkVerdict(body.verdict.substantive, body.verdict.kind, tags)
    outcome = apply_bulk(
        engine,
        diff_id,
        reviewer,
        flt,
        action=body.action,
        verdict=verdict,
        reason=body.reason,
        as_of=body.as_of,
    )
    set_location(response, "v1", "orgs", tenant.org, "review", "diffs", diff_id, "bulk", outcome.batch_id)
    return BulkOut(
        dry_run=False,
        batch_id=outcome.batch_id,
        diff_id=diff_id,
        filter=flt.to_dict(),
        count=len(outcome.decided),
        change_ids=list(outcome.decided),
        skipped=list(outcome.skipped),
        as_of=body.as_of,
        impacts_updated=[o for o in outcome.impacts_updated if o == tenant.org],
    )


def _batch(engine: EngineDep, tenant: ReadTenant | WriteTenant, diff_id: int, batch_id: int) -> Batch:
    found = BatchStore(engine).get(batch_id, tenant.org_id)
    if found is None or found.diff_id != diff_id:
        raise ApiProblem(
            404, f"{tenant.org} has no bulk action {batch_id} on diff {diff_id}", slug="not-found"
        )
    return found


@router.get(
    "/diffs/{diff_id}/bulk",
    operation_id="listBulkReviews",
    summary="The organisation's bulk actions on a diff",
)
def list_bulk(diff_id: Id, tenant: ReadTenant, engine: EngineDep) -> list[BatchOut]:
    return [BatchOut.of(b) for b in BatchStore(engine).for_diff(tenant.org_id, diff_id)]


@router.get("/diffs/{diff_id}/bulk/{batch_id}", operation_id="getBulkReview", summary="One bulk action")
def get_bulk(diff_id: Id, batch_id: Id, tenant: ReadTenant, engine: EngineDep) -> BatchOut:
    return BatchOut.of(_batch(engine, tenant, diff_id, batch_id))


@router.delete(
    "/diffs/{diff_id}/bulk/{batch_id}",
    operation_id="undoBulkReview",
    summary="Undo a bulk action: its changes return to their earlier reading, later decisions stay",
    responses=responses(409),
)
def delete_bulk(diff_id: Id, batch_id: Id, tenant: WriteTenant, engine: EngineDep) -> UndoOut:
    _batch(engine, tenant, diff_id, batch_id)
    outcome = undo_bulk(engine, batch_id, tenant.reviewer())
    return UndoOut(
        batch_id=batch_id,
        diff_id=outcome.diff_id,
        restored=list(outcome.restored),
        kept=list(outcome.kept),
        impacts_updated=[o for o in outcome.impacts_updated if o == tenant.org],
    )
