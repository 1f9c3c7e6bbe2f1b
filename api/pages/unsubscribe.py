"""Unsubscribe from a subscription's emails with the link the email carries.

``GET /ui/unsubscribe/TOKEN`` shows what the link stops and a button; ``POST`` to the same
address stops it at once, with no further step, as RFC 8058 asks of one-click unsubscribe
(a mail client posts ``List-Unsubscribe=One-Click`` there when its reader presses its own
unsubscribe button). No session and no API key: the signed token
(:mod:`tracker.digests.unsubscribe`) is the credential, so the request gate lets these
posts through, and no CSRF token is needed as the token itself cannot be guessed. A
link that is malformed, forged or for a deleted subscription gets a 404 page, the same for
each, so the page tells nothing about which subscriptions exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.pages.render import page
from api.pages.views import ViewerDep, engine_of
from tracker.digests import unsubscribe
from tracker.digests.model import Channel, Subscription
from tracker.storage.orgs import OrgStore
from tracker.storage.subscriptions import SubscriptionStore

router = APIRouter(prefix="/ui", include_in_schema=False)
PATH = "/ui/unsubscribe/"


def _subscription(request: Request, token: str) -> Subscription | None:
    sub_id = unsubscribe.subscription_of(token)
    if sub_id is None:
        return None
    found = SubscriptionStore(engine_of(request)).signing_key(sub_id)
    if found is None or not unsubscribe.verify(token, found[1]):
        return None
    return found[0]


def _page(request: Request, who: ViewerDep, sub: Subscription | None, *, done: bool) -> HTMLResponse:
    if sub is None:
        return page(
            request,
            "error.html",
            who,
            status=404,
            problem="This unsubscribe link is not valid.",
            hint="It may be cut short, or the subscription was deleted or its feed token rotated; "
            "use the link in a more recent email.",
        )
    org = OrgStore(engine_of(request)).get_by_id(sub.org_id)
    response = page(
        request,
        "unsubscribe.html",
        who,
        sub=sub,
        org=org.slug,
        emailing=Channel.EMAIL in sub.spec.channels and sub.spec.active,
        done=done,
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: str, who: ViewerDep) -> HTMLResponse:
    sub = await run_in_threadpool(_subscription, request, token)
    return _page(request, who, sub, done=False)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def one_click(request: Request, token: str, who: ViewerDep) -> HTMLResponse:
    """Stop the emails now (RFC 8058 one-click); the body, if any, is not needed."""
    sub = await run_in_threadpool(_subscription, request, token)
    if sub is not None:
        sub = await run_in_threadpool(SubscriptionStore(engine_of(request)).stop_email, sub.id)
    return _page(request, who, sub, done=True)
