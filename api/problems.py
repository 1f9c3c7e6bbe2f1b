"""RFC 9457 problem details for every error the API can return.

One mapping from the tracker's error hierarchy (:mod:`tracker.domain.errors`) to HTTP statuses,
plus handlers for what Starlette and FastAPI raise themselves (unknown routes, wrong
methods, request validation) and a last-resort handler that answers 500 without leaking
the exception. ``type`` URIs are relative references to ``/problems/<slug>`` (RFC 9457 allows
them), resolved against the API's own address to a page saying what the problem means and
how to fix it (:mod:`api.problem_types`); a 405 lists every method of the path in ``Allow``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError, ParseError, TrackerError
from tracker.storage.db import DataError

MEDIA_TYPE = "application/problem+json"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
log = logging.getLogger("api")


class FieldError(BaseModel):
    """One invalid input: where it is (``["query", "limit"]``) and what is wrong with it."""

    loc: list[str | int] = Field(examples=[["query", "limit"]])
    msg: str = Field(examples=["Input should be less than or equal to 500"])
    type: str = Field(examples=["less_than_equal"])


class Problem(BaseModel):
    """RFC 9457 problem details. ``errors`` lists every invalid field of a 422."""

    type: str = Field(default="about:blank", examples=["/problems/not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(default="", examples=["unknown source 'nist-csf-9' (known sources: nist-csf)"])
    instance: str = Field(default="", examples=["/v1/sources/nist-csf-9"])
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raise from a route to answer with a problem (status, slug, detail)."""

    def __init__(
        self,
        status: int,
        detail: str,
        slug: str = "",
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _slug(status)
        self.headers = headers or {}
        self.errors = errors


# The problem type of a status when the raiser named none; each has a page at /problems/<slug>
# (api/problem_types.py), and any other status shares the generic one.
_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorised",
    403: "insufficient-scope",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal-error",
}


def _slug(status: int) -> str:
    return _STATUS_SLUGS.get(status, "http-error")


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if status == 422 and errors is None:  # every 422 lists what was invalid, even a single check
        errors = [{"loc": [], "msg": detail, "type": slug or "invalid-input"}]
    body = Problem(
        type=f"/problems/{slug or _slug(status)}",
        title=_title(status),
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=[FieldError(**e) for e in errors] if errors is not None else None,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def tracker_status(err: TrackerError) -> tuple[int, str]:
    """HTTP status and problem slug for one of the tracker's own errors."""
    if isinstance(err, NotFoundError):
        return 404, "not-found"
    if isinstance(err, ConflictError):
        return 409, "conflict"
    if isinstance(err, InvalidInputError | ParseError):
        return 422, "invalid-input"
    return 400, "bad-request"


def _clean_loc(loc: Any) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": _clean_loc(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem_response(
        request,
        422,
        f"the request has {len(errors)} invalid field(s): {where}",
        slug="invalid-input",
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _title(status) else ""
    if status == 404 and not detail:
        detail = f"no resource at {request.url.path}; see /docs for the API's routes"
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        if not detail:
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
    return problem_response(request, status, detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path.

    Starlette's own ``Allow`` names only the methods of the first route whose path matched,
    and one path often has several routes (GET, PUT and DELETE of a control are three). The
    router is asked again with each method instead, so included routers are seen as well.
    """
    allowed: list[str] = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")  # api.caching answers HEAD for every GET
    return allowed


async def _on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        request, exc.status, exc.detail, slug=exc.slug, headers=exc.headers, errors=exc.errors
    )


async def _on_tracker(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrackerError)
    status, slug = tracker_status(exc)
    return problem_response(request, status, str(exc), slug=slug)


async def _on_unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refused to store or compare (a number past 64 bits, a NUL).

    Inputs are checked where they enter (cursor, ids, text fields); this is the net for any
    that slip through, so the caller learns the request was at fault, not the server.
    """
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        request,
        422,
        "a value in the request is out of range or holds a character the database cannot store",
        slug="invalid-input",
    )


async def _on_unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, 500, "the server failed to answer this request; it has been logged", slug="internal-error"
    )


def install(app: FastAPI) -> None:
    """Register the handlers; every error leaves as ``application/problem+json``."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(TrackerError, _on_tracker)
    app.add_exception_handler(DataError, _on_unstorable)
    app.add_exception_handler(OverflowError, _on_unstorable)
    app.add_exception_handler(Exception, _on_unhandled)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem answers for a route."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {"model": Problem, "description": _title(status), "content": {MEDIA_TYPE: {}}}
    return out
