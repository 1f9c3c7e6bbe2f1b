"""JSON API of review decisions (issue 7), for tooling: list an organisation's decisions,
and take the same decisions the review pages take, with the same effects.

Verdict decisions change the shared stored change (see :mod:`tracker.review`); their record
(who, when, why) stays with the deciding organisation, like mapping decisions.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import EngineDep, ReadTenant, Tenant, WriteTenant
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.timeutil import Utc
from tracker.diff.types import Kind, Tag
from tracker.mapping.types import ReviewState
from tracker.review import Verdict, review_mapping, review_verdict
from tracker.storage.decisions import Decision, DecisionStore

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

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        return cls.model_validate(decision.to_dict())


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
        description="the change's `review.revision` when you read it; if another decision came in "
        "since, this one is refused with 409 instead of overwriting it",
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


def _one(engine: EngineDep, tenant: Tenant, decision_id: int) -> DecisionOut:
    found = DecisionStore(engine).get(decision_id, tenant.org_id)
    if found is None:
        raise ApiProblem(404, f"{tenant.org} has no decision {decision_id}", slug="not-found")
    return DecisionOut.of(found)


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
    return paging.page([DecisionOut.of(d) for d in found], [d.id for d in found])


@router.get("/decisions/{decision_id}", operation_id="getDecision", summary="One review decision")
def get_decision(decision_id: Id, tenant: ReadTenant, engine: EngineDep) -> DecisionOut:
    return _one(engine, tenant, decision_id)


@router.post(
    "/changes/{change_id}/verdict",
    operation_id="reviewVerdict",
    summary="Confirm or correct a change's verdict; the impact is recomputed at once",
    status_code=201,
    responses=responses(409),
)
def post_verdict(change_id: Id, body: VerdictIn, tenant: WriteTenant, engine: EngineDep) -> DecisionOut:
    verdict = None
    if body.action == "correct":
        if body.kind is None:
            raise ApiProblem(422, "a correction needs `kind`", slug="invalid-input")
        verdict = Verdict(body.kind, body.substantive, tuple(dict.fromkeys(body.tags)))
    outcome = review_verdict(
        engine,
        change_id,
        tenant.reviewer(body.reviewer),
        action=body.action,
        verdict=verdict,
        reason=body.reason,
        expected_revision=body.expected_revision,
    )
    return _one(engine, tenant, outcome.decision_id)


@router.post(
    "/mappings/{mapping_id}",
    operation_id="reviewMappingSuggestion",
    summary="Accept or reject a mapping suggestion, recorded with why; the impact is recomputed",
    status_code=201,
    responses=responses(409),
)
def post_mapping(
    mapping_id: Id, body: MappingDecisionIn, tenant: WriteTenant, engine: EngineDep
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
    return _one(engine, tenant, outcome.decision_id)
