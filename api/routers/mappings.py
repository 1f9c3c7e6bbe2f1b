"""An organisation's requirement-to-control mappings, and reviewers' decisions on them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import EngineDep, ReadTenant, Tenant, WriteTenant
from api.headers import created_responses, set_location
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import MappingIn, MappingOut, MappingReview
from tracker.domain.keys import normalise_key
from tracker.mapping.crosswalks.oscal import write_oscal_mapping
from tracker.mapping.crosswalks.oscal_ids import OSCAL_VERSION
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.review.decisions import review_mapping as decide_mapping
from tracker.storage.mappings import MappingStore, StoredMapping

router = APIRouter(
    prefix="/v1/orgs/{org}/mappings", tags=["mappings"], responses=responses(401, 403, 404, 422)
)
Paging = Annotated[PageParams, Depends(page_params)]
MappingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _out(stored: StoredMapping) -> MappingOut:
    m = stored.mapping
    return MappingOut(
        id=stored.id,
        source_set=m.source_set,
        source=m.source,
        target_set=m.target_set,
        target=m.target,
        relationship=m.relationship,
        provenance=m.provenance.value,
        confidence=m.confidence,
        review=m.review,
        reviewer=stored.reviewer,
        reviewed_at=stored.reviewed_at,
        note=m.note,
    )


def _get(engine: EngineDep, tenant: Tenant, mapping_id: int) -> MappingOut:
    found = MappingStore(engine).get(tenant.org_id, mapping_id)
    if found is None:
        raise ApiProblem(404, f"{tenant.org} has no mapping {mapping_id}", slug="not-found")
    return _out(found)


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
    found = MappingStore(engine).page(
        tenant.org_id,
        after_id=paging.after,
        limit=paging.limit + 1,
        review=review,
        source_set=source_set or None,
        target_key=normalise_key(control) if control else None,
    )
    return paging.page([_out(m) for m in found], [m.id for m in found])


@router.post(
    "",
    operation_id="createMapping",
    summary="Record a reviewer's own mapping onto one of the organisation's controls",
    status_code=201,
    responses=created_responses(responses(409)),
)
def create_mapping(body: MappingIn, tenant: WriteTenant, engine: EngineDep, response: Response) -> MappingOut:
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
    store = MappingStore(engine)
    held = store.of_pair(tenant.org_id, mapping, provenance=Provenance.REVIEWER)
    if held is not None:  # the store never overwrites a reviewer's decision
        raise ApiProblem(
            409, f"mapping {held.id} already records a reviewer's decision; PATCH it", slug="conflict"
        )
    store.add_mappings(tenant.org, [mapping], origin=f"api:{tenant.key.key_id}")
    stored = store.of_pair(tenant.org_id, mapping)
    assert stored is not None
    set_location(response, "v1", "orgs", tenant.org, "mappings", stored.id)
    return _out(stored)


@router.get(
    "/oscal",
    operation_id="exportMappingsOscal",
    summary="The organisation's mappings as an OSCAL mapping collection",
    description=(
        f"An OSCAL {OSCAL_VERSION} `mapping-collection`: one mapping per (source set, target set), "
        "each set a back-matter resource its `href` points at, controls named by catalog id "
        "(`ac-2.1`). Unchanged mappings export with the same document UUID. Re-import it with "
        "`tracker crosswalk import FILE --org ORG`."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "OSCAL mapping-collection (JSON)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def export_mappings_oscal(
    tenant: ReadTenant,
    engine: EngineDep,
    source_set: Annotated[str | None, Query(max_length=256, examples=["nist-csf@2.0"])] = None,
) -> Response:
    found = [s.mapping for s in MappingStore(engine).mappings(tenant.org, source_set=source_set or None)]
    if not found:
        raise ApiProblem(404, f"{tenant.org} has no mappings to export", slug="not-found")
    title = f"{tenant.org}: requirement-to-control mappings"
    return Response(write_oscal_mapping(found, title=title), media_type="application/json")


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
