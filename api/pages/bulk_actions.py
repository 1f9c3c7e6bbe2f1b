"""Form actions of bulk review on the review page: "confirm all N shown" and "undo".

Both post and redirect back to the page with a one-time notice (the whole list changes, so
there is no fragment to swap in). The bulk form carries the page's own filters and the
``as_of`` the page was rendered at: changes someone decided after that are skipped and the
notice says how many (see :mod:`tracker.review.bulk`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.pages import review_data
from api.pages.actions import _fail, _guard
from api.pages.session import Viewer, redirect_with_notice, viewer
from api.pages.views import engine_of, safe_next
from tracker.domain.errors import ConflictError, NotFoundError, TrackerError
from tracker.review.bulk import apply_bulk, undo_bulk

router = APIRouter(prefix="/ui", include_in_schema=False)
ViewerDep = Annotated[Viewer | None, Depends(viewer)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@router.post("/diffs/{diff_id}/bulk", response_model=None)
async def bulk_confirm(request: Request, diff_id: int, who: ViewerDep) -> Response:
    form = await request.form()
    denied = _guard(request, who, form)
    if denied is not None or who is None:
        return denied or _fail(request, who, 401, "sign in")
    return_to = safe_next(str(form.get("return_to") or ""))
    filters = review_data.Filters.parse({k: str(v) for k, v in form.items() if isinstance(v, str)})
    selection = filters.selection()
    shown = str(form.get("shown") or "")
    as_of = str(form.get("as_of") or "")
    try:
        outcome = await run_in_threadpool(
            lambda: apply_bulk(
                engine_of(request),
                diff_id,
                who.reviewer,
                selection,
                action="confirm",
                reason=str(form.get("reason") or "").strip()[:2000],
                as_of=int(as_of) if as_of.isdigit() else None,
            )
        )
    except ConflictError as err:
        return redirect_with_notice(
            request, return_to, f"Nothing recorded: {err.problem}. Reload and decide again."
        )
    except TrackerError as err:
        return _fail(request, who, 404 if isinstance(err, NotFoundError) else 422, str(err))
    notice = (
        f"Confirmed {_plural(len(outcome.decided), 'verdict')} in bulk action {outcome.batch_id} "
        f"({selection.describe()})."
    )
    left = int(shown) - len(outcome.decided) if shown.isdigit() else len(outcome.skipped)
    if left > 0:  # skipped as decided since, or no longer matching because of such a decision
        notice += (
            f" {_plural(left, 'change')} of the {shown or 'changes'} shown had been decided by someone "
            "else since the page loaded and kept that decision."
        )
    return redirect_with_notice(request, return_to, notice)


@router.post("/bulk/{batch_id}/undo", response_model=None)
async def bulk_undo(request: Request, batch_id: int, who: ViewerDep) -> Response:
    form = await request.form()
    denied = _guard(request, who, form)
    if denied is not None or who is None:
        return denied or _fail(request, who, 401, "sign in")
    return_to = safe_next(str(form.get("return_to") or ""))
    try:
        outcome = await run_in_threadpool(undo_bulk, engine_of(request), batch_id, who.reviewer)
    except ConflictError as err:
        return redirect_with_notice(request, return_to, f"Nothing to undo: {err.problem}.")
    except TrackerError as err:
        return _fail(request, who, 404 if isinstance(err, NotFoundError) else 422, str(err))
    restored = _plural(len(outcome.restored), "change")
    notice = f"Undid bulk action {batch_id}: {restored} back to the verdict read before it."
    if outcome.kept:
        notice += f" {_plural(len(outcome.kept), 'change')} decided again after it kept that later decision."
    return redirect_with_notice(request, return_to, notice)
