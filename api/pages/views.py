"""Read-only pages: sources, a source's versions, its timeline, consultations, review pages.

Every page is readable without signing in (all archived sources are public); a signed-in
organisation additionally sees its affected controls, mappings and its own decisions.
Query parameters are parsed leniently (a bad value falls back to its default) so a
hand-edited URL gives a page, not a validation error.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.pages import charts, data, review_data
from api.pages.org_view import attach_decisions, attach_org, unreviewed_suggestions
from api.pages.render import page, static_file
from api.pages.session import FLASH, PRESESSION, Viewer, take_flash, viewer
from tracker.domain.errors import NotFoundError, TrackerError
from tracker.review.bulk import newest_seen
from tracker.review.selection import ChangeFilter
from tracker.storage.archive import Archive
from tracker.storage.batches import BatchStore
from tracker.storage.changes import ChangeStore
from tracker.storage.db import Engine
from tracker.storage.decisions import Decision, DecisionStore
from tracker.storage.diffs import DiffStore

router = APIRouter(prefix="/ui", include_in_schema=False)
ViewerDep = Annotated[Viewer | None, Depends(viewer)]


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def error_page(request: Request, who: Viewer | None, err: TrackerError) -> HTMLResponse:
    status = 404 if isinstance(err, NotFoundError) else 422
    return page(request, "error.html", who, status=status, problem=err.problem, hint=err.hint)


def _page(request: Request, template: str, who: Viewer | None, **context: Any) -> HTMLResponse:
    """A page with the pending one-time notice, which is then cleared."""
    notice = take_flash(request)
    response = page(request, template, who, notice=notice, **context)
    if notice:
        response.delete_cookie(FLASH, path="/ui")
    return response


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: ViewerDep) -> HTMLResponse:
    return _page(request, "sources.html", who, sources=data.sources(engine_of(request)))


@router.get("/static/{name}")
def static(request: Request, name: str) -> Response:
    return static_file(request, name)


def _source_page(
    request: Request,
    slug: str,
    who: Viewer | None,
    template: str,
    extra: Callable[[data.SourceView], dict[str, Any]] | None = None,
) -> HTMLResponse:
    """A page about one source as a whole; an unknown slug gets the error page."""
    try:
        view = data.source_view(engine_of(request), slug)
    except TrackerError as err:
        return error_page(request, who, err)
    return _page(request, template, who, view=view, **(extra(view) if extra else {}))


def _timeline_charts(view: data.SourceView) -> dict[str, Any]:
    bars, top = charts.bars(view.steps)
    return {"axis": charts.dots(view.versions), "bars": bars, "top": top, "chart": charts}


@router.get("/sources/{slug}", response_class=HTMLResponse)
def source(request: Request, slug: str, who: ViewerDep) -> HTMLResponse:
    return _source_page(request, slug, who, "source.html")


@router.get("/sources/{slug}/timeline", response_class=HTMLResponse)
def timeline(request: Request, slug: str, who: ViewerDep) -> HTMLResponse:
    return _source_page(request, slug, who, "timeline.html", _timeline_charts)


@router.get("/sources/{slug}/consultation", response_class=HTMLResponse)
def consultation(request: Request, slug: str, who: ViewerDep) -> HTMLResponse:
    return _source_page(request, slug, who, "consultation.html")


@router.get("/sources/{slug}/review/{old}/{new}", response_class=HTMLResponse)
def review(request: Request, slug: str, old: str, new: str, who: ViewerDep) -> HTMLResponse:
    """One version pair's changes, filtered and paged; ``view=consultation`` frames it as
    draft against final. ``Server-Timing`` reports the server's time for the page."""
    started = time.perf_counter()
    engine = engine_of(request)
    consult = request.query_params.get("view") == "consultation"
    filters = review_data.Filters.parse(request.query_params)
    try:
        archive = Archive(engine)
        source = archive.source(slug)
        old_stage = data.stage_name(old, str(archive.version(slug, old).status)) if consult else ""
        org_id = who.key.org_id if who is not None else None
        # read before the changes, so the bulk form never vouches for a decision the page missed
        as_of = newest_seen(engine, org_id) if org_id is not None else None
        model = review_data.load(engine, slug, old, new, filters, org_id=org_id)
    except TrackerError as err:
        return error_page(request, who, err)
    if model is None:
        return _page(request, "not_diffed.html", who, source=source, old=old, new=new, consultation=consult)
    bulk: dict[str, Any] = {}
    if who is not None:
        attach_decisions(engine, model, who.key.org_id)
        if who.org is not None:
            attach_org(engine, model, who.org)
            bulk = _bulk_context(engine, who.key.org_id, model.diff.id, as_of)
    query = request.url.query
    return_to = request.url.path + (f"?{query}" if query else "")
    notice = take_flash(request)
    response = page(
        request,
        "review.html",
        who,
        notice=notice,
        started=started,
        source=source,
        model=model,
        consultation=consult,
        old_stage=old_stage,
        return_to=return_to,
        suggestions=unreviewed_suggestions,
        **bulk,
    )
    if notice:
        response.delete_cookie(FLASH, path="/ui")
    return response


