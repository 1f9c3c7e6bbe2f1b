"""Form actions of the pages: sign in and out, verdict and mapping decisions, computing a diff.

Each action works without script (post, then 303 back to the page with a one-time notice)
and, when the page's script sends ``X-Fragment: 1``, answers JSON with the notice and the
re-rendered change, which the script swaps in and announces in the page's live region.
Actions need a signed-in key with write scope and the session's CSRF token; database work
runs in the thread pool so the event loop never waits on it.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.pages import data, review_data
from api.pages.org_view import attach_decisions, attach_org, unreviewed_suggestions
from api.pages.render import page, render
from api.pages.session import (
    PRESESSION,
    Viewer,
    clear_cookie,
    csrf_ok,
    issue,
    redirect_with_notice,
    set_cookie,
    set_flash,
    viewer,
)
from api.pages.session import (
    end as end_session,
)
from api.pages.views import engine_of, safe_next
from tracker.diff.service import diff_archived
from tracker.diff.types import Kind, Tag
from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError, TrackerError
from tracker.mapping.types import ReviewState
from tracker.review.decisions import Outcome, Verdict, review_mapping, review_verdict
from tracker.storage.api_keys import ApiKeys
from tracker.storage.archive import Archive
from tracker.storage.changes import ChangeStore
from tracker.storage.diffs import DiffStore

router = APIRouter(prefix="/ui", include_in_schema=False)
ViewerDep = Annotated[Viewer | None, Depends(viewer)]
_SUBSTANTIVE = {"yes": True, "no": False, "na": None}


def _fragment(request: Request) -> bool:
    return request.headers.get("x-fragment") == "1"


def _fail(request: Request, who: Viewer | None, status: int, detail: str) -> Response:
    if _fragment(request):
        return JSONResponse({"detail": detail}, status_code=status)
    return page(request, "error.html", who, status=status, problem=detail, hint="")


def _guard(request: Request, who: Viewer | None, form: FormData) -> Response | None:
    """Signed in, allowed to write, and the form carries this session's CSRF token."""
    if who is None:
        return _fail(request, who, 401, "sign in with an API key to record decisions")
    if not csrf_ok(who, str(form.get("csrf") or "")):
        return _fail(request, who, 403, "the form has expired; reload the page and try again")
    if not who.can_write:
        return _fail(request, who, 403, f"this key has the {who.key.scope} scope; decisions need write")
    return None


@router.post("/sign-in", response_model=None)
async def sign_in(request: Request, who: ViewerDep) -> Response:
    form = await request.form()
    nxt = safe_next(str(form.get("next") or ""))
    presession = request.cookies.get(PRESESSION, "")
    if not presession or presession != str(form.get("presession") or ""):
        return page(request, "signin.html", who, status=403, presession="", next=nxt, error="expired")
    token = str(form.get("api_key") or "").strip()
    engine = engine_of(request)
    key = await run_in_threadpool(ApiKeys(engine).authenticate, token) if token else None
    if key is None:
        # a wrong key counts towards the client's failed-authentication limit (api.ratelimit)
        request.app.state.auth_failures.hit(request.client.host if request.client else "?")
        response = page(request, "signin.html", who, status=401, presession=presession, next=nxt, error="key")
        return response
    redirect = RedirectResponse(nxt, status_code=303)
    token = await run_in_threadpool(issue, request, key, str(form.get("name") or ""))
    set_cookie(request, redirect, token)
    redirect.delete_cookie(PRESESSION, path="/ui")
    set_flash(request, redirect, f"Signed in as {str(form.get('name') or '') or key.name or key.key_id}.")
    return redirect


@router.post("/sign-out", response_model=None)
async def sign_out(request: Request, who: ViewerDep) -> Response:
    form = await request.form()
    if who is not None and not csrf_ok(who, str(form.get("csrf") or "")):
        return _fail(request, who, 403, "the form has expired; reload the page and try again")
    if who is not None:
        await run_in_threadpool(end_session, engine_of(request), who.sid)
    redirect = RedirectResponse("/ui", status_code=303)
    clear_cookie(redirect)
    set_flash(request, redirect, "Signed out.")
    return redirect


