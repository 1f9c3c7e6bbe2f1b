"""Webhooks to the Standard Webhooks spec, against a real receiver on loopback, verified by
the spec's own ``standardwebhooks`` library as a receiver would: rotation (both secrets
verify during the grace), 410 Gone disables the endpoint, 429/503 Retry-After moves the next
attempt (computed, not slept for), a dead delivery leaves a notice and can be replayed."""

from __future__ import annotations

import json
import random
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.api_world import World, client_for, land_v2, seed_keys, seed_orgs, seed_v1, store_impacts
from tests.support.webhook_receiver import Receiver
from tracker.digests.dispatcher import Dispatcher
from tracker.digests.retry import RetryPlan, retry_after
from tracker.digests.webhooks import HttpWebhookNotifier, signed_headers
from tracker.storage.tables.api import OutboxRow


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _setup(engine: Engine, url: str, tmp_path: Path) -> tuple[World, Any, dict[str, Any]]:
    world = World(engine)
    seed_v1(engine)
    seed_orgs(engine, world)
    seed_keys(engine, world)
    # the receiver is on loopback; data_dir keeps the embedded job queue in the test's folder
    client = client_for(engine, webhook_allow_private=True, data_dir=tmp_path)
    created = client.post(
        "/v1/orgs/acme/subscriptions",
        headers=world.auth("acme:write"),
        json={"name": "hooks", "sources": ["demo-std"], "channels": ["webhook"], "webhook_url": url},
    )
    assert created.status_code == 201, created.text
    return world, client, created.json()


def _land(engine: Engine) -> int:
    diff_id = land_v2(engine)
    store_impacts(engine, diff_id)
    return diff_id


def _dispatcher(engine: Engine, clock: Clock, **kw: Any) -> Dispatcher:
    notifier = HttpWebhookNotifier(timeout=5, allow_private=True)
    return Dispatcher(engine, webhook=notifier, public_url="http://testserver", clock=clock, **kw)


def _row(engine: Engine, sub_id: int) -> OutboxRow:
    with Session(engine) as session:
        row = session.scalar(select(OutboxRow).where(OutboxRow.subscription_id == sub_id))
        assert row is not None
        session.expunge(row)
        return row


def test_signatures_match_the_spec_reference_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example of the specification
    when = datetime.fromtimestamp(1614265330, UTC)
    headers = signed_headers("msg_p5jXN8AQM9LWM0D4loKWxJek", when, b'{"test": 2432232314}', [secret])
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330"
    with pytest.raises(ValueError, match="secret"):
        signed_headers("m", when, b"", [])