def _bulk_context(engine: Engine, org_id: int | None, diff_id: int, as_of: int | None) -> dict[str, Any]:
    """What the bulk form needs: the newest decision the page shows (``as_of``: changes decided
    after it are skipped, see tracker.review.bulk) and the organisation's last bulk action on
    the diff while it can still be undone, with its filter in words."""
    if org_id is None:
        return {}
    last = next(iter(BatchStore(engine).for_diff(org_id, diff_id, limit=1)), None)
    if last is not None and last.undone_at is not None:
        last = None
    described = ChangeFilter.of(last.filter).describe() if last is not None else ""
    return {"as_of": as_of, "last_batch": last, "last_filter": described}


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, who: ViewerDep) -> HTMLResponse:
    """The sign-in form, with a pre-session token against login CSRF (double submit)."""
    token = secrets.token_hex(16)
    nxt = request.query_params.get("next", "/ui")
    response = _page(request, "signin.html", who, presession=token, next=safe_next(nxt), error="")
    response.set_cookie(PRESESSION, token, max_age=1800, httponly=True, samesite="strict", path="/ui")
    return response


def safe_next(target: str | None, default: str = "/ui") -> str:
    """Only this site's page paths are followed after a form (no open redirect)."""
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return default
    return target


@router.get("/decisions", response_class=HTMLResponse, response_model=None)
def decisions(request: Request, who: ViewerDep) -> HTMLResponse | RedirectResponse:
    """The signed-in organisation's decision history: who, when, what and why."""
    if who is None:
        return RedirectResponse("/ui/sign-in?next=/ui/decisions", status_code=303)
    engine = engine_of(request)
    found = DecisionStore(engine).find(who.key.org_id, limit=100_000)[-500:][::-1]
    return _page(request, "decisions.html", who, rows=_decision_rows(engine, found))


@dataclass(frozen=True)
class DecisionRow:
    """One line of the decision history: the decision, the diff's source and versions (to
    link to its review page) and the change's identifiers."""

    d: Decision
    pair: tuple[str, str, str] | None
    label: str


def _decision_rows(engine: Engine, found: list[Decision]) -> list[DecisionRow]:
    headers = DiffStore(engine).headers({d.diff_id for d in found if d.diff_id})
    pairs = {did: (h.source, h.old_version, h.new_version) for did, h in headers.items()}
    labels = {
        cid: " → ".join(x for x in (", ".join(ids.old_ids), ", ".join(ids.new_ids)) if x)
        for cid, ids in ChangeStore(engine).identifiers({d.change_id for d in found if d.change_id}).items()
    }
    return [DecisionRow(d, pairs.get(d.diff_id or 0), labels.get(d.change_id or 0, "")) for d in found]
