"""The durable pipeline in one process: the ledger's rules, the recovery sweep, the stages as
jobs, a poison subscription that fails alone, and publisher text made safe for headers and XML."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.jobs_world import CSF, LIMIT, UNSENDABLE, build_world, counts
from tests.support.webhook_receiver import Receiver
from tracker.digests import builders, mail
from tracker.digests.briefing import brief, summary_text
from tracker.jobs.runner import drain, recover
from tracker.settings import Settings
from tracker.sources.ingest import ingest_files
from tracker.storage.archive import Archive
from tracker.storage.jobs import DEAD, DONE, QUEUED, JobSpec, JobStore, RetryPolicy

# the poison subscription's URL is plain http to a non-loopback host: allowed here, so that what
# makes it dead is the URL the HTTP client cannot parse
SETTINGS = Settings(
    use_model=False, webhook_allow_private=True, webhook_allow_http=True, job_backoff=0.05, job_max_attempts=3
)


def test_a_key_is_one_job_claimed_by_one_worker(engine: Engine) -> None:
    store = JobStore(engine, RetryPolicy(base=timedelta(seconds=60), max_attempts=2))
    first = store.add([JobSpec("diff", "diff:s:v2", {"source": "s", "label": "v2"})])
    assert store.add([JobSpec("diff", "diff:s:v2", {"source": "s", "label": "v2"})]) == first
    job = store.claim(first[0], "host:1", timedelta(minutes=5))
    assert job is not None and job.attempts == 1
    assert store.claim(first[0], "host:2", timedelta(minutes=5)) is None  # held under a lease
    retried = store.fail(job, "host:1", "boom")
    assert retried.status == QUEUED and retried.last_error == "boom"
    wait = retried.run_after - retried.updated_at
    assert timedelta(seconds=29) <= wait <= timedelta(seconds=60)  # base 60 s with jitter in [0.5, 1)
    assert store.claim(first[0], "host:2", timedelta(minutes=5)) is None  # not due yet
    assert store.due() == []


def test_backoff_doubles_with_jitter_and_a_failing_job_is_parked_then_replayed(engine: Engine) -> None:
    policy = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=60), max_attempts=2)
    rng = random.Random(7)
    delays = [policy.delay(n, rng).total_seconds() for n in (1, 2, 3, 4, 5)]
    assert 5 <= delays[0] < 10 and 10 <= delays[1] < 20 and 20 <= delays[2] < 40
    assert all(30 <= d < 60 for d in delays[3:])  # capped
    store = JobStore(engine, RetryPolicy(base=timedelta(0), max_attempts=2))
    [job_id] = store.add([JobSpec("diff", "diff:s:v3")])
    for _ in range(2):
        job = store.claim(job_id, "host:1", timedelta(minutes=5))
        assert job is not None
        store.fail(job, "host:1", "parser exploded")
    dead = store.get(job_id)
    assert dead.status == DEAD and dead.attempts == 2 and dead.last_error == "parser exploded"
    assert store.claim(job_id, "host:1", timedelta(minutes=5)) is None
    again = store.replay(job_id)
    assert again.status == QUEUED and again.attempts == 0


def test_a_lease_of_a_dead_local_worker_is_released(engine: Engine) -> None:
    store = JobStore(engine)
    [job_id] = store.add([JobSpec("diff", "diff:s:v4")])
    assert store.claim(job_id, "box:999999999", timedelta(hours=1)) is not None
    assert store.release_dead_workers("box", lambda pid: pid != 999999999) == 1
    assert store.claim(job_id, "box:2", timedelta(hours=1)) is not None


def test_the_sweep_diffs_only_the_newest_version_of_each_source(engine: Engine) -> None:
    from tests.support.api_world import parsed, req
    from tracker.domain.model import Source
    from tracker.jobs.runner import missing_diffs

    archive, std = Archive(engine), Source(slug="std")
    for label in ("v1", "v2", "v3"):  # a history loaded at once: only its newest change is news
        archive.add_version(
            std, label, [(f"{label}.txt", label.encode())], parsed(req("R-1", f"text {label}"))
        )
    assert [j.key for j in missing_diffs(engine)] == ["diff:std:v3"]


def test_versions_archived_without_a_diff_are_found_and_run_as_jobs(
    engine: Engine, corpus_dir: Path, receiver: Receiver
) -> None:
    from tracker.mapping.types import Control
    from tracker.storage.controls import ControlStore
    from tracker.storage.impacts import ImpactStore
    from tracker.storage.orgs import OrgStore

    world = build_world(engine, corpus_dir, receiver.url)
    OrgStore(engine).create("bystander")  # controls of its own, none mapped from CSF: not interested
    ControlStore(engine).import_controls("bystander", [Control(id="K-1", title="Keys rotate")], "file")
    # archived without the pipeline (as by a process killed before the diff, or `tracker ingest`)
    ingest_files(Archive(engine), CSF, "2.0", [corpus_dir / "nist-csf" / "2.0"], max_bytes=LIMIT)
    found = recover(engine, SETTINGS, lambda *_: None)
    assert found.missing_diffs == ["diff:nist-csf:2.0"]
    ran = drain(engine, SETTINGS)
    assert ran == {"done": 1 + 3 + 2 + 2, DEAD: 1}  # diff, 3 impact jobs, 2 digests, 3 deliveries
    stored = counts(engine)
    assert stored["diffs"] == 1 and stored["impacts_per_org"] == [1, 1]
    [diff_id] = {j.args["diff_id"] for j in JobStore(engine).find(kind="impact")}
    assert ImpactStore(engine).impact("bystander", diff_id) is None
    assert stored["outbox"] == sorted(
        [
            (world.webhook_sub, "webhook", "sent"),
            (world.atom_sub, "atom", "sent"),
            (world.poison_sub, "webhook", "dead"),
        ]
    )
    assert stored["feed_entries"] == 1 and len(receiver.requests) == 1
    _thin_and_signed(engine, world.webhook_sub, receiver)
    store = JobStore(engine)
    [poison] = store.find(DEAD)
    assert poison.key.startswith(f"deliver:{world.poison_sub}:webhook:") and "InvalidURL" in poison.last_error
    assert all(j.status == DONE for j in store.find() if j.id != poison.id)
    # a second pass (a restarted worker) finds nothing to do and sends nothing twice
    assert recover(engine, SETTINGS, lambda *_: None).missing_diffs == []
    assert drain(engine, SETTINGS) == {}
    assert len(receiver.requests) == 1 and UNSENDABLE not in str(receiver.requests)


def _thin_and_signed(engine: Engine, sub_id: int, receiver: Receiver) -> None:
    """The real CSF 1.1 -> 2.0 impact: its webhook message is thin and verifies."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session
    from standardwebhooks import Webhook

    from tracker.storage.tables.api import OutboxRow, SubscriptionRow

    headers, body = receiver.requests[0]
    with Session(engine) as session:
        full = session.scalar(select(OutboxRow.payload).where(OutboxRow.subscription_id == sub_id))
        secret = session.scalar(select(SubscriptionRow.webhook_secret).where(SubscriptionRow.id == sub_id))
    full_size = len(json.dumps(full, separators=(",", ":")).encode())
    print(f"CSF 1.1 -> 2.0: full event {full_size} bytes, webhook message {len(body)} bytes")
    assert len(body) < 20_000 < full_size
    assert secret is not None and Webhook(secret).verify(body, headers)["data"]["new_version"] == "2.0"


