"""Subscriptions, their feed entries, outbox and delivery log, always read within one organisation.

Every method takes the organisation's id and filters by it, so a subscription id from
another organisation is "not found" here as well as in the API.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tracker.digests.model import Cadence, Channel, Created, Subscription, SubscriptionSpec
from tracker.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tracker.domain.inputs import refuse_control_characters
from tracker.netguard import check_webhook_scheme, check_webhook_url
from tracker.storage.api_keys import hash_token
from tracker.storage.tables.api import DeliveryRow, FeedEntryRow, NoticeRow, OutboxRow, SubscriptionRow

_PageRow = TypeVar("_PageRow", NoticeRow, OutboxRow, DeliveryRow)

# how long a rotated-out webhook secret still signs, unless the rotation says otherwise
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
MAX_ROTATION_GRACE = timedelta(days=30)


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_feed_token() -> str:
    return "feed_" + secrets.token_urlsafe(24)


def live_webhook_secrets(row: SubscriptionRow, now: datetime) -> list[str]:
    """The secrets that sign a message sent at ``now``: the current one, and during a
    rotation's grace period the previous one as well."""
    out = [row.webhook_secret] if row.webhook_secret else []
    until = row.webhook_previous_until
    if row.webhook_secret_previous and until is not None and now < utc(until):
        out.append(row.webhook_secret_previous)
    return out


def validate(
    spec: SubscriptionSpec, *, allow_private_webhooks: bool = False, allow_http_webhooks: bool = False
) -> SubscriptionSpec:
    """The spec as stored (webhook URL normalised), refusing a subscription that could never
    deliver, would deliver inward (SSRF), or holds text the database cannot store."""
    if not spec.channels:
        raise InvalidInputError("a subscription needs at least one channel", "use email, webhook or atom")
    if Channel.EMAIL in spec.channels and not spec.email_to:
        raise InvalidInputError("the email channel needs at least one address in email_to")
    if Channel.WEBHOOK in spec.channels and not spec.webhook_url.startswith(("http://", "https://")):
        raise InvalidInputError("the webhook channel needs an http(s) webhook_url")
    for field, values in (
        ("name", (spec.name,)),
        ("control_ids", spec.control_ids),
        ("control_tags", spec.control_tags),
        ("email_to", spec.email_to),
    ):
        for value in values:
            refuse_control_characters(field, value)
    if spec.webhook_url:
        url = check_webhook_url(spec.webhook_url, allow_private=allow_private_webhooks)
        check_webhook_scheme(url, allow_http=allow_http_webhooks)
        return replace(spec, webhook_url=url)
    return spec


def _spec(row: SubscriptionRow) -> SubscriptionSpec:
    return SubscriptionSpec(
        name=row.name,
        sources=tuple(row.sources or ()),
        kinds=tuple(row.kinds or ()),
        substantive_only=row.substantive_only,
        tags=tuple(row.tags or ()),
        control_ids=tuple(row.control_ids or ()),
        control_tags=tuple(row.control_tags or ()),
        cadence=Cadence(row.cadence),
        channels=tuple(Channel(c) for c in row.channels or ()),
        email_to=tuple(row.email_to or ()),
        webhook_url=row.webhook_url,
        active=row.active,
    )


def to_subscription(row: SubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        org_id=row.org_id,
        spec=_spec(row),
        since=utc(row.since),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        has_webhook_secret=bool(row.webhook_secret),
        webhook_disabled=row.webhook_disabled or "",
        previous_secret_until=utc(row.webhook_previous_until)
        if row.webhook_secret_previous and row.webhook_previous_until is not None
        else None,
    )


def _apply(row: SubscriptionRow, spec: SubscriptionSpec) -> None:
    row.name = spec.name
    row.sources = list(spec.sources)
    row.kinds = list(spec.kinds)
    row.substantive_only = spec.substantive_only
    row.tags = list(spec.tags)
    row.control_ids = list(spec.control_ids)
    row.control_tags = list(spec.control_tags)
    row.cadence = str(spec.cadence)
    row.channels = [str(c) for c in spec.channels]
    row.email_to = list(spec.email_to)
    row.webhook_url = spec.webhook_url
    row.active = spec.active


