"""What each problem ``type`` means and how to fix it, served as HTML at ``/problems/{slug}``.

Every problem the API answers carries ``"type": "/problems/<slug>"`` (RFC 9457). RFC 9457
asks that a ``type`` URI, when dereferenced, give human-readable documentation of the
problem, so each slug the API uses is described here once: its status, what it means, and
what to do. A test checks that every slug the code raises is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from api.problems import ApiProblem


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    meaning: str
    fix: str


TYPES: tuple[ProblemType, ...] = (
    ProblemType(
        "bad-request",
        400,
        "Bad Request",
        "The request could not be read at all: a body that is not the declared format (a "
        "multipart upload whose parts do not parse, for instance) or an operation the tracker "
        "refused for a reason of its own, named in `detail`.",
        "Read `detail`, correct the request and send it again.",
    ),
    ProblemType(
        "unauthorised",
        401,
        "Unauthorized",
        "The request carried no API key, or one that is unknown, revoked or expired.",
        "Send `Authorization: Bearer <token>` with a live key; `tracker apikey create` makes one.",
    ),
    ProblemType(
        "insufficient-scope",
        403,
        "Forbidden",
        "The key is valid but its scope (read, write, admin) does not allow this operation.",
        "Use a key with the scope `detail` names, or ask an administrator of the organisation.",
    ),
    ProblemType(
        "operator-only",
        403,
        "Forbidden",
        "The operation changes what every organisation sees, so only the operator's key (admin "
        "scope, no organisation) may do it.",
        "Ask the operator, or use the organisation's own routes under `/v1/orgs/{org}`.",
    ),
    ProblemType(
        "not-found",
        404,
        "Not Found",
        "Nothing exists at this address for this key: an unknown identifier, or an organisation "
        "the key does not belong to (answered 404, not 403, so keys cannot probe for names).",
        "Check the identifier against the list routes; `detail` names what was looked for.",
    ),
    ProblemType(
        "method-not-allowed",
        405,
        "Method Not Allowed",
        "The address exists but does not answer this HTTP method.",
        "Use one of the methods the `Allow` header lists.",
    ),
    ProblemType(
        "conflict",
        409,
        "Conflict",
        "The request clashes with what is stored: the thing exists already, or someone decided "
        "on the same item since the revision you read.",
        "Read the current state (`detail` says where), then update it or decide again on it.",
    ),
    ProblemType(
        "too-large",
        413,
        "Content Too Large",
        "The request body is larger than the server accepts (`TRACKER_MAX_BODY_BYTES`, or "
        "`TRACKER_MAX_UPLOAD_BYTES` for control imports).",
        "Split the upload, or ask the operator to raise the limit.",
    ),
    ProblemType(
        "invalid-input",
        422,
        "Unprocessable Content",
        "A parameter or field is missing, of the wrong type or out of range; `errors` lists each "
        "one with where it is (`loc`) and what is wrong (`msg`).",
        "Correct every field `errors` names; the OpenAPI document at `/openapi.json` gives each "
        "field's type and range.",
    ),
    ProblemType(
        "invalid-cursor",
        422,
        "Unprocessable Content",
        "The `cursor` was not issued by this API, or was issued for other filters or another list.",
        "Start the list again without a cursor, then follow `next_cursor` or the `Link` header.",
    ),
    ProblemType(
        "invalid-csv",
        422,
        "Unprocessable Content",
        "The controls CSV has bad rows; nothing was imported. `errors` names each row (the "
        "header is row 1) and, where one is at fault, its column.",
        "Fix the rows named; the columns are id, title, description, owner, tags, family, parent.",
    ),
    ProblemType(
        "invalid-oscal",
        422,
        "Unprocessable Content",
        "The uploaded OSCAL document is not a component definition or system security plan the "
        "tracker can read; `detail` names the JSON path of the first problem. Nothing was imported.",
        "Validate the file against the OSCAL schema (for instance with compliance-trestle) and "
        "fix the path named.",
    ),
    ProblemType(
        "too-many-requests",
        429,
        "Too Many Requests",
        "Too many failed authentications came from your address within the window.",
        "Wait the seconds `Retry-After` gives, and check the key you send.",
    ),
    ProblemType(
        "http-error",
        0,
        "Other HTTP error",
        "An HTTP-level refusal with no more specific type (a media type the route does not "
        "accept, for instance); `status` and `detail` say which.",
        "Read `detail`; the route's entry in `/openapi.json` says what it accepts.",
    ),
    ProblemType(
        "internal-error",
        500,
        "Internal Server Error",
        "The server failed to answer; the error is logged with its traceback.",
        "Try again later; if it persists, report it to the operator with the time and address.",
    ),
)
BY_SLUG = {t.slug: t for t in TYPES}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main>
<h1>{title}</h1>
{body}
</main></body></html>
"""

router = APIRouter(prefix="/problems", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def problem_index() -> HTMLResponse:
    rows = "\n".join(
        f'<li><a href="/problems/{t.slug}"><code>{t.slug}</code></a> '
        f"({t.status or ''} {escape(t.title)})</li>"
        for t in TYPES
    )
    intro = "<p>Every error of the API is an RFC 9457 problem whose <code>type</code> is one of:</p>"
    body = f"{intro}\n<ul>\n{rows}\n</ul>"
    return HTMLResponse(_PAGE.format(title="Problem types", body=body))


@router.get("/{slug}", response_class=HTMLResponse)
def problem_page(slug: str = Path(max_length=64)) -> HTMLResponse:
    found = BY_SLUG.get(slug)
    if found is None:
        raise ApiProblem(404, f"no problem type {slug!r}; see /problems for the list", slug="not-found")
    body = (
        f"<p>HTTP status <strong>{found.status or 'various'}</strong> ({escape(found.title)}); "
        f"<code>type</code>: <code>/problems/{found.slug}</code></p>\n"
        f"<h2>What it means</h2>\n<p>{_code(found.meaning)}</p>\n"
        f"<h2>What to do</h2>\n<p>{_code(found.fix)}</p>\n"
        '<p><a href="/problems">All problem types</a></p>'
    )
    return HTMLResponse(_PAGE.format(title=f"{escape(found.slug)}: {escape(found.title)}", body=body))


def _code(text: str) -> str:
    """Backticks as <code>, everything else escaped."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