def _event(ids: list[str], title: str) -> dict[str, object]:
    change = {"kind": "added", "new_ids": ids, "title": title, "controls": [], "redline": {}}
    return {
        "source": "pub",
        "old_version": "1",
        "new_version": "2",
        "organisation": "acme",
        "changes": [change],
        "affected_controls": [],
    }


def test_publisher_text_cannot_break_an_email_header_or_the_atom_xml() -> None:
    hostile = {
        **_event(["GV.1\r\nBcc: victim@example.org", "ID\u20282"], "Title\x00 with \x0b controls\ufffe"),
        "source_title": "Pub\r\nBcc: victim@example.org",
    }
    hostile["changes"][0]["action"] = "gap"  # type: ignore[index]
    briefing = brief(hostile, "https://tracker.example")
    mailing = mail.Mailing("note", "<subscription-1.acme.tracker.example>", "acme\r\nBcc: x@y", "https://x/u")
    msg = mail.build_email(
        [briefing],
        mailing,
        sender="tracker@localhost",
        recipients=["a@example.org"],
        message_id="<m@x>",
        date=datetime.now(UTC),
    )
    assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"] and msg["Bcc"] is None
    assert "Pub Bcc: victim@example.org" in msg["Subject"]
    head = msg.as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in head and b"\r" not in head
    entry = builders.atom_entry(
        "tag:x,2026-01-01:1",
        builders.header_text(f"{briefing.pair}: {briefing.count_line()}"),
        datetime.now(UTC),
        datetime.now(UTC),
        "http://x/\x01",
        mail.feed_html(briefing),
        summary_text(briefing),
    )
    parsed = ET.fromstring(entry)  # a parser refuses the document if anything invalid is left
    assert "GV.1" in (parsed.findtext("summary") or "")
    assert "Title with  controls" in (parsed.findtext("content") or "")