class SubscriptionStore:
    def __init__(
        self, engine: Engine, *, allow_private_webhooks: bool = False, allow_http_webhooks: bool = False
    ) -> None:
        self.engine = engine
        self.allow_private_webhooks = allow_private_webhooks
        self.allow_http_webhooks = allow_http_webhooks

    def _validate(self, spec: SubscriptionSpec) -> SubscriptionSpec:
        return validate(
            spec,
            allow_private_webhooks=self.allow_private_webhooks,
            allow_http_webhooks=self.allow_http_webhooks,
        )

    def create(self, org_id: int, spec: SubscriptionSpec, since: datetime | None = None) -> Created:
        spec = self._validate(spec)
        now = datetime.now(UTC)
        token = new_feed_token()
        secret = new_webhook_secret() if Channel.WEBHOOK in spec.channels else ""
        with Session(self.engine) as session, session.begin():
            row = SubscriptionRow(
                org_id=org_id,
                feed_token_hash=hash_token(token),
                unsubscribe_key=secrets.token_hex(32),
                webhook_secret=secret,
                since=since or now,
                created_at=now,
                updated_at=now,
            )
            _apply(row, spec)
            session.add(row)
            session.flush()
            return Created(to_subscription(row), token, secret)

    def _row(self, session: Session, org_id: int, sub_id: int) -> SubscriptionRow:
        row = session.get(SubscriptionRow, sub_id)
        if row is None or row.org_id != org_id:
            raise NotFoundError(
                f"no subscription {sub_id}", "list subscriptions with GET /v1/orgs/{org}/subscriptions"
            )
        return row

    def _page(
        self, model: type[_PageRow], org_id: int, sub_id: int, after: int, limit: int
    ) -> list[_PageRow]:
        """One page, by id cursor, of a subscription's notices, outbox rows or deliveries."""
        with Session(self.engine) as session:
            self._row(session, org_id, sub_id)  # another organisation's subscription is not found
            rows = session.scalars(
                select(model)
                .where(model.subscription_id == sub_id, model.id > after)
                .order_by(model.id)
                .limit(limit)
            ).all()
            session.expunge_all()
            return list(rows)

    def get(self, org_id: int, sub_id: int) -> Subscription:
        with Session(self.engine) as session:
            return to_subscription(self._row(session, org_id, sub_id))

    def all(self, org_id: int, after: int = 0, limit: int = 100) -> list[Subscription]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(SubscriptionRow)
                .where(SubscriptionRow.org_id == org_id, SubscriptionRow.id > after)
                .order_by(SubscriptionRow.id)
                .limit(limit)
            ).all()
            return [to_subscription(r) for r in rows]

    def update(self, org_id: int, sub_id: int, changes: dict[str, Any]) -> tuple[Subscription, str]:
        """Apply a partial update; returns the subscription and a webhook secret if one was just made."""
        with Session(self.engine) as session, session.begin():
            row = self._row(session, org_id, sub_id)
            spec = replace(_spec(row), **changes)
            spec = self._validate(spec)
            if "webhook_url" in changes:  # setting the URL again re-enables a disabled endpoint
                row.webhook_disabled = ""
            _apply(row, spec)
            secret = ""
            if Channel.WEBHOOK in spec.channels and not row.webhook_secret:
                secret = row.webhook_secret = new_webhook_secret()
            row.updated_at = datetime.now(UTC)
            session.flush()
            return to_subscription(row), secret

    def delete(self, org_id: int, sub_id: int) -> None:
        with Session(self.engine) as session, session.begin():
            session.delete(self._row(session, org_id, sub_id))

    def rotate(self, org_id: int, sub_id: int, grace: timedelta = DEFAULT_ROTATION_GRACE) -> tuple[str, str]:
        """New feed token (the old one stops working) and, if it has a webhook, a new webhook
        secret; the old secret keeps signing alongside the new one for ``grace`` (0: stops now)."""
        with Session(self.engine) as session, session.begin():
            row = self._row(session, org_id, sub_id)
            token = new_feed_token()
            row.feed_token_hash = hash_token(token)
            secret = ""
            if row.webhook_secret or Channel.WEBHOOK in (row.channels or ()):
                secret = self._new_secret(row, grace)
            row.updated_at = datetime.now(UTC)
            return token, secret

    def rotate_webhook_secret(
        self, org_id: int, sub_id: int, grace: timedelta = DEFAULT_ROTATION_GRACE
    ) -> tuple[str, datetime | None]:
        """A new webhook secret; messages carry signatures by both secrets until the returned
        time (``None``: the grace is 0 and the old secret stops at once). The feed token stays."""
        with Session(self.engine) as session, session.begin():
            row = self._row(session, org_id, sub_id)
            if not (row.webhook_secret or Channel.WEBHOOK in (row.channels or ())):
                raise ConflictError(
                    f"subscription {sub_id} has no webhook", "add the webhook channel and a webhook_url first"
                )
            secret = self._new_secret(row, grace)
            row.updated_at = datetime.now(UTC)
            until = row.webhook_previous_until
            return secret, utc(until) if until is not None and row.webhook_secret_previous else None

    @staticmethod
    def _new_secret(row: SubscriptionRow, grace: timedelta) -> str:
        if not timedelta(0) <= grace <= MAX_ROTATION_GRACE:
            raise InvalidInputError(
                f"a rotation grace of {grace} is out of range", "give between 0 seconds and 30 days"
            )
        now = datetime.now(UTC)
        previous = row.webhook_secret if grace > timedelta(0) else ""
        row.webhook_secret_previous = previous
        row.webhook_previous_until = now + grace if previous else None
        row.webhook_secret = new_webhook_secret()
        return row.webhook_secret

    def notices(self, org_id: int, sub_id: int, after: int = 0, limit: int = 100) -> list[NoticeRow]:
        """What the owner should know: dead deliveries, a disabled endpoint (oldest first)."""
        return self._page(NoticeRow, org_id, sub_id, after, limit)

    def replay(self, org_id: int, sub_id: int, event_id: int) -> OutboxRow:
        """Queue a dead outbox row again with a fresh count of attempts, due now."""
        now = datetime.now(UTC)
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            sub = self._row(session, org_id, sub_id)
            row = session.get(OutboxRow, event_id)
            if row is None or row.subscription_id != sub_id:
                raise NotFoundError(
                    f"no event {event_id} in subscription {sub_id}",
                    f"list them with GET /v1/orgs/{{org}}/subscriptions/{sub_id}/events",
                )
            if row.status != "dead":
                raise ConflictError(f"event {event_id} is {row.status}", "only dead events are replayed")
            if row.channel == Channel.WEBHOOK and sub.webhook_disabled:
                raise ConflictError(
                    f"the webhook endpoint of subscription {sub_id} is disabled: {sub.webhook_disabled}",
                    "set webhook_url again (PATCH the subscription), then replay",
                )
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == event_id, OutboxRow.status == "dead")
                .values(status="pending", attempts=0, next_attempt_at=now, last_error="", claimed_until=None)
            )
            session.refresh(row)
            session.expunge(row)
            return row

    def by_feed_token(self, token: str) -> Subscription | None:
        """The subscription a feed token opens (looked up by hash; the token itself is not stored)."""
        with Session(self.engine) as session:
            row = session.scalar(
                select(SubscriptionRow).where(SubscriptionRow.feed_token_hash == hash_token(token))
            )
            return None if row is None else to_subscription(row)

    def signing_key(self, sub_id: int) -> tuple[Subscription, str] | None:
        """A subscription found by id alone, with the key its unsubscribe links are signed with
        (a random key of its own; see tracker.digests.unsubscribe). Only for checking such a
        link: whoever holds a valid one acts on this subscription without an API key."""
        with Session(self.engine) as session:
            row = session.get(SubscriptionRow, sub_id)
            if row is None or not row.unsubscribe_key:
                return None
            return to_subscription(row), row.unsubscribe_key

    def stop_email(self, sub_id: int) -> Subscription:
        """Unsubscribe the email recipients: the email channel is switched off (its queued
        messages are then cancelled by the dispatcher), and a subscription left with no channel
        becomes inactive. Feeds and webhooks of the subscription go on. Idempotent."""
        with Session(self.engine) as session, session.begin():
            row = session.get(SubscriptionRow, sub_id)
            if row is None:
                raise NotFoundError(f"no subscription {sub_id}", "it may have been deleted")
            channels = [c for c in row.channels or () if c != Channel.EMAIL]
            if channels != list(row.channels or ()) or (row.active and not channels):
                row.channels = channels
                row.active = bool(channels) and row.active
                row.updated_at = datetime.now(UTC)
            session.flush()
            return to_subscription(row)

    def feed_entries(self, sub_id: int, limit: int = 100) -> list[FeedEntryRow]:
        """Newest entries first (Atom readers expect that order)."""
        with Session(self.engine) as session:
            rows = session.scalars(
                select(FeedEntryRow)
                .where(FeedEntryRow.subscription_id == sub_id)
                .order_by(FeedEntryRow.id.desc())
                .limit(limit)
            ).all()
            session.expunge_all()
            return list(rows)

    def outbox(self, org_id: int, sub_id: int, after: int = 0, limit: int = 100) -> list[OutboxRow]:
        return self._page(OutboxRow, org_id, sub_id, after, limit)

    def deliveries(self, org_id: int, sub_id: int, after: int = 0, limit: int = 100) -> list[DeliveryRow]:
        return self._page(DeliveryRow, org_id, sub_id, after, limit)
