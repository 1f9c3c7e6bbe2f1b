"""The application factory: ``uvicorn --factory api.app:create_app``.

Nothing happens at import time: settings are read and the database opened (and migrated)
when the factory runs. Routers are listed once in :data:`ROUTERS`; the review pages
add theirs there too.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module

from fastapi import FastAPI

from api import caching, openapi, problem_types, problems, webhook_docs
from api.gate import RequestGate
from api.ratelimit import AuthFailures
from api.stores import ChangeCache, OrgRefs, PageCache
from tracker.settings import Settings
from tracker.storage.api_keys import KeyCache
from tracker.storage.db import Engine

# (module under api.routers, attribute) in the order their tags appear in the docs
ROUTERS: tuple[str, ...] = (
    "sources",
    "diffs",
    "orgs",
    "controls",
    "mappings",
    "impact",
    "subscriptions",
    "feeds",
    "crawls",
    "jobs",
    "pages",  # review pages and decisions API
)

TAGS = [
    {"name": "sources", "description": "Archived sources, versions and requirements, with time travel."},
    {"name": "diffs", "description": "Stored diffs and their typed changes."},
    {"name": "organisations", "description": "Organisations and their API keys."},
    {"name": "controls", "description": "An organisation's controls, with history."},
    {"name": "mappings", "description": "Requirement-to-control mappings and their review state."},
    {"name": "impact", "description": "What changed for an organisation's controls."},
    {"name": "subscriptions", "description": "Digests by email, Atom feed and signed webhook."},
    {"name": "crawls", "description": "Crawl runs of the spiders (read-only)."},
    {"name": "jobs", "description": "Durable jobs after archiving: dead ones with their error, replay."},
    {"name": "meta", "description": "Health."},
]


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app. ``engine`` lets tests and benchmarks share an already migrated database."""
    settings = settings or Settings.from_env()
    if engine is None:
        from tracker.storage.db import open_engine

        engine = open_engine(settings)
        owned = True
    else:
        owned = False

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far (modules, routes, schemas, the engine: ~170,000 tracked
        # objects) lives as long as the process. Move it out of the collector's reach, so a
        # full (generation 2) collection, when request garbage eventually triggers one, walks
        # only what was allocated since: a full pass over the startup heap measured 50-120 ms,
        # a stall every request in flight would wait out. Later garbage is collected as before.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if owned:
                engine.dispose()

    app = FastAPI(
        title="AI Standards Tracker API",
        version="1.0.0",
        summary="Archive, semantic diff and change impact for AI and cyber security guidance.",
        description=(
            "Every error is an RFC 9457 problem (`application/problem+json`). Lists are paged "
            "with an opaque `cursor` and a bounded `limit`, ordered by id. Authenticate with "
            "`Authorization: Bearer <api key>`; organisation keys see only their organisation."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.change_cache = ChangeCache()
    app.state.page_cache = PageCache()
    app.state.org_refs = OrgRefs()
    app.state.key_cache = KeyCache()
    app.state.auth_failures = AuthFailures(settings.auth_failure_limit, settings.auth_failure_window)
    problems.install(app)
    # outermost: authentication and body caps before anything reads the request
    app.add_middleware(RequestGate, settings=settings, failures=app.state.auth_failures)
    # outside the gate: HEAD runs as GET through it; ETags and 304s; gzip outermost
    caching.install(app)

    @app.get("/healthz", tags=["meta"], operation_id="health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    for name in ROUTERS:
        module = import_module(f"api.routers.{name}")
        app.include_router(module.router)
    app.include_router(problem_types.router)
    openapi.install(app)
    webhook_docs.install(app)
    return app