def _pair(request: Request, change_id: int) -> tuple[str, str, str]:
    """Source and version labels of the diff a change belongs to."""
    found = ChangeStore(engine_of(request)).diff_of(change_id)
    if found is None:
        raise NotFoundError(f"no change {change_id}", "reload the review page")
    return found.source, found.old_version, found.new_version


def _change_html(request: Request, who: Viewer, change_id: int, return_to: str) -> dict[str, Any]:
    """The change's article as the review page renders it after the decision, and the
    diff's review progress (for the page's progress bar)."""
    engine = engine_of(request)
    slug, old, new = _pair(request, change_id)
    model = review_data.load(
        engine, slug, old, new, review_data.Filters(kind="all"), only=change_id, org_id=who.key.org_id
    )
    assert model is not None
    attach_decisions(engine, model, who.key.org_id)
    if who.org is not None:
        attach_org(engine, model, who.org)
    html = render(
        "_change.html",
        request=request,
        viewer=who,
        model=model,
        change=model.changes[0],
        return_to=return_to,
        consultation="view=consultation" in return_to,
        suggestions=unreviewed_suggestions,
    )
    return {"html": html, "reviewed": model.reviewed, "total": model.total}


def _done(request: Request, who: Viewer, notice: str, change_id: int | None, return_to: str) -> Response:
    if _fragment(request):
        body: dict[str, Any] = {"notice": notice}
        if change_id is not None:
            body.update(_change_html(request, who, change_id, return_to))
        return JSONResponse(body)
    anchor = f"#change-{change_id}" if change_id is not None else ""
    return redirect_with_notice(request, return_to + anchor, notice)


def _impacts(who: Viewer, outcome: Outcome) -> str:
    """Names only the viewer's own organisation: others' impacts are theirs to see."""
    if who.org is not None and who.org in outcome.impacts_updated:
        return f" The stored impact of {who.org} is updated."
    return ""


def _verdict_words(v: dict[str, Any]) -> str:
    tags = ", ".join(str(t).replace("_", " ") for t in v.get("tags") or ()) or "no tags"
    sub = v.get("substantive")
    return f"{v.get('kind')}, {'substantive' if sub else 'editorial' if sub is False else 'n/a'}, {tags}"


@router.post("/changes/{change_id}/verdict", response_model=None)
async def verdict(request: Request, change_id: int, who: ViewerDep) -> Response:
    form = await request.form()
    denied = _guard(request, who, form)
    if denied is not None or who is None:
        return denied or _fail(request, who, 401, "sign in")
    action = str(form.get("action") or "")
    return_to = safe_next(str(form.get("return_to") or ""))
    reason = str(form.get("reason") or "").strip()[:2000]
    revision = str(form.get("revision") or "")
    try:
        chosen = None
        if action == "correct":
            try:
                chosen = Verdict(
                    Kind(str(form.get("kind") or "")),
                    _SUBSTANTIVE[str(form.get("substantive") or "na")],
                    tuple(Tag(str(t)) for t in form.getlist("tags")),
                )
            except (ValueError, KeyError):
                raise InvalidInputError("unknown kind, verdict or tag", "pick from the lists") from None
        outcome = await run_in_threadpool(
            review_verdict,
            engine_of(request),
            change_id,
            who.reviewer,
            action=action,
            verdict=chosen,
            reason=reason,
            expected_revision=int(revision) if revision.isdigit() else None,
        )
        word = "confirmed" if action == "confirm" else "corrected"
        notice = f"Verdict {word}: {_verdict_words(outcome.after)}"
        if action == "correct":
            notice += f" (was {_verdict_words(outcome.before)})"
        notice += "." + _impacts(who, outcome)
        return await run_in_threadpool(_done, request, who, notice, change_id, return_to)
    except ConflictError as err:
        return await run_in_threadpool(_conflict, request, who, change_id, return_to, err)
    except TrackerError as err:
        return _fail(request, who, 404 if isinstance(err, NotFoundError) else 422, str(err))


