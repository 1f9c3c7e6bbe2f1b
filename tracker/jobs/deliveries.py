"""Deliveries on request: replaying a dead one (the outbox row and its job in the ledger,
queued again together) and a test message to check a receiver.

A message parked as dead (attempts used up, or an endpoint that was disabled) stays in the
outbox with its payload as it was queued; replaying puts it back to ``pending`` with a fresh
count of attempts, and queues its ``deliver`` job (dead in the ledger too, or missing for a
row queued by ``tracker digests send``) so that a worker sends it now.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tracker.digests.notifiers import DeliveryError
from tracker.digests.webhooks import SUBSCRIPTION_TEST, TestData, TestMessage, encode, signed_headers
from tracker.domain.errors import ConflictError
from tracker.jobs.args import DeliverArgs
from tracker.settings import Settings
from tracker.storage.jobs import DEAD, DONE, JobStore
from tracker.storage.subscriptions import SubscriptionStore, live_webhook_secrets
from tracker.storage.tables.api import OutboxRow, SubscriptionRow
from tracker.storage.tables.orgs import OrganisationRow


def replay_delivery(engine: Engine, settings: Settings, org_id: int, sub_id: int, event_id: int) -> OutboxRow:
    from tracker.jobs.queue import wake

    row = SubscriptionStore(engine).replay(org_id, sub_id, event_id)
    args = DeliverArgs(row.subscription_id, row.channel, row.event_key)
    jobs = JobStore(engine)
    job = jobs.by_key(args.key)
    if job is None:
        jobs.add([args.spec()])
    elif job.status in (DEAD, DONE):
        jobs.replay(job.id)
    wake(engine, settings, args.key)
    return row


@dataclass(frozen=True)
class TestSend:
    """What a receiver made of a ``subscription.test`` message."""

    msg_id: str
    ok: bool
    status: int | None
    error: str
    signatures: int  # how many secrets signed it (2 during a rotation's grace)


def send_test(engine: Engine, settings: Settings, org_id: int, sub_id: int) -> TestSend:
    """Sign and POST a ``subscription.test`` message now, outside the outbox (nothing is
    queued or retried), so an owner can check a receiver and its secret(s)."""
    from tracker.jobs.stages import webhook_notifier

    with Session(engine) as session:
        store = SubscriptionStore(engine)
        sub = store.get(org_id, sub_id)
        row = session.get(SubscriptionRow, sub_id)
        assert row is not None
        if not sub.spec.webhook_url or not row.webhook_secret:
            raise ConflictError(f"subscription {sub_id} has no webhook", "set webhook_url first (PATCH)")
        now = datetime.now(UTC)
        secrets = live_webhook_secrets(row, now)
        org = session.scalar(select(OrganisationRow.slug).where(OrganisationRow.id == org_id)) or ""
    msg_id = f"msg_test_{sub_id}_{uuid.uuid4().hex[:12]}"
    body = encode(TestMessage(SUBSCRIPTION_TEST, now.isoformat(), TestData(org, sub_id)))
    notifier = webhook_notifier(settings)
    try:
        status = notifier.post(sub.spec.webhook_url, signed_headers(msg_id, now, body, secrets), body)
    except DeliveryError as exc:
        return TestSend(msg_id, False, exc.status, str(exc), len(secrets))
    finally:
        notifier.close()
    return TestSend(msg_id, True, status, "", len(secrets))
