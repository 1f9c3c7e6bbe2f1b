"""Models of subscriptions, their queued events (digests) and delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.timeutil import Utc
from tracker.diff.types import Kind, Tag
from tracker.digests.model import Cadence, Channel, Subscription
from tracker.domain.inputs import SLUG_PATTERN

SourceSlug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s<>,;]{1,64}@[^@\s<>,;]{1,253}$", max_length=254)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"\S")]
WebhookUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2000)]


def _since(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} falls outside years 1-9999 in UTC") from None


Since = Annotated[datetime, AfterValidator(_since)]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200, examples=["AI security standards"])
    sources: list[SourceSlug] = Field(default=[], max_length=200, examples=[["nist-csf", "owasp-top10-llm"]])
    kinds: list[Kind] = Field(default=[], max_length=20, examples=[["added", "modified", "removed"]])
    substantive_only: bool = Field(default=False, description="leave out changes judged editorial")
    tags: list[Tag] = Field(default=[], max_length=20, examples=[["obligation_strengthened"]])
    control_ids: list[Name] = Field(
        default=[], max_length=5000, description="only changes affecting these controls"
    )
    control_tags: list[Name] = Field(
        default=[], max_length=100, description="only changes affecting controls tagged so"
    )
    cadence: Cadence = Cadence.IMMEDIATE
    channels: list[Channel] = Field(default=[Channel.ATOM], min_length=1, max_length=3)
    email_to: list[Email] = Field(default=[], max_length=50, examples=[["grc@example.org"]])
    webhook_url: WebhookUrl | None = Field(default=None, examples=["https://hooks.example.org/tracker"])
    active: bool = True
    since: Since | None = Field(
        default=None,
        examples=["2025-01-01T00:00:00Z"],
        description=(
            "deliver the changes stored from this time on (naive means UTC); a past time queues "
            "the events of every diff archived since then at once, so the subscription does not "
            "start empty. Default: now"
        ),
    )


class SubscriptionPatch(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    sources: list[SourceSlug] | None = Field(default=None, max_length=200)
    kinds: list[Kind] | None = Field(default=None, max_length=20)
    substantive_only: bool | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    control_ids: list[Name] | None = Field(default=None, max_length=5000)
    control_tags: list[Name] | None = Field(default=None, max_length=100)
    cadence: Cadence | None = None
    channels: list[Channel] | None = Field(default=None, min_length=1, max_length=3)
    email_to: list[Email] | None = Field(default=None, max_length=50)
    webhook_url: WebhookUrl | None = None
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The given fields as :class:`SubscriptionSpec` keyword arguments."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump(exclude_unset=True).items():
            if value is None and name not in ("webhook_url",):
                continue
            if name == "webhook_url":
                out[name] = value or ""
            elif isinstance(value, list):
                out[name] = tuple(value)
            else:
                out[name] = value
        return out


class SubscriptionOut(BaseModel):
    id: int
    name: str
    sources: list[str]
    kinds: list[str]
    substantive_only: bool
    tags: list[str]
    control_ids: list[str]
    control_tags: list[str]
    cadence: Cadence
    channels: list[Channel]
    email_to: list[str]
    webhook_url: str | None
    has_webhook_secret: bool
    webhook_disabled: str = Field(
        default="", description="why the webhook endpoint stopped receiving (410 Gone); empty while live"
    )
    previous_secret_until: Utc | None = Field(
        default=None, description="during a secret rotation: the old secret also signs until then"
    )
    active: bool
    since: Utc = Field(description="events stored from this time on are delivered")
    created_at: Utc
    updated_at: Utc

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        spec = sub.spec
        return cls(
            id=sub.id,
            name=spec.name,
            sources=list(spec.sources),
            kinds=list(spec.kinds),
            substantive_only=spec.substantive_only,
            tags=list(spec.tags),
            control_ids=list(spec.control_ids),
            control_tags=list(spec.control_tags),
            cadence=spec.cadence,
            channels=list(spec.channels),
            email_to=list(spec.email_to),
            webhook_url=spec.webhook_url or None,
            has_webhook_secret=sub.has_webhook_secret,
            webhook_disabled=sub.webhook_disabled,
            previous_secret_until=sub.previous_secret_until,
            active=spec.active,
            since=sub.since,
            created_at=sub.created_at,
            updated_at=sub.updated_at,
        )


class Secrets(BaseModel):
    """Shown once: on creation, on rotation, or when a webhook is first added."""

    feed_token: str | None = Field(default=None, examples=["feed_Qm9v..."])
    feed_url: str | None = Field(default=None, examples=["http://127.0.0.1:8000/v1/feeds/feed_Qm9v....atom"])
    webhook_secret: str | None = Field(
        default=None,
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        description="Standard Webhooks secret",
    )
    previous_secret_until: Utc | None = Field(
        default=None,
        description="messages are signed with the previous secret as well until then (rotation grace)",
    )


class SubscriptionCreated(SubscriptionOut):
    secrets: Secrets


class EventOut(BaseModel):
    """One queued digest event on one channel, with the snapshot that is (or was) sent."""

    id: int
    event_key: str = Field(examples=["diff:12"])
    channel: str = Field(examples=["email"], description="email, webhook, atom, or skipped (filtered out)")
    status: str = Field(examples=["sent"], description="pending, sent, dead, cancelled or skipped")
    attempts: int
    created_at: Utc
    due_at: Utc
    next_attempt_at: Utc
    sent_at: Utc | None = None
    last_error: str = ""
    payload: dict[str, Any]


class DeliveryOut(BaseModel):
    id: int
    channel: str
    message_id: str = Field(examples=["msg_42"])
    event_keys: list[str]
    attempt: int
    status: str = Field(examples=["sent"], description="sent or failed")
    response_code: int | None = None
    error: str = ""
    duration_ms: int
    attempted_at: Utc


class NoticeOut(BaseModel):
    """Something the subscription's owner should act on: a dead delivery, a disabled endpoint."""

    id: int
    kind: str = Field(examples=["delivery_dead"], description="delivery_dead or webhook_disabled")
    event_id: int | None = Field(default=None, description="the outbox event concerned (replay it)")
    message: str
    created_at: Utc


class TestSendOut(BaseModel):
    """The receiver's answer to a ``subscription.test`` message (nothing is queued or retried)."""

    msg_id: str
    ok: bool
    status: int | None = Field(default=None, description="the receiver's HTTP status, if it answered")
    error: str = ""
    signatures: int = Field(description="secrets that signed it: 2 during a rotation's grace period")
