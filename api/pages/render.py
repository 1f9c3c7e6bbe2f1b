"""Templates, static files and the response headers every page shares.

Jinja2 autoescapes everything (document text is never marked safe); the environment is
built on first use, not at import. Pages send a strict Content-Security-Policy (scripts
and styles only from this origin, no inline script), so the one script is a static file.
Static files are served by a route (``/ui/static/<name>``) from a fixed folder with an
ETag and a content-hash query for cache busting, so mounting needs no change to the app.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.pages.session import Viewer
from tracker.diff.types import Kind, Tag
from tracker.review.selection import RULE_NAMES

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9_-]+\.(css|js)$")
_MEDIA = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
KIND_LABELS = {
    "added": "Added",
    "removed": "Withdrawn",
    "moved": "Moved",
    "split": "Split",
    "merged": "Merged",
    "modified": "Modified",
    "unchanged": "Unchanged",
}


def verdict_text(substantive: bool | None) -> str:
    return "substantive" if substantive else "editorial" if substantive is False else "not applicable"


def tag_text(tag: str) -> str:
    return tag.replace("_", " ")


@functools.cache
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/ui/static/{name}?v={_static_version(name)}"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["verdict"] = verdict_text
    env.filters["tag"] = tag_text
    env.globals.update(
        static_url=static_url,
        kind_labels=KIND_LABELS,
        kinds=[k.value for k in Kind],
        tags=[t.value for t in Tag],
        rules=list(RULE_NAMES),  # house-style rules, for the review page's filter
    )
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    notice: str = "",
    started: float | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a full page with the shared context and security headers.

    ``Server-Timing`` reports the time from ``started`` (the route's start) to the end of
    rendering, which is what the review benchmark reads.
    """
    body = render(template, request=request, viewer=viewer, notice=notice, path=request.url.path, **context)
    response = HTMLResponse(body, status_code=status)
    secure_headers(response, private=viewer is not None)
    if started is not None:
        response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def secure_headers(response: Response, *, private: bool) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store" if private else "no-cache"


def static_file(request: Request, name: str) -> Response:
    if not _STATIC_NAME.match(name) or not (STATIC / name).is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    etag = f'"{_static_version(name)}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response((STATIC / name).read_bytes(), media_type=_MEDIA[name.rsplit(".", 1)[1]], headers=headers)
