"""Subscriptions of an organisation, their queued events (digests) and delivery log."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import EngineDep, ReadTenant, SettingsDep, WriteTenant
from api.headers import created_responses, set_location
from api.pagination import Page, PageParams, page_params
from api.problems import responses
from api.schemas.subscriptions import (
    DeliveryOut,
    EventOut,
    NoticeOut,
    Secrets,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    TestSendOut,
)
from tracker.digests.events import enqueue_subscription
from tracker.digests.model import SubscriptionSpec
from tracker.settings import Settings
from tracker.storage.subscriptions import DEFAULT_ROTATION_GRACE, MAX_ROTATION_GRACE, SubscriptionStore
from tracker.storage.tables.api import OutboxRow

router = APIRouter(
    prefix="/v1/orgs/{org}/subscriptions", tags=["subscriptions"], responses=responses(401, 403, 404, 422)
)
Paging = Annotated[PageParams, Depends(page_params)]
SubId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DEFAULT_GRACE_SECONDS = int(DEFAULT_ROTATION_GRACE.total_seconds())
EventId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Grace = Annotated[
    int,
    Query(
        ge=0,
        le=int(MAX_ROTATION_GRACE.total_seconds()),
        description="seconds the old webhook secret keeps signing beside the new one (0: stops at once)",
    ),
]


def _store(engine: EngineDep, settings: SettingsDep) -> SubscriptionStore:
    return SubscriptionStore(
        engine,
        allow_private_webhooks=settings.webhook_allow_private,
        allow_http_webhooks=settings.webhook_allow_http,
    )


Store = Annotated[SubscriptionStore, Depends(_store)]


def _feed_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/v1/feeds/{token}.atom"


def _secrets(
    settings: Settings, feed_token: str, webhook_secret: str, until: datetime | None = None
) -> Secrets:
    return Secrets(
        feed_token=feed_token or None,
        feed_url=_feed_url(settings, feed_token) if feed_token else None,
        webhook_secret=webhook_secret or None,
        previous_secret_until=until,
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
    body: SubscriptionIn,
    tenant: WriteTenant,
    engine: EngineDep,
    store: Store,
    settings: SettingsDep,
    response: Response,
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
    sub_id: SubId, body: SubscriptionPatch, tenant: WriteTenant, store: Store, settings: SettingsDep
) -> SubscriptionCreated:
    changes = body.changes()
    for name in ("kinds", "tags"):
        if name in changes:
            changes[name] = tuple(getattr(v, "value", v) for v in changes[name])
    if "channels" in changes:
        changes["channels"] = tuple(dict.fromkeys(changes["channels"]))
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
    summary="Issue a new feed token (the old one stops working) and webhook secret (the old one "
    "keeps signing for the grace period)",
)
def rotate(
    sub_id: SubId,
    tenant: WriteTenant,
    store: Store,
    settings: SettingsDep,
    grace_seconds: Grace = DEFAULT_GRACE_SECONDS,
) -> Secrets:
    token, secret = store.rotate(tenant.org_id, sub_id, timedelta(seconds=grace_seconds))
    until = store.get(tenant.org_id, sub_id).previous_secret_until if secret else None
    return _secrets(settings, token, secret, until)


@router.post(
    "/{sub_id}/rotate-webhook-secret",
    operation_id="rotateWebhookSecret",
    summary="Issue a new webhook secret; messages carry both signatures until the grace ends",
    responses=responses(409),
)
def rotate_webhook_secret(
    sub_id: SubId,
    tenant: WriteTenant,
    store: Store,
    settings: SettingsDep,
    grace_seconds: Grace = DEFAULT_GRACE_SECONDS,
) -> Secrets:
    secret, until = store.rotate_webhook_secret(tenant.org_id, sub_id, timedelta(seconds=grace_seconds))
    return _secrets(settings, "", secret, until)


@router.post(
    "/{sub_id}/test",
    operation_id="sendSubscriptionTest",
    summary="Sign and POST a subscription.test message now and report the receiver's answer",
    responses=responses(409),
)
def send_test(sub_id: SubId, tenant: WriteTenant, engine: EngineDep, settings: SettingsDep) -> TestSendOut:
    from tracker.jobs.deliveries import send_test

    result = send_test(engine, settings, tenant.org_id, sub_id)
    return TestSendOut(**asdict(result))


@router.get(
    "/{sub_id}/notices",
    operation_id="listSubscriptionNotices",
    summary="What the owner should act on: dead deliveries (replay them), a disabled endpoint",
)
def list_notices(sub_id: SubId, tenant: ReadTenant, engine: EngineDep, paging: Paging) -> Page[NoticeOut]:
    rows = SubscriptionStore(engine).notices(tenant.org_id, sub_id, paging.after, paging.limit + 1)
    items = [
        NoticeOut(id=r.id, kind=r.kind, event_id=r.outbox_id, message=r.message, created_at=r.created_at)
        for r in rows
    ]
    return paging.page(items, [r.id for r in rows])


@router.post(
    "/{sub_id}/events/{event_id}/replay",
    operation_id="replaySubscriptionEvent",
    summary="Queue a dead event again, with a fresh count of attempts",
    responses=responses(409),
)
def replay_event(
    sub_id: SubId, event_id: EventId, tenant: WriteTenant, engine: EngineDep, settings: SettingsDep
) -> EventOut:
    from tracker.jobs.deliveries import replay_delivery

    return _event(replay_delivery(engine, settings, tenant.org_id, sub_id, event_id))


@router.get(
    "/{sub_id}/events", operation_id="listSubscriptionEvents", summary="Queued and sent digest events"
)
def list_events(sub_id: SubId, tenant: ReadTenant, engine: EngineDep, paging: Paging) -> Page[EventOut]:
    rows = SubscriptionStore(engine).outbox(tenant.org_id, sub_id, paging.after, paging.limit + 1)
    return paging.page([_event(r) for r in rows], [r.id for r in rows])


def _event(r: OutboxRow) -> EventOut:
    return EventOut(
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
