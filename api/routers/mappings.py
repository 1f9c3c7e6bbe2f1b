"""An organisation's requirement-to-control mappings, and reviewers' decisions on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import EngineDep, ReadTenant, Tenant, WriteTenant
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import MappingIn, MappingOut, MappingReview
from tracker.domain.keys import normalise_key
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.review.decisions import review_mapping as decide_mapping
from tracker.storage.mappings import MappingStore
from tracker.storage.tables.orgs import MappingRow

router = APIRouter(
    prefix="/v1/orgs/{org}/mappings", tags=["mappings"], responses=responses(401, 403, 404, 422)
)
Paging = Annotated[PageParams, Depends(page_params)]
MappingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _out(row: MappingRow) -> MappingOut:
    return MappingOut(
        id=row.id,
        source_set=row.source_set,
        source=row.source_id,
        target_set=row.target_set,
        target=row.target_id,
        relationship=row.relationship,  # type: ignore[arg-type]
        provenance=row.provenance,
        confidence=row.confidence,
        review=row.review,  # type: ignore[arg-type]
        reviewer=row.reviewer,
        reviewed_at=row.reviewed_at,
        note=row.note,
    )


def _get(engine: EngineDep, tenant: Tenant, mapping_id: int) -> MappingOut:
    with Session(engine) as session:
        row = session.get(MappingRow, mapping_id)
        if row is None or row.org_id != tenant.org_id:
            raise ApiProblem(404, f"{tenant.org} has no mapping {mapping_id}", slug="not-found")
        return _out(row)


@router.get("", operation_id="listMappings", summary="The organisation's mappings")
def list_mappings(
    tenant: ReadTenant,
    engine: EngineDep,
    paging: Paging,
    review: Annotated[ReviewState | None, Query(description="only mappings in this review state")] = None,
    source_set: Annotated[str | None, Query(max_length=256, examples=["nist-csf@2.0"])] = None,
    control: Annotated[
        str | None, Query(max_length=256, description="only mappings onto this control")
    ] = None,
) -> Page[MappingOut]:
    query = select(MappingRow).where(MappingRow.org_id == tenant.org_id, MappingRow.id > paging.after)
    if review is not None:
        query = query.where(MappingRow.review == review.value)
    if source_set:
        query = query.where(MappingRow.source_set == source_set)
    if control:
        query = query.where(MappingRow.target_key == normalise_key(control))
    with Session(engine) as session:
        rows = session.scalars(query.order_by(MappingRow.id).limit(paging.limit + 1)).all()
        items = [_out(r) for r in rows]
    return paging.page(items, [r.id for r in rows])


@router.post(
    "",
    operation_id="createMapping",
    summary="Record a reviewer's own mapping onto one of the organisation's controls",
    status_code=201,
)
def create_mapping(body: MappingIn, tenant: WriteTenant, engine: EngineDep) -> MappingOut:
    target_set = f"org:{tenant.org}"
    mapping = Mapping(
        source=body.source,
        target=body.target,
        relationship=body.relationship,
        provenance=Provenance.REVIEWER,
        review=ReviewState.ACCEPTED,
        source_set=body.source_set,
        target_set=target_set,
        note=body.note,
    )
    pair = (
        MappingRow.org_id == tenant.org_id,
        MappingRow.source_set == body.source_set,
        MappingRow.source_key == mapping.source_key,
        MappingRow.target_set == target_set,
        MappingRow.target_key == mapping.target_key,
    )
    with Session(engine) as session:
        held = session.scalar(
            select(MappingRow.id).where(*pair, MappingRow.provenance == Provenance.REVIEWER.value)
        )
    if held is not None:  # the store never overwrites a reviewer's decision
        raise ApiProblem(
            409, f"mapping {held} already records a reviewer's decision; PATCH it", slug="conflict"
        )
    MappingStore(engine).add_mappings(tenant.org, [mapping], origin=f"api:{tenant.key.key_id}")
    with Session(engine) as session:
        row = session.scalar(select(MappingRow).where(*pair))
        assert row is not None
        return _out(row)


@router.get("/{mapping_id}", operation_id="getMapping", summary="One mapping")
def get_mapping(mapping_id: MappingId, tenant: ReadTenant, engine: EngineDep) -> MappingOut:
    return _get(engine, tenant, mapping_id)


@router.patch(
    "/{mapping_id}",
    operation_id="reviewMapping",
    summary="Accept, reject or reopen a mapping (recorded with reviewer and time)",
    description="The decision is kept in the organisation's decision record, and its stored "
    "impacts that involve the mapping's requirement are recomputed in the same transaction.",
    responses=responses(409),
)
def review_mapping(
    mapping_id: MappingId, body: MappingReview, tenant: WriteTenant, engine: EngineDep
) -> MappingOut:
    _get(engine, tenant, mapping_id)
    decide_mapping(
        engine,
        tenant.reviewer(body.reviewer),
        mapping_id,
        body.review,
        reason=body.note,
        expected=body.expected_review,
    )
    return _get(engine, tenant, mapping_id)
