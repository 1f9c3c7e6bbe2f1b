"""What the owner of a subscription is told about its deliveries, written in the dispatcher's
transaction (so a notice exists exactly when its cause was recorded).

A recorded notice, read through the API and ``tracker subscriptions notices``, rather than an
email: a webhook-only subscription may have no address, and a notice cannot itself be lost to
a mail outage (docs/webhooks.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from tracker.storage.tables.api import NoticeRow, OutboxRow, SubscriptionRow

DELIVERY_DEAD = "delivery_dead"
WEBHOOK_DISABLED = "webhook_disabled"


def notice_dead(
    session: Session, sub_id: int, row: OutboxRow, channel: str, attempts: int, error: str, now: datetime
) -> None:
    """A message is parked as dead: which, why, and how to send it again."""
    text = (
        f"{channel} delivery of {row.event_key} (event {row.id}) given up after {attempts} "
        f"attempt(s): {error[:500]}. Replay it with POST .../subscriptions/{sub_id}/events/"
        f"{row.id}/replay or `tracker subscriptions replay`."
    )
    session.add(
        NoticeRow(subscription_id=sub_id, kind=DELIVERY_DEAD, outbox_id=row.id, message=text, created_at=now)
    )


def disable_endpoint(session: Session, sub_id: int, why: str, now: datetime) -> None:
    """The receiver answered 410 Gone: no more webhooks until ``webhook_url`` is set again."""
    session.execute(update(SubscriptionRow).where(SubscriptionRow.id == sub_id).values(webhook_disabled=why))
    text = f"webhook endpoint disabled: {why}. Set webhook_url again (PATCH) to enable it."
    session.add(NoticeRow(subscription_id=sub_id, kind=WEBHOOK_DISABLED, message=text, created_at=now))
