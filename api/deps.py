"""Request dependencies: the database, the caller's API key, and tenancy.

They are ``async`` on purpose: FastAPI runs every synchronous dependency in the thread
pool, and on a busy 2-core machine each hop costs more (GIL hand-over) than the single
indexed lookup the key and the organisation need. So they run on the event loop, and a
route pays one thread hop, for its own work. Both lookups are remembered per app: a live
key for a second (:class:`~tracker.storage.api_keys.KeyCache`; unknown, wrong and revoked
tokens always reach the database) and an organisation's id for good
(:class:`~api.stores.OrgRefs`; organisations are never renamed or deleted).

Tenancy is enforced in exactly one place, :func:`tenant`: every route under
``/v1/orgs/{org}`` depends on it, and it answers 404 (not 403) when the key belongs to
another organisation, so a caller cannot even learn which organisations exist. Objects
inside an organisation (controls, mappings, subscriptions, ...) are then always looked up
*with* the tenant's org id, so an id from another tenant is simply not found.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ApiProblem
from api.ratelimit import AuthFailures
from tracker.settings import Settings
from tracker.storage.api_keys import ApiKey, KeyCache, Scope
from tracker.storage.db import Engine
from tracker.storage.decisions import Reviewer

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer tsk_...`; create keys with `tracker apikey create`",
)


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _unauthorised(detail: str) -> ApiProblem:
    return ApiProblem(
        401, detail, slug="unauthorised", headers={"WWW-Authenticate": 'Bearer realm="tracker"'}
    )


async def api_key(
    request: Request,
    engine: EngineDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> ApiKey:
    """The live API key of the request, or 401 (see :class:`KeyCache` for how long a
    revocation made outside this process takes to reach it: at most a second)."""
    failures: AuthFailures = request.app.state.auth_failures
    client = request.client.host if request.client else "?"
    wait = failures.retry_after(client)
    if wait:
        raise ApiProblem(
            429,
            f"too many failed authentications from {client}; try again in {wait} s",
            slug="too-many-requests",
            headers={"Retry-After": str(wait)},
        )
    if credentials is None:
        raise _unauthorised("this endpoint needs an API key: send `Authorization: Bearer <token>`")
    keys: KeyCache = request.app.state.key_cache
    key = keys.authenticate(engine, credentials.credentials)
    if key is None:
        failures.hit(client)
        raise _unauthorised("the API key is unknown or revoked; create one with `tracker apikey create`")
    return key


KeyDep = Annotated[ApiKey, Depends(api_key)]


def _forbidden(key: ApiKey, needed: Scope) -> ApiProblem:
    return ApiProblem(
        403,
        f"this key has the {key.scope} scope; this operation needs {needed}",
        slug="insufficient-scope",
    )


def scoped(needed: Scope) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """Any live key with at least ``needed`` scope (archive data is shared by all tenants)."""

    async def dependency(key: KeyDep) -> ApiKey:
        if not key.scope.allows(needed):
            raise _forbidden(key, needed)
        return key

    return dependency


async def operator(key: KeyDep) -> ApiKey:
    """The org-less admin key that manages sources, organisations and crawls."""
    if not key.is_operator:
        raise ApiProblem(
            403, "this operation needs an operator key (admin scope, no organisation)", slug="operator-only"
        )
    return key


OperatorDep = Annotated[ApiKey, Depends(operator)]


@dataclass(frozen=True)
class Tenant:
    """The organisation a request acts for, checked against the key."""

    org_id: int
    org: str
    key: ApiKey

    def reviewer(self, name: str = "") -> Reviewer:
        """Who decides through this key for this organisation (see :func:`key_reviewer`)."""
        return key_reviewer(self.key, name, self.org, self.org_id)


def key_reviewer(key: ApiKey, name: str = "", org: str | None = None, org_id: int | None = None) -> Reviewer:
    """Who decides through ``key``: the name given, else the key's name or id."""
    return Reviewer(name or key.name or f"api-key:{key.key_id}", key.key_id, org, org_id)


OrgPath = Annotated[str, Path(min_length=1, max_length=200, description="organisation name")]


def _resolve_org(request: Request, engine: Engine, ref: str) -> tuple[int, str] | None:
    from api.stores import OrgRefs

    refs: OrgRefs = request.app.state.org_refs
    return refs.get(engine, ref)


def tenant(needed: Scope) -> Callable[[Request, str, Engine, ApiKey], Awaitable[Tenant]]:
    """Dependency for ``/v1/orgs/{org}/...``: the key must belong to ``org`` (404 otherwise,
    for unknown and foreign organisations alike) and carry ``needed`` scope (403 otherwise).
    The operator key may act for any organisation."""

    async def dependency(request: Request, org: OrgPath, engine: EngineDep, key: KeyDep) -> Tenant:
        found = _resolve_org(request, engine, org)
        if found is None or (not key.is_operator and key.org_id != found[0]):
            raise ApiProblem(404, f"no organisation {org!r} for this key", slug="not-found")
        if not key.scope.allows(needed):
            raise _forbidden(key, needed)
        return Tenant(org_id=found[0], org=found[1], key=key)

    return dependency


ReadTenant = Annotated[Tenant, Depends(tenant(Scope.READ))]
WriteTenant = Annotated[Tenant, Depends(tenant(Scope.WRITE))]
AdminTenant = Annotated[Tenant, Depends(tenant(Scope.ADMIN))]
Reader = Annotated[ApiKey, Depends(scoped(Scope.READ))]
