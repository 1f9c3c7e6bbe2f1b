"""Digests end to end with real parts: an SMTP server (aiosmtpd) and an HTTP receiver on
loopback, the feed read back through the API with feedparser, webhook signatures verified by
the ``standardwebhooks`` library as a receiver would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import feedparser
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from tests.support.api_world import World, client_for, land_v2, seed_keys, seed_orgs, seed_v1, store_impacts
from tests.support.mailbox import Mailbox, free_port
from tests.support.webhook_receiver import Receiver
from tracker.cli.main import cli
from tracker.digests.dispatcher import Dispatcher
from tracker.digests.events import enqueue
from tracker.digests.model import Cadence, Channel, SubscriptionSpec
from tracker.digests.notifiers import SmtpEmailNotifier
from tracker.digests.retry import RetryPlan
from tracker.digests.webhooks import HttpWebhookNotifier
from tracker.storage.subscriptions import SubscriptionStore
from tracker.storage.tables.api import DeliveryRow, FeedEntryRow, OutboxRow

# -- real servers on loopback ------------------------------------------------------------------
_free_port = free_port


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def dispatcher(engine: Engine, smtp: Mailbox, webhook: HttpWebhookNotifier, **kw: Any) -> Dispatcher:
    return Dispatcher(
        engine,
        email=SmtpEmailNotifier("127.0.0.1", smtp.port),
        webhook=webhook,
        sender="tracker@test.invalid",
        public_url="http://testserver",
        tag_authority="tracker.test",
        **kw,
    )


def verify(secret: str, headers: dict[str, str], body: bytes) -> Any:
    """Standard Webhooks verification by the spec's library, as a receiver does it."""
    return Webhook(secret).verify(body, headers)


@pytest.fixture
def webhook() -> Iterator[HttpWebhookNotifier]:
    notifier = HttpWebhookNotifier(timeout=5, allow_private=True)  # the receiver is on loopback
    yield notifier
    notifier.close()


def _text(msg: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): str(p.get_content()) for p in msg.walk() if not p.is_multipart()}


