"""Subscriptions of an organisation, their queued events (digests) and delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from api.deps import EngineDep, ReadTenant, SettingsDep, WriteTenant
from api.headers import created_responses, set_location
from api.pagination import Page, PageParams, page_params
from api.problems import responses
from api.schemas.subscriptions import (
    DeliveryOut,
    EventOut,
    Secrets,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from tracker.digests.events import enqueue_subscription
from tracker.digests.model import SubscriptionSpec
from tracker.settings import Settings
from tracker.storage.subscriptions import SubscriptionStore

router = APIRouter(
    prefix="/v1/orgs/{org}/subscriptions", tags=["subscriptions"], responses=responses(401, 403, 404, 422)
)
Paging = Annotated[PageParams, Depends(page_params)]
SubId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _feed_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/feeds/{token}.atom"


def _secrets(settings: Settings, feed_token: str, webhook_secret: str) -> Secrets:
    return Secrets(
        feed_token=feed_token or None,
        feed_url=_feed_url(settings, feed_token) if feed_token else None,
        webhook_secret=webhook_secret or None,
    )


@router.get("", operation_id="listSubscriptions", summary="The organisation's subscriptions")
def list_subscriptions(tenant: ReadTenant, engine: EngineDep, paging: Paging) -> Page[SubscriptionOut]:
    subs = SubscriptionStore(engine).all(tenant.org_id, paging.after, paging.limit + 1)
    return paging.page([SubscriptionOut.of(s) for s in subs], [s.id for s in subs])


@router.post(
    "",
    operation_id="createSubscription",
    summary="Subscribe to changes; the feed token and webhook secret are shown once",
    status_code=201,
    responses=created_responses(),
)
def create_subscription(
    body: SubscriptionIn, tenant: WriteTenant, engine: EngineDep, settings: SettingsDep, response: Response
) -> SubscriptionCreated:
    spec = SubscriptionSpec(
        name=body.name,
        sources=tuple(body.sources),
        kinds=tuple(k.value for k in body.kinds),
        substantive_only=body.substantive_only,
        tags=tuple(t.value for t in body.tags),
        control_ids=tuple(body.control_ids),
        control_tags=tuple(body.control_tags),
        cadence=body.cadence,
        channels=tuple(dict.fromkeys(body.channels)),
        email_to=tuple(body.email_to),
        webhook_url=body.webhook_url or "",
        active=body.active,
    )
    store = SubscriptionStore(engine, allow_private_webhooks=settings.webhook_allow_private)
    created = store.create(tenant.org_id, spec, since=body.since)
    if body.since is not None:  # asked for changes from the past: queue them now
        enqueue_subscription(engine, created.subscription.id)
    set_location(response, "v1", "orgs", tenant.org, "subscriptions", created.subscription.id)
    return SubscriptionCreated(
        **SubscriptionOut.of(created.subscription).model_dump(),
        secrets=_secrets(settings, created.feed_token, created.webhook_secret),
    )


@router.get("/{sub_id}", operation_id="getSubscription", summary="One subscription")
def get_subscription(sub_id: SubId, tenant: ReadTenant, engine: EngineDep) -> SubscriptionOut:
    return SubscriptionOut.of(SubscriptionStore(engine).get(tenant.org_id, sub_id))


@router.patch(
    "/{sub_id}",
    operation_id="updateSubscription",
    summary="Change a subscription; a webhook secret is returned if a webhook was just added",
)
def update_subscription(
    sub_id: SubId, body: SubscriptionPatch, tenant: WriteTenant, engine: EngineDep, settings: SettingsDep
) -> SubscriptionCreated:
    changes = body.changes()
    for name in ("kinds", "tags"):
        if name in changes:
            changes[name] = tuple(getattr(v, "value", v) for v in changes[name])
    if "channels" in changes:
        changes["channels"] = tuple(dict.fromkeys(changes["channels"]))
    store = SubscriptionStore(engine, allow_private_webhooks=settings.webhook_allow_private)
    sub, secret = store.update(tenant.org_id, sub_id, changes)
    return SubscriptionCreated(**SubscriptionOut.of(sub).model_dump(), secrets=_secrets(settings, "", secret))


@router.delete(
    "/{sub_id}",
    operation_id="deleteSubscription",
    summary="Delete a subscription with its queue, log and feed",
    status_code=204,
    response_class=Response,
)
def delete_subscription(sub_id: SubId, tenant: WriteTenant, engine: EngineDep) -> Response:
    SubscriptionStore(engine).delete(tenant.org_id, sub_id)
    return Response(status_code=204)


@router.post(
    "/{sub_id}/rotate-secrets",
    operation_id="rotateSubscriptionSecrets",
    summary="Issue a new feed token (and webhook secret); the old ones stop working",
)
def rotate(sub_id: SubId, tenant: WriteTenant, engine: EngineDep, settings: SettingsDep) -> Secrets:
    token, secret = SubscriptionStore(engine).rotate(tenant.org_id, sub_id)
    return _secrets(settings, token, secret)


@router.get(
    "/{sub_id}/events", operation_id="listSubscriptionEvents", summary="Queued and sent digest events"
)
def list_events(sub_id: SubId, tenant: ReadTenant, engine: EngineDep, paging: Paging) -> Page[EventOut]:
    rows = SubscriptionStore(engine).outbox(tenant.org_id, sub_id, paging.after, paging.limit + 1)
    items = [
        EventOut(
            id=r.id,
            event_key=r.event_key,
            channel=r.channel,
            status=r.status,
            attempts=r.attempts,
            created_at=r.created_at,
            due_at=r.due_at,
            next_attempt_at=r.next_attempt_at,
            sent_at=r.sent_at,
            last_error=r.last_error,
            payload=dict(r.payload or {}),
        )
        for r in rows
    ]
    return paging.page(items, [r.id for r in rows])


@router.get("/{sub_id}/deliveries", operation_id="listSubscriptionDeliveries", summary="The delivery log")
def list_deliveries(
    sub_id: SubId, tenant: ReadTenant, engine: EngineDep, paging: Paging
) -> Page[DeliveryOut]:
    rows = SubscriptionStore(engine).deliveries(tenant.org_id, sub_id, paging.after, paging.limit + 1)
    items = [
        DeliveryOut(
            id=r.id,
            channel=r.channel,
            message_id=r.message_id,
            event_keys=list(r.event_keys or ()),
            attempt=r.attempt,
            status=r.status,
            response_code=r.response_code,
            error=r.error,
            duration_ms=r.duration_ms,
            attempted_at=r.attempted_at,
        )
        for r in rows
    ]
    return paging.page(items, [r.id for r in rows])