def test_rotation_signs_with_both_secrets_during_the_grace(
    sqlite_engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    world, client, sub = _setup(sqlite_engine, receiver.url, tmp_path)
    old = sub["secrets"]["webhook_secret"]
    base = f"/v1/orgs/acme/subscriptions/{sub['id']}"
    rotated = client.post(
        f"{base}/rotate-webhook-secret?grace_seconds=3600", headers=world.auth("acme:write")
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["webhook_secret"]
    assert new != old and rotated.json()["previous_secret_until"] is not None
    _land(sqlite_engine)
    assert _dispatcher(sqlite_engine, Clock()).run_once().messages_sent == 1
    [(headers, body)] = receiver.requests
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a receiver holding either secret accepts the message
        payload = Webhook(secret).verify(body, headers)
        assert payload["type"] == "impact.changed" and payload["data"]["organisation"] == "acme"
    # a rotation without grace: only the newest secret signs from now on
    third = client.post(f"{base}/rotate-webhook-secret?grace_seconds=0", headers=world.auth("acme:write"))
    assert third.json()["previous_secret_until"] is None
    sent = client.post(f"{base}/test", headers=world.auth("acme:write")).json()
    assert sent["ok"] and sent["signatures"] == 1
    headers, body = receiver.requests[-1]
    assert Webhook(third.json()["webhook_secret"]).verify(body, headers)["type"] == "subscription.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body, headers)
    too_long = client.post(
        f"{base}/rotate-webhook-secret?grace_seconds=99999999", headers=world.auth("acme:write")
    )
    assert too_long.status_code == 422


def test_410_gone_disables_the_endpoint_until_its_url_is_set_again(
    sqlite_engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    world, client, sub = _setup(sqlite_engine, receiver.url, tmp_path)
    receiver.statuses = [410]
    _land(sqlite_engine)
    report = _dispatcher(sqlite_engine, Clock()).run_once()
    assert (report.failures, report.dead) == (1, 1) and len(receiver.requests) == 1
    base = f"/v1/orgs/acme/subscriptions/{sub['id']}"
    got = client.get(base, headers=world.auth("acme:read")).json()
    assert "410 Gone" in got["webhook_disabled"]
    notices = client.get(f"{base}/notices", headers=world.auth("acme:read")).json()["items"]
    assert {n["kind"] for n in notices} == {"webhook_disabled", "delivery_dead"}
    event_id = next(n["event_id"] for n in notices if n["kind"] == "delivery_dead")
    # no replay to a disabled endpoint: 409 naming the fix
    refused = client.post(f"{base}/events/{event_id}/replay", headers=world.auth("acme:write"))
    assert refused.status_code == 409 and "webhook_url" in refused.text
    patched = client.patch(base, headers=world.auth("acme:write"), json={"webhook_url": receiver.url})
    assert patched.status_code == 200 and patched.json()["webhook_disabled"] == ""
    replayed = client.post(f"{base}/events/{event_id}/replay", headers=world.auth("acme:write"))
    assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
    assert _dispatcher(sqlite_engine, Clock()).dispatch().messages_sent == 1
    assert Webhook(sub["secrets"]["webhook_secret"]).verify(*reversed(receiver.requests[-1]))


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_attempt(
    sqlite_engine: Engine, receiver: Receiver, tmp_path: Path, status: int
) -> None:
    _, _, sub = _setup(sqlite_engine, receiver.url, tmp_path)
    clock = Clock()
    # seconds for 429, an HTTP date for 503: both forms of RFC 9110
    asked = (
        {"retry-after": "120"}
        if status == 429
        else {"retry-after": format_datetime(clock.now + timedelta(minutes=45), usegmt=True)}
    )
    receiver.statuses, receiver.answer_headers = [status], [asked]
    _land(sqlite_engine)
    send = _dispatcher(sqlite_engine, clock, retry=RetryPlan(jitter=0))
    assert send.run_once().failures == 1
    row = _row(sqlite_engine, sub["id"])
    wait = row.next_attempt_at.replace(tzinfo=UTC) - clock.now
    expected = timedelta(seconds=120) if status == 429 else timedelta(minutes=45)
    # the schedule alone would retry after 5 s; the receiver asked for longer
    assert abs(wait - expected) <= timedelta(seconds=1), wait
    assert row.status == "pending" and row.attempts == 1
    assert send.dispatch().failures == 0 and len(receiver.requests) == 1  # not due yet


def test_dead_delivery_leaves_a_notice_and_is_replayed(
    sqlite_engine: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{s.getsockname()[1]}/gone"
    world, client, sub = _setup(sqlite_engine, nobody, tmp_path)
    _land(sqlite_engine)
    clock = Clock()
    send = _dispatcher(sqlite_engine, clock, retry=RetryPlan((timedelta(minutes=30),), jitter=0))
    send.run_once()
    clock.now += timedelta(minutes=31)
    assert send.dispatch().dead == 1
    base = f"/v1/orgs/acme/subscriptions/{sub['id']}"
    [notice] = client.get(f"{base}/notices", headers=world.auth("acme:read")).json()["items"]
    assert notice["kind"] == "delivery_dead" and "replay" in notice["message"]
    client.patch(base, headers=world.auth("acme:write"), json={"webhook_url": receiver.url})
    replayed = client.post(f"{base}/events/{notice['event_id']}/replay", headers=world.auth("acme:write"))
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["attempts"] == 0
    again = client.post(f"{base}/events/{notice['event_id']}/replay", headers=world.auth("acme:write"))
    assert again.status_code == 409  # only a dead event is replayed
    send.clock = Clock()  # now, so the receiver's timestamp tolerance accepts the message
    assert send.dispatch().messages_sent == 1
    headers, body = receiver.requests[-1]
    assert headers["webhook-id"] == f"msg_{notice['event_id']}"  # the same id: receivers deduplicate
    Webhook(sub["secrets"]["webhook_secret"]).verify(body, headers)
    foreign = client.post(f"{base}/events/{notice['event_id']}/replay", headers=world.auth("globex:admin"))
    assert foreign.status_code == 404


def test_plain_http_receivers_need_the_operators_consent(sqlite_engine: Engine, tmp_path: Path) -> None:
    world = World(sqlite_engine)
    seed_orgs(sqlite_engine, world)
    seed_keys(sqlite_engine, world)
    body = {"channels": ["webhook"], "webhook_url": "http://hooks.example.org/tracker"}
    refused = client_for(sqlite_engine).post(
        "/v1/orgs/acme/subscriptions", headers=world.auth("acme:write"), json=body
    )
    assert refused.status_code == 422 and "TRACKER_WEBHOOK_ALLOW_HTTP" in refused.text
    allowed = client_for(sqlite_engine, webhook_allow_http=True).post(
        "/v1/orgs/acme/subscriptions", headers=world.auth("acme:write"), json=body
    )
    assert allowed.status_code == 201, allowed.text
    https = dict(body, webhook_url="https://hooks.example.org/tracker")
    ok = client_for(sqlite_engine).post(
        "/v1/orgs/acme/subscriptions", headers=world.auth("acme:write"), json=https
    )
    assert ok.status_code == 201


def test_schedule_spreads_attempts_over_more_than_a_day_with_jitter() -> None:
    plan = RetryPlan(jitter=0.1, rng=random.Random(7))
    waits = [plan.delay(n) for n in range(1, plan.max_attempts + 1)]
    assert waits[-1] is None and all(w is not None for w in waits[:-1])
    total = sum((w for w in waits if w is not None), timedelta(0))
    assert timedelta(hours=24) < total < timedelta(hours=31)  # 27 h 35 min before jitter
    exact = RetryPlan(jitter=0)
    for n, base in enumerate(exact.schedule, start=1):
        jittered = plan.delay(n)
        assert jittered is not None and abs(jittered - base) <= base * 0.1
    assert len({plan.delay(3) for _ in range(5)}) > 1  # jitter: not the same instant every time
    assert plan.delay(1, timedelta(minutes=2)) == timedelta(minutes=2)


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert retry_after("30", now) == timedelta(seconds=30)
    assert retry_after("Thu, 01 Jan 2026 12:10:00 GMT", now) == timedelta(minutes=10)
    assert retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == timedelta(0)
    assert retry_after("99999999", now) == timedelta(days=1)  # capped
    assert retry_after("soon", now) is None and retry_after("", now) is None
    # a hostile receiver's header never turns a temporary refusal into a crash (and a dead message)
    assert retry_after("100000000000000", now) == timedelta(days=1)
    assert retry_after("9" * 5000, now) == timedelta(days=1)
    assert retry_after("\u00b2", now) is None  # a superscript digit is not delta-seconds


def test_openapi_describes_each_webhook_event(sqlite_engine: Engine) -> None:
    spec = client_for(sqlite_engine).get("/openapi.json").json()
    hooks = spec["webhooks"]
    assert set(hooks) == {"impact.changed", "subscription.test"}
    body = hooks["impact.changed"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    assert "impact_url" in json.dumps(spec["components"]["schemas"][ref.replace("Message", "Data")])
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert name in json.dumps(hooks["impact.changed"])


def test_thin_message_stays_small_for_a_csf_sized_impact() -> None:
    """A revision the size of CSF 1.1 -> 2.0 (hundreds of changed subcategories, each with a
    redline and controls): the full event is far over 20 kB, the message well under it."""
    from tracker.digests.webhooks import MAX_BODY_BYTES, encode, thin_event

    rng = random.Random(11)
    words = [
        "identify",
        "protect",
        "detect",
        "respond",
        "recover",
        "govern",
        "supply",
        "chain",
        "risk",
        "asset",
        "data",
    ]
    changes = []
    for n in range(240):
        text = " ".join(rng.choice(words) for _ in range(90))
        changes.append(
            {
                "kind": rng.choice(["modified", "added", "removed", "moved"]),
                "substantive": rng.random() < 0.5,
                "old_ids": [f"PR.AC-{n}"],
                "new_ids": [f"PR.AA-{n:02d}"],
                "redline": {"statement": f"[-{text}-]{{+{text[::-1]}+}}"},
                "controls": [{"control_id": f"CTL-{n}-{k}", "action": "reassess"} for k in range(3)],
            }
        )
    event = {
        "event_key": "diff:9",
        "organisation": "acme",
        "subscription_id": 1,
        "source": "nist-csf",
        "source_title": "NIST Cybersecurity Framework",
        "old_version": "1.1",
        "new_version": "2.0",
        "diff_id": 9,
        "impact_id": 4,
        "occurred_at": "2026-01-01T00:00:00+00:00",
        "changes": changes,
        "affected_controls": sorted({c["control_id"] for ch in changes for c in ch["controls"]}),
    }
    full = len(json.dumps(event).encode())
    body = encode(thin_event(event, "https://tracker.example.org"))
    print(f"full event {full} bytes, webhook message {len(body)} bytes")
    assert full > 5 * MAX_BODY_BYTES and len(body) < MAX_BODY_BYTES
    data = json.loads(body)["data"]
    assert data["summary"]["changes"] == 240 and data["summary"]["affected_controls"] == 720
    assert data["affected_controls_truncated"] and len(data["affected_controls"]) == 100
    assert data["impact_url"] == "https://tracker.example.org/v1/orgs/acme/impacts/9"


def test_plain_http_is_refused_at_delivery_too(receiver: Receiver) -> None:
    """A subscription saved while http:// was allowed stops receiving once it is not: the
    message is dead at once (permanent), and nothing reaches the network."""
    from tracker.digests.notifiers import DeliveryError

    notifier = HttpWebhookNotifier(timeout=5, allow_private=True)
    try:
        with pytest.raises(DeliveryError) as caught:
            notifier.post("http://hooks.example.org/tracker", {}, b"{}")
        assert caught.value.permanent and "TRACKER_WEBHOOK_ALLOW_HTTP" in str(caught.value)
        assert notifier.post(receiver.url, {}, b"{}") == 200  # loopback stays allowed
    finally:
        notifier.close()
    assert len(receiver.requests) == 1
