"""Tables of the API and digests: API keys, subscriptions, the digest outbox,
its delivery log and the immutable Atom feed entries. Migration: ``0004_api``.

Secrets: API keys and feed tokens are stored as SHA-256 hashes of high-entropy random
tokens (shown once); webhook secrets are stored as given, because the sender must sign with
them (Standard Webhooks uses a shared symmetric secret).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.storage.tables import orgs  # noqa: F401  (organisations, the target of org_id)
from tracker.storage.tables.base import Base


class ApiKeyRow(Base):
    """One API key. ``key_id`` is the public half printed in the token; the secret is hashed."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scope: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PageSessionRow(Base):
    """A signed-in page session. The cookie is signed, but only a live row here makes it a
    session: signing out sets ``ended_at``, so a copied cookie stops working at once.
    Migration: ``0009_page_sessions``."""

    __tablename__ = "page_sessions"
    sid: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SubscriptionRow(Base):
    """What an organisation follows and how it wants to hear about it.

    Empty filter lists mean "any". ``tags`` are change tags (``obligation_strengthened``);
    ``control_ids`` and ``control_tags`` select the organisation's own controls. ``since``
    bounds which stored events are enqueued, so a new subscription does not replay the
    whole archive.
    """

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    sources: Mapped[Any] = mapped_column(JSON, default=list)
    kinds: Mapped[Any] = mapped_column(JSON, default=list)
    substantive_only: Mapped[bool] = mapped_column(Boolean, default=False)
    control_ids: Mapped[Any] = mapped_column(JSON, default=list)
    tags: Mapped[Any] = mapped_column(JSON, default=list)
    control_tags: Mapped[Any] = mapped_column(JSON, default=list)
    cadence: Mapped[str] = mapped_column(String(16), default="immediate")
    channels: Mapped[Any] = mapped_column(JSON, default=list)
    email_to: Mapped[Any] = mapped_column(JSON, default=list)
    webhook_url: Mapped[str] = mapped_column(Text, default="")
    webhook_secret: Mapped[str] = mapped_column(String(128), default="")
    # after a rotation the old secret signs too (a second signature) until the grace ends,
    # so receivers can switch keys without losing a message (0010_webhooks)
    webhook_secret_previous: Mapped[str] = mapped_column(String(128), default="")
    webhook_previous_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # why the webhook endpoint stopped receiving (410 Gone); "" while it is live
    webhook_disabled: Mapped[str] = mapped_column(Text, default="")
    feed_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # signs the unsubscribe links of its emails (0011_unsubscribe); never shown to anyone
    unsubscribe_key: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(Base):
    """One event to deliver to one subscription over one channel.

    The unique key (subscription, event, channel) makes enqueueing idempotent: the same
    event can never be queued, hence sent, twice on a channel. ``payload`` is the event
    snapshot taken from the stored diff and impact when queued; sending never recomputes it.
    A row is claimed (``claim_token``, ``claimed_until``) before sending so that two
    dispatchers do not send it at once; an expired claim is picked up again after a crash.
    """

    __tablename__ = "digest_outbox"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_key", "channel", name="uq_digest_outbox_event"),
        Index("ix_digest_outbox_pending", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_key: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivery_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class DeliveryRow(Base):
    """The delivery log: one row per attempt to send one message (which may carry several events)."""

    __tablename__ = "digest_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(200))
    event_keys: Mapped[Any] = mapped_column(JSON, default=list)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))  # sent, failed
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FeedEntryRow(Base):
    """One immutable Atom entry per (subscription, event); written once, never updated."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("subscription_id", "event_key", name="uq_feed_entries_event"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    event_key: Mapped[str] = mapped_column(String(128))
    entry_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    content_html: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NoticeRow(Base):
    """What the subscription's owner should know about its deliveries: a message parked as
    dead (with how to replay it), an endpoint disabled by 410 Gone. Read through the API
    (``GET .../subscriptions/{id}/notices``) and ``tracker subscriptions notices``."""

    __tablename__ = "subscription_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # delivery_dead, webhook_disabled
    outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