@pytest.fixture(autouse=True)
def _lexical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_USE_MODEL", "0")


def test_dead_jobs_are_listed_and_replayed_by_the_operator_api(engine: Engine) -> None:
    from tests.support.api_world import client_for, seed

    world = seed(engine)
    store = JobStore(engine, RetryPolicy(max_attempts=1))
    [job_id] = store.add([JobSpec("deliver", "deliver:9:webhook:diff:1", {"subscription_id": 9})])
    job = store.claim(job_id, "host:1", timedelta(minutes=5))
    assert job is not None
    store.fail(job, "host:1", "InvalidURL: Invalid port: 'port'")
    with client_for(engine) as client:
        operator = world.auth("operator")
        dead = client.get("/v1/jobs?status=dead", headers=operator).json()["items"]
        assert [(j["id"], j["last_error"]) for j in dead] == [(job_id, "InvalidURL: Invalid port: 'port'")]
        assert client.get("/v1/jobs", headers=world.auth("acme:admin")).status_code == 403
        replayed = client.post(f"/v1/jobs/{job_id}/replay", headers=operator)
        assert replayed.status_code == 200 and replayed.json()["status"] == QUEUED
        again = client.post(f"/v1/jobs/{job_id}/replay", headers=operator)
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
        assert client.get("/v1/jobs/999999", headers=operator).status_code == 404


def test_digests_send_survives_a_poison_subscription(
    engine: Engine, corpus_dir: Path, receiver: Receiver
) -> None:
    """The sender without workers (`tracker digests send`): the unsendable row is parked, the rest go."""
    from tracker.jobs.stages import make_dispatcher, webhook_notifier
    from tracker.pipeline import on_new_version

    world = build_world(engine, corpus_dir, receiver.url)
    second = ingest_files(Archive(engine), CSF, "2.0", [corpus_dir / "nist-csf" / "2.0"], max_bytes=LIMIT)
    on_new_version(Archive(engine), CSF, second.version, SETTINGS)
    webhook = webhook_notifier(SETTINGS)
    try:
        report = make_dispatcher(engine, SETTINGS, webhook).run_once()
    finally:
        webhook.close()
    assert (report.messages_sent, report.failures, report.dead) == (2, 1, 1)
    assert counts(engine)["outbox"] == sorted(
        [
            (world.webhook_sub, "webhook", "sent"),
            (world.atom_sub, "atom", "sent"),
            (world.poison_sub, "webhook", "dead"),
        ]
    )