# -- the end-to-end scenario -------------------------------------------------------------------
def test_new_version_reaches_subscriber_exactly_once(
    db_env: Engine,
    smtp: Mailbox,
    receiver: Receiver,
    webhook: HttpWebhookNotifier,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = db_env
    world = World(engine)
    seed_v1(engine)
    seed_orgs(engine, world)
    seed_keys(engine, world)
    client = client_for(engine, webhook_allow_private=True)  # the receiver is on loopback
    response = client.post(
        "/v1/orgs/acme/subscriptions",
        headers=world.auth("acme:write"),
        json={
            "name": "AI security",
            "sources": ["demo-std"],
            "channels": ["email", "webhook", "atom"],
            "email_to": ["grc@acme.example"],
            "webhook_url": receiver.url,
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret, feed_url = created["secrets"]["webhook_secret"], created["secrets"]["feed_url"]
    assert secret.startswith("whsec_") and feed_url.startswith("http://testserver/v1/feeds/feed_")
    send = dispatcher(engine, smtp, webhook)
    assert send.run_once().messages_sent == 0  # nothing has changed yet

    diff_id = land_v2(engine)  # a new version lands: diff stored ...
    store_impacts(engine, diff_id)  # ... and the impact stored
    report = send.run_once()
    assert (report.messages_sent, report.failures) == (3, 0)

    assert len(smtp.messages) == 1 and smtp.recipients == [["grc@acme.example"]]
    mail = smtp.messages[0]
    assert mail.get_content_type() == "multipart/alternative"
    parts = _text(mail)
    for needle in ("R-1", "R-3", "R-4", "ACME-1", "ACME-3", "[-should-]{+shall+}"):
        assert needle in parts["text/plain"], needle
    assert ">should</del>" in parts["text/html"] and ">shall</ins>" in parts["text/html"]
    assert "Globex" not in parts["text/plain"] and "G-1" not in parts["text/plain"]

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    verify(secret, headers, body)
    data = json.loads(body)["data"]
    assert data["organisation"] == "acme" and data["new_version"] == "v2"
    assert data["summary"]["changes"] >= 3 and data["affected_controls"] == ["ACME-1", "ACME-3"]
    # a thin message: the full impact is one GET away, with the organisation's key
    impact_path = data["impact_url"].removeprefix("http://testserver")
    full = client.get(impact_path, headers=world.auth("acme:read"))
    assert full.status_code == 200, full.text
    assert "R-4" in full.text and "ACME-3" in full.text
    assert client.get(impact_path, headers=world.auth("globex:admin")).status_code in (403, 404)

    feed_path = feed_url.removeprefix("http://testserver")
    got = client.get(feed_path)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(got.content)
    assert not feed.bozo and len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.id.startswith("tag:tracker.test,") and entry.id.endswith(f":diff:{diff_id}")
    assert "R-1" in entry.summary and "ACME-1" in entry.content[0].value
    # the entry links to the review page, which a feed reader opens without a key
    page = client.get(entry.link.removeprefix("http://testserver"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # an entry written when entries linked to the API is served with the review page
    with Session(engine) as session, session.begin():
        session.execute(update(FeedEntryRow).values(link=f"http://testserver/v1/diffs/{diff_id}"))
    assert feedparser.parse(client.get(feed_path).content).entries[0].link == entry.link
    assert client.get(feed_path, headers={"if-none-match": got.headers["etag"]}).status_code == 304

    # again, through the CLI: nothing more is queued or sent
    monkeypatch.setenv("TRACKER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRACKER_SMTP_PORT", str(smtp.port))
    result = CliRunner().invoke(cli, ["digests", "send", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "queued": 0,
        "messages_sent": 0,
        "events_sent": 0,
        "failures": 0,
        "dead": 0,
    }
    store_impacts(engine, diff_id)  # the impact is recomputed and stored again: still the same event
    assert send.run_once().messages_sent == 0
    assert len(smtp.messages) == 1 and len(receiver.requests) == 1
    again = feedparser.parse(client.get(feed_path).content)
    assert [(e.id, e.updated) for e in again.entries] == [(entry.id, entry.updated)]

    log = client.get(
        f"/v1/orgs/acme/subscriptions/{created['id']}/deliveries", headers=world.auth("acme:read")
    )
    assert sorted(d["channel"] for d in log.json()["items"]) == ["atom", "email", "webhook"]
    foreign = client.get(
        f"/v1/orgs/acme/subscriptions/{created['id']}/deliveries", headers=world.auth("globex:admin")
    )
    assert foreign.status_code == 404

    # unsubscribing from the email (POST to the link, no key, no session) leaves the feed and
    # the webhook running; one-click is only announced for an https link (RFC 8058)
    assert mail["List-Unsubscribe-Post"] is None
    link = str(mail["List-Unsubscribe"]).strip("<>").removeprefix("http://testserver")
    assert client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    after = client.get(f"/v1/orgs/acme/subscriptions/{created['id']}", headers=world.auth("acme:read")).json()
    assert after["active"] is True and sorted(after["channels"]) == ["atom", "webhook"]


# -- failure, retry, crash --------------------------------------------------------------------
def _world(engine: Engine, spec: SubscriptionSpec, org: str = "acme") -> tuple[World, int, str]:
    world = World(engine)
    seed_v1(engine)
    seed_orgs(engine, world)
    seed_keys(engine, world)
    created = SubscriptionStore(engine, allow_private_webhooks=True).create(
        world.orgs[org], spec, since=datetime.now(UTC) - timedelta(days=1)
    )
    world.diff_id = land_v2(engine)
    store_impacts(engine, world.diff_id)
    return world, created.subscription.id, created.webhook_secret


def test_webhook_retried_with_backoff_then_given_up(
    sqlite_engine: Engine, smtp: Mailbox, receiver: Receiver, webhook: HttpWebhookNotifier
) -> None:
    _, _, secret = _world(
        sqlite_engine, SubscriptionSpec(channels=(Channel.WEBHOOK,), webhook_url=receiver.url)
    )
    receiver.statuses = [500, 503]
    clock = Clock()
    plan = RetryPlan(schedule=(timedelta(seconds=30), timedelta(seconds=60)), jitter=0)
    send = dispatcher(sqlite_engine, smtp, webhook, clock=clock, retry=plan)
    first = send.run_once()
    assert (first.messages_sent, first.failures) == (0, 1)
    assert send.dispatch().failures == 0  # not due again before the backoff
    clock.advance(timedelta(seconds=31))
    assert send.dispatch().failures == 1  # second attempt: 503
    clock.advance(timedelta(seconds=31))
    assert send.dispatch().failures == 0  # backoff doubled to 60 s
    clock.advance(timedelta(seconds=30))
    assert send.dispatch().messages_sent == 1
    ids = {h["webhook-id"] for h, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # the same message id on every retry
    for headers, body in receiver.requests:
        verify(secret, headers, body)
    with Session(sqlite_engine) as session:
        log = [
            (d.status, d.response_code) for d in session.scalars(select(DeliveryRow).order_by(DeliveryRow.id))
        ]
    assert log == [("failed", 500), ("failed", 503), ("sent", 200)]


def test_dead_after_max_attempts(sqlite_engine: Engine, smtp: Mailbox, webhook: HttpWebhookNotifier) -> None:
    dead_url = f"http://127.0.0.1:{_free_port()}/nobody-listens"
    _, sub_id, _ = _world(sqlite_engine, SubscriptionSpec(channels=(Channel.WEBHOOK,), webhook_url=dead_url))
    clock = Clock()
    send = dispatcher(sqlite_engine, smtp, webhook, clock=clock, retry=RetryPlan((timedelta(minutes=30),)))
    send.run_once()
    clock.advance(timedelta(hours=1))
    assert send.dispatch().dead == 1
    clock.advance(timedelta(days=1))
    assert send.dispatch().failures == 0
    with Session(sqlite_engine) as session:
        row = session.scalar(select(OutboxRow).where(OutboxRow.subscription_id == sub_id))
        assert row is not None and row.status == "dead" and "failed" in row.last_error


def test_crash_after_claim_is_resumed_after_the_lease(
    sqlite_engine: Engine, smtp: Mailbox, webhook: HttpWebhookNotifier
) -> None:
    spec = SubscriptionSpec(channels=(Channel.EMAIL, Channel.ATOM), email_to=("a@acme.example",))
    _world(sqlite_engine, spec)
    clock = Clock()
    crashed = dispatcher(sqlite_engine, smtp, webhook, clock=clock)
    assert enqueue(sqlite_engine, clock()) == 2
    _, claimed = crashed.claim()  # ... and the process dies before sending
    assert len(claimed) == 2
    restarted = dispatcher(sqlite_engine, smtp, webhook, clock=clock)
    assert restarted.run_once().messages_sent == 0  # still leased to the dead process
    clock.advance(timedelta(minutes=6))
    assert restarted.run_once().messages_sent == 2
    assert restarted.run_once().messages_sent == 0
    assert len(smtp.messages) == 1


def test_daily_cadence_holds_email_until_midnight(
    sqlite_engine: Engine, smtp: Mailbox, webhook: HttpWebhookNotifier
) -> None:
    spec = SubscriptionSpec(
        channels=(Channel.EMAIL, Channel.ATOM), email_to=("a@acme.example",), cadence=Cadence.DAILY
    )
    _world(sqlite_engine, spec)
    clock = Clock()
    send = dispatcher(sqlite_engine, smtp, webhook, clock=clock)
    assert send.run_once().messages_sent == 1  # the feed entry at once
    assert smtp.messages == []
    clock.now = Cadence.DAILY.due(clock.now) + timedelta(seconds=1)
    assert send.run_once().messages_sent == 1 and len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (SubscriptionSpec(kinds=("added",)), {"R-4"}),
        (SubscriptionSpec(control_ids=("acme-3",)), {"R-3"}),
        (SubscriptionSpec(control_tags=("logging",)), {"R-1"}),
        (SubscriptionSpec(tags=("obligation_strengthened",)), {"R-1"}),
        (SubscriptionSpec(substantive_only=True), {"R-1", "R-3", "R-4"}),
        (SubscriptionSpec(kinds=("merged",)), set()),
        (SubscriptionSpec(sources=("another-source",)), None),
    ],
)
def test_filters_decide_what_is_queued(
    sqlite_engine: Engine, spec: SubscriptionSpec, expected: set[str] | None
) -> None:
    _, sub_id, _ = _world(sqlite_engine, spec)
    enqueue(sqlite_engine)
    enqueue(sqlite_engine)  # idempotent
    with Session(sqlite_engine) as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.subscription_id == sub_id)).all()
        if expected is None:
            assert rows == []
        elif not expected:
            assert [(r.channel, r.status) for r in rows] == [("skipped", "skipped")]
        else:
            assert len(rows) == 1 and rows[0].status == "pending"
            ids = {i for c in rows[0].payload["changes"] for i in c["new_ids"] + c["old_ids"]}
            assert ids == expected
        assert session.scalar(select(func.count()).select_from(DeliveryRow)) == 0


def test_each_organisation_gets_only_its_own_impact(sqlite_engine: Engine) -> None:
    _, sub_id, _ = _world(sqlite_engine, SubscriptionSpec(), org="globex")
    enqueue(sqlite_engine)
    with Session(sqlite_engine) as session:
        row = session.scalar(select(OutboxRow).where(OutboxRow.subscription_id == sub_id))
        assert row is not None
        assert row.payload["organisation"] == "globex"
        assert row.payload["affected_controls"] == ["G-1"]
