"""JSON API of review decisions, for tooling: list an organisation's decisions,
and take the same decisions the review pages take, with the same effects.

Verdict decisions taken here are the organisation's own reading of a change (see
:mod:`tracker.review.decisions`): they drive its impact, digests and pages and no other tenant's; the
record (who, when, why) stays with the organisation, like mapping decisions.
``GET .../changes/{change_id}`` serves the verdict as the organisation reads it, with the
revision to send back as ``expected_revision``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import EngineDep, OperatorDep, ReadTenant, Tenant, WriteTenant, key_reviewer
from api.headers import created_responses, set_location
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.archive import ReviewOut
from api.timeutil import Utc
from tracker.diff.types import Kind, Tag
from tracker.mapping.types import ReviewState
from tracker.review.decisions import Verdict, review_mapping, review_verdict
from tracker.review.readings import reading_of
from tracker.storage.batches import Batch, BatchStore
from tracker.storage.decisions import Decision, DecisionStore, Reviewer

router = APIRouter(prefix="/v1/orgs/{org}/review", tags=["review"], responses=responses(401, 403, 404, 422))
Paging = Annotated[PageParams, Depends(page_params)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class DecisionOut(BaseModel):
    """One reviewer decision: what it was about, the state before and after, who, when, why."""

    id: int
    subject: Literal["verdict", "mapping"]
    action: str = Field(examples=["correct"])
    diff_id: int | None = None
    change_id: int | None = None
    mapping_id: int | None = None
    before: dict[str, Any] = Field(examples=[{"kind": "modified", "substantive": True, "tags": []}])
    after: dict[str, Any]
    reviewer: str
    reason: str
    created_at: Utc
    batch_id: int | None = Field(
        default=None,
        description="the bulk action that recorded it (GET .../review/diffs/{diff_id}/bulk/{batch_id})",
    )

    batch_filter: dict[str, Any] | None = Field(
        default=None, description="the filter of that bulk action: why this change was chosen"
    )

    @classmethod
    def of(cls, decision: Decision, batches: dict[int, Batch] | None = None) -> DecisionOut:
        batch = (batches or {}).get(decision.batch_id or 0)
        return cls.model_validate({**decision.to_dict(), "batch_filter": batch.filter if batch else None})

    @classmethod
    def many(cls, engine: EngineDep, decisions: list[Decision], org_id: int | None) -> list[DecisionOut]:
        """Decisions with the filters of the bulk actions that recorded them."""
        batches = BatchStore(engine).of_ids({d.batch_id for d in decisions if d.batch_id}, org_id)
        return [cls.of(d, batches) for d in decisions]


class VerdictIn(BaseModel):
    """Confirm the change's verdict, or correct it (``kind`` required; ``substantive`` null
    means the question does not apply)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["confirm", "correct"]
    kind: Kind | None = None
    substantive: bool | None = None
    tags: list[Tag] = Field(default=[], max_length=len(Tag))
    reason: str = Field(default="", max_length=2000)
    reviewer: str = Field(default="", max_length=200, description="defaults to the API key's name or id")
    expected_revision: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="the `review.revision` of GET .../review/changes/{change_id} when you read it; "
        "if another decision came in since, this one is refused with 409 instead of overwriting it",
    )


class MappingDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    review: ReviewState
    reason: str = Field(default="", max_length=2000)
    reviewer: str = Field(default="", max_length=200)
    change_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    expected_review: ReviewState | None = Field(
        default=None, description="the mapping's `review` when you read it; a stale one is refused with 409"
    )


def _decide(engine: EngineDep, change_id: int, body: VerdictIn, reviewer: Reviewer) -> int:
    """Take the verdict decision the body asks for; its decision id."""
    verdict = None
    if body.action == "correct":
        if body.kind is None:
            raise ApiProblem(422, "a correction needs `kind`", slug="invalid-input")
        verdict = Verdict(body.kind, body.substantive, tuple(dict.fromkeys(body.tags)))
    outcome = review_verdict(
        engine,
        change_id,
        reviewer,
        action=body.action,
        verdict=verdict,
        reason=body.reason,
        expected_revision=body.expected_revision,
    )
    return outcome.decision_id


def _one(engine: EngineDep, tenant: Tenant, decision_id: int) -> DecisionOut:
    found = DecisionStore(engine).get(decision_id, tenant.org_id)
    if found is None:
        raise ApiProblem(404, f"{tenant.org} has no decision {decision_id}", slug="not-found")
    return DecisionOut.many(engine, [found], tenant.org_id)[0]


