"""The OpenAPI document, completed with what every route shares.

Each route declares its own answers (``responses=`` on the route and its router); a few
answers come from layers every route passes through, and are declared here once, on every
``/v1`` operation, rather than repeated on sixty routes:

* 400: a body that cannot be read as its declared format (a broken multipart upload);
* 422: the request gate refuses NUL characters in any URL, and validation runs everywhere;
* 401 and 429: the gate's authentication and its limit on failed attempts;
* 413: the gate's cap on request bodies, for operations that take one;
* ``Link``: the ``rel="next"`` header of every paged list (those with a ``cursor`` parameter).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.pagination import LINK_HEADER
from api.problems import MEDIA_TYPE, _title

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "patch", "delete", "head")


def _problem(status: int) -> dict[str, Any]:
    return {"description": _title(status), "content": {MEDIA_TYPE: {"schema": _PROBLEM_REF}}}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared answers and headers to every ``/v1`` operation of ``schema``."""
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            answers = op.setdefault("responses", {})
            shared = [400, 401, 422, 429] + ([413] if "requestBody" in op else [])
            for status in shared:
                answers.setdefault(str(status), _problem(status))
            params = op.get("parameters", [])
            if any(p.get("name") == "cursor" and p.get("in") == "query" for p in params):
                ok = answers.setdefault("200", {"description": "Successful Response"})
                ok.setdefault("headers", {}).update(LINK_HEADER)
    return schema


def install(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json`` (FastAPI builds and caches it; the
    completion is idempotent, so running it on the cached document again changes nothing)."""
    build = app.openapi

    def completed() -> dict[str, Any]:
        return complete(build())

    app.openapi = completed  # type: ignore[method-assign]
