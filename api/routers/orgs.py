"""Organisations and their API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from api.deps import AdminTenant, EngineDep, KeyDep, OperatorDep, ReadTenant
from api.headers import created_responses, set_location
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import ApiKeyCreated, ApiKeyIn, ApiKeyOut, OrgIn, OrgOut
from tracker.storage.api_keys import ApiKeys
from tracker.storage.orgs import Organisation, OrgStore

router = APIRouter(prefix="/v1/orgs", tags=["organisations"], responses=responses(401, 403, 404, 422))
Paging = Annotated[PageParams, Depends(page_params)]


def _out(row: Organisation) -> OrgOut:
    return OrgOut(id=row.id, slug=row.slug, name=row.name, created_at=row.created_at)


@router.get(
    "",
    operation_id="listOrganisations",
    summary="Organisations this key can see",
    description="The operator key sees every organisation; an organisation's key sees only its own.",
)
def list_orgs(engine: EngineDep, key: KeyDep, paging: Paging) -> Page[OrgOut]:
    store, after, limit = OrgStore(engine), paging.after, paging.limit + 1
    if key.is_operator:
        found = store.page(after_id=after, limit=limit)
    else:  # an organisation's key: its own organisation only (never all, whatever the key holds)
        found = [] if key.org_id is None else store.page(after_id=after, limit=limit, only_id=key.org_id)
    return paging.page([_out(o) for o in found], [o.id for o in found])


@router.post(
    "",
    operation_id="createOrganisation",
    summary="Create an organisation (operator key)",
    status_code=201,
    responses=created_responses(responses(409)),
)
def create_org(body: OrgIn, engine: EngineDep, _key: OperatorDep, response: Response) -> OrgOut:
    made = OrgStore(engine).create(body.slug, body.name)
    set_location(response, "v1", "orgs", made.slug)
    return _out(made)


@router.get("/{org}", operation_id="getOrganisation", summary="One organisation")
def get_org(tenant: ReadTenant, engine: EngineDep) -> OrgOut:
    return _out(OrgStore(engine).get_by_id(tenant.org_id))


@router.get("/{org}/api-keys", operation_id="listApiKeys", summary="The organisation's API keys (admin)")
def list_keys(tenant: AdminTenant, engine: EngineDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in ApiKeys(engine).list(tenant.org_id)]


@router.post(
    "/{org}/api-keys",
    operation_id="createApiKey",
    summary="Create an API key for the organisation (admin); the token is shown once",
    status_code=201,
    responses=created_responses(),
)
def create_key(body: ApiKeyIn, tenant: AdminTenant, engine: EngineDep, response: Response) -> ApiKeyCreated:
    key, token = ApiKeys(engine).create(body.scope, tenant.org_id, body.name)
    set_location(response, "v1", "orgs", tenant.org, "api-keys", key.key_id)
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), token=token)


@router.get(
    "/{org}/api-keys/{key_id}",
    operation_id="getApiKey",
    summary="One of the organisation's API keys (admin); never its token",
)
def get_key(
    key_id: Annotated[str, Path(min_length=1, max_length=32)], tenant: AdminTenant, engine: EngineDep
) -> ApiKeyOut:
    found = next((k for k in ApiKeys(engine).list(tenant.org_id) if k.key_id == key_id), None)
    if found is None:
        raise ApiProblem(404, f"{tenant.org} has no API key {key_id!r}", slug="not-found")
    return ApiKeyOut.of(found)


@router.delete(
    "/{org}/api-keys/{key_id}",
    operation_id="revokeApiKey",
    summary="Revoke one of the organisation's API keys (admin)",
    status_code=204,
    response_class=Response,
)
def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=32)], tenant: AdminTenant, engine: EngineDep
) -> Response:
    ApiKeys(engine).revoke(key_id, tenant.org_id)
    return Response(status_code=204)