@router.get("/decisions", operation_id="listDecisions", summary="The organisation's review decisions")
def list_decisions(
    tenant: ReadTenant,
    engine: EngineDep,
    paging: Paging,
    diff_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    change_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    subject: Annotated[Literal["verdict", "mapping"] | None, Query()] = None,
) -> Page[DecisionOut]:
    found = DecisionStore(engine).find(
        tenant.org_id,
        diff_id=diff_id,
        change_id=change_id,
        subject=subject,
        after_id=paging.after,
        limit=paging.limit + 1,
    )
    return paging.page(DecisionOut.many(engine, found, tenant.org_id), [d.id for d in found])


@router.get("/decisions/{decision_id}", operation_id="getDecision", summary="One review decision")
def get_decision(decision_id: Id, tenant: ReadTenant, engine: EngineDep) -> DecisionOut:
    return _one(engine, tenant, decision_id)


class ReadingOut(BaseModel):
    """A change's verdict as your organisation reads it: its own decision where its reviewers
    took one, else the shared verdict."""

    change_id: int
    kind: Kind
    substantive: bool | None = None
    tags: list[Tag] = []
    confidence: float = 1.0
    review: ReviewOut


@router.get(
    "/changes/{change_id}",
    operation_id="getChangeReading",
    summary="A change's verdict as the organisation reads it, with the revision to decide on",
)
def get_reading(change_id: Id, tenant: ReadTenant, engine: EngineDep) -> ReadingOut:
    found = reading_of(engine, change_id, tenant.org_id)
    return ReadingOut.model_validate({**found, "review": ReviewOut.of(found["review"])})


@router.post(
    "/changes/{change_id}/verdict",
    operation_id="reviewVerdict",
    summary="Confirm or correct a change's verdict; the impact is recomputed at once",
    status_code=201,
    responses=created_responses(responses(409)),
)
def post_verdict(
    change_id: Id, body: VerdictIn, tenant: WriteTenant, engine: EngineDep, response: Response
) -> DecisionOut:
    decided = _decide(engine, change_id, body, tenant.reviewer(body.reviewer))
    set_location(response, "v1", "orgs", tenant.org, "review", "decisions", decided)
    return _one(engine, tenant, decided)


@router.post(
    "/mappings/{mapping_id}",
    operation_id="reviewMappingSuggestion",
    summary="Accept or reject a mapping suggestion, recorded with why; the impact is recomputed",
    status_code=201,
    responses=created_responses(responses(409)),
)
def post_mapping(
    mapping_id: Id, body: MappingDecisionIn, tenant: WriteTenant, engine: EngineDep, response: Response
) -> DecisionOut:
    outcome = review_mapping(
        engine,
        tenant.reviewer(body.reviewer),
        mapping_id,
        body.review,
        reason=body.reason,
        change_id=body.change_id,
        expected=body.expected_review,
    )
    set_location(response, "v1", "orgs", tenant.org, "review", "decisions", outcome.decision_id)
    return _one(engine, tenant, outcome.decision_id)


shared = APIRouter(prefix="/v1/changes", tags=["review"], responses=responses(401, 403, 404, 422))


@shared.post(
    "/{change_id}/verdict",
    operation_id="reviewSharedVerdict",
    summary="The operator confirms or corrects a change's shared verdict",
    description="Operator key only. The shared verdict is what `/v1/changes` serves and what every "
    "organisation without a decision of its own reads; their stored impacts are recomputed in the "
    "same transaction. `expected_revision` is the change's `review.revision` from `/v1/changes`.",
    status_code=201,
    responses=created_responses(responses(409)),
)
def post_shared_verdict(
    change_id: Id, body: VerdictIn, key: OperatorDep, engine: EngineDep, response: Response
) -> DecisionOut:
    decided = _decide(engine, change_id, body, key_reviewer(key, body.reviewer))
    found = DecisionStore(engine).get(decided, None)
    assert found is not None
    set_location(response, "v1", "changes", change_id, "verdicts", decided)
    return DecisionOut.of(found)


@shared.get(
    "/{change_id}/verdicts/{decision_id}",
    operation_id="getSharedVerdict",
    summary="One of the operator's shared verdicts on a change (operator key)",
)
def get_shared_verdict(change_id: Id, decision_id: Id, key: OperatorDep, engine: EngineDep) -> DecisionOut:
    found = DecisionStore(engine).get(decision_id, None)
    if found is None or found.change_id != change_id:
        raise ApiProblem(404, f"change {change_id} has no shared decision {decision_id}", slug="not-found")
    return DecisionOut.of(found)
