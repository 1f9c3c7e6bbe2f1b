"""Subscriptions and the values the digest builders consume."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta


class Cadence(enum.StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"

    def due(self, at: datetime) -> datetime:
        """When an event queued at ``at`` is due: now, next midnight UTC, or next Monday 00:00 UTC."""
        if self is Cadence.IMMEDIATE:
            return at
        midnight = at.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        if self is Cadence.DAILY:
            return midnight
        return midnight + timedelta(days=(7 - midnight.weekday()) % 7)


class Channel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    ATOM = "atom"


@dataclass(frozen=True)
class SubscriptionSpec:
    """What a subscriber asks for. Empty tuples mean "any"."""

    name: str = ""
    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    substantive_only: bool = False
    tags: tuple[str, ...] = ()
    control_ids: tuple[str, ...] = ()
    control_tags: tuple[str, ...] = ()
    cadence: Cadence = Cadence.IMMEDIATE
    channels: tuple[Channel, ...] = (Channel.ATOM,)
    email_to: tuple[str, ...] = ()
    webhook_url: str = ""
    active: bool = True


@dataclass(frozen=True)
class Subscription:
    id: int
    org_id: int
    spec: SubscriptionSpec
    since: datetime
    created_at: datetime
    updated_at: datetime
    has_webhook_secret: bool = False
    webhook_disabled: str = ""  # why the endpoint stopped receiving (410 Gone); "" while live
    previous_secret_until: datetime | None = None  # a rotation's old secret signs until then


@dataclass(frozen=True)
class Created:
    """A new subscription with the secrets shown only now."""

    subscription: Subscription
    feed_token: str
    webhook_secret: str = ""


@dataclass(frozen=True)
class FeedMeta:
    """What an Atom feed says about itself."""

    feed_id: str
    title: str
    self_url: str
    updated: datetime
    author: str = "AI Standards Tracker"
    links: tuple[str, ...] = field(default_factory=tuple)