def _conflict(request: Request, who: Viewer, change_id: int, return_to: str, err: ConflictError) -> Response:
    """Someone decided first: show the change as it is now, with why nothing was recorded."""
    notice = f"Not recorded: {err.problem}. The change below shows where it stands now; decide again."
    if _fragment(request):
        return JSONResponse(
            {"detail": notice, **_change_html(request, who, change_id, return_to)}, status_code=409
        )
    return redirect_with_notice(request, return_to + f"#change-{change_id}", notice)


@router.post("/mappings/{mapping_id}/review", response_model=None)
async def mapping(request: Request, mapping_id: int, who: ViewerDep) -> Response:
    form = await request.form()
    denied = _guard(request, who, form)
    if denied is not None or who is None:
        return denied or _fail(request, who, 401, "sign in")
    return_to = safe_next(str(form.get("return_to") or ""))
    reason = str(form.get("reason") or "").strip()[:2000]
    try:
        state = ReviewState(str(form.get("state") or ""))
        change_id = int(str(form.get("change_id") or "0")) or None
        expected = ReviewState(str(form["expected"])) if form.get("expected") else None
    except ValueError:
        return _fail(request, who, 422, "unknown review state; use accepted, rejected or proposed")
    try:
        diff_id = None
        if change_id is not None:
            slug, old, new = await run_in_threadpool(_pair, request, change_id)
            found = await run_in_threadpool(data.stored_diff, engine_of(request), slug, old, new)
            diff_id = found.id if found else None
        outcome = await run_in_threadpool(
            lambda: review_mapping(
                engine_of(request),
                who.reviewer,
                mapping_id,
                state,
                reason=reason,
                diff_id=diff_id,
                change_id=change_id,
                expected=expected,
            )
        )
    except ConflictError as err:
        if change_id is None:
            return _fail(request, who, 409, str(err))
        return await run_in_threadpool(_conflict, request, who, change_id, return_to, err)
    except TrackerError as err:
        return _fail(request, who, 404 if isinstance(err, NotFoundError) else 422, str(err))
    notice = f"Mapping suggestion {state.value}." + _impacts(who, outcome)
    return await run_in_threadpool(_done, request, who, notice, change_id, return_to)


@router.post("/sources/{slug}/diffs", response_model=None)
async def compute_diff(request: Request, slug: str, who: ViewerDep) -> Response:
    """Diff two archived versions with the lexical engine (fast; no model load) and open it."""
    form = await request.form()
    denied = _guard(request, who, form)
    if denied is not None or who is None:
        return denied or _fail(request, who, 401, "sign in")
    old, new = str(form.get("old") or ""), str(form.get("new") or "")
    engine = engine_of(request)
    try:
        existing = await run_in_threadpool(data.stored_diff, engine, slug, old, new)
        if existing is None:
            stored = await run_in_threadpool(
                diff_archived, Archive(engine), DiffStore(engine), slug, old, new, None
            )
            changed = sum(1 for c in stored.result.changes if c.kind is not Kind.UNCHANGED)
            notice = f"Diffed {old} → {new} with the lexical engine: {changed} changed requirements."
        else:
            notice = f"{old} → {new} was already diffed."
    except TrackerError as err:
        return _fail(request, who, 404 if isinstance(err, NotFoundError) else 422, str(err))
    view = "?view=consultation" if form.get("view") == "consultation" else ""
    target = "/".join(quote(x, safe="") for x in (slug, "review", old, new))
    return redirect_with_notice(request, f"/ui/sources/{target}{view}", notice)
