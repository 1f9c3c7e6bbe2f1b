"""Pure digest builders: multipart email, Atom read back (webhooks: test_webhooks_signing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import default

import feedparser
import pytest

from tracker.digests import builders
from tracker.digests.model import Cadence, FeedMeta

EVENT = {
    "event_key": "diff:7",
    "organisation": "acme",
    "source": "demo-std",
    "old_version": "v1",
    "new_version": "v2",
    "diff_id": 7,
    "occurred_at": "2025-03-01T10:00:00+00:00",
    "affected_controls": ["ACME-1"],
    "changes": [
        {
            "kind": "modified",
            "substantive": True,
            "tags": ["obligation_strengthened"],
            "old_ids": ["R-1"],
            "new_ids": ["R-1"],
            "title": "Logging <& co>",
            "redline": {"statement": "Operators [-should-]{+shall+} log <access>."},
            "controls": [
                {"control_id": "ACME-1", "title": "Access logging", "action": "reassess", "reason": "why"}
            ],
        }
    ],
}


def _parts(msg: Message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in msg.walk() if not p.is_multipart()}  # type: ignore[attr-defined]


def test_email_is_multipart_alternative_with_escaped_inline_redlines() -> None:
    msg = builders.build_email(
        [EVENT],
        sender="t@localhost",
        recipients=["a@example.org"],
        message_id="<m1@x>",
        date=datetime(2025, 3, 1, tzinfo=UTC),
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = _parts(parsed)
    assert "[-should-]{+shall+}" in parts["text/plain"] and "reassess ACME-1" in parts["text/plain"]
    html = parts["text/html"]
    assert "<del" in html and ">should</del>" in html and ">shall</ins>" in html
    assert "&lt;access&gt;" in html and "Logging &lt;&amp; co&gt;" in html and "<access>" not in html
    with pytest.raises(ValueError):
        builders.build_email([], sender="t@x", recipients=["a@x"], message_id="<m@x>", date=datetime.now(UTC))


def test_atom_feed_reads_back_with_feedparser() -> None:
    when = datetime(2025, 3, 1, 12, tzinfo=UTC)
    entry_id = builders.tag_uri("tracker.example", when, "subscription:1:diff:7")
    entry = builders.atom_entry(
        entry_id,
        builders.event_title(EVENT),
        when,
        when,
        "http://x/v1/diffs/7",
        builders.event_html(EVENT),
        "s",
    )
    meta = FeedMeta(
        feed_id="tag:tracker.example,2025-03-01:subscription:1",
        title="t",
        self_url="http://x/f",
        updated=when,
    )
    feed = feedparser.parse(builders.atom_feed(meta, [entry]))
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and len(feed.entries) == 1
    got = feed.entries[0]
    assert got.id == "tag:tracker.example,2025-03-01:subscription:1:diff:7"
    assert got.updated_parsed[:4] == (2025, 3, 1, 12)
    assert "<del" in got.content[0].value and "R-1" in got.title


def test_cadence_due_times() -> None:
    at = datetime(2025, 3, 5, 15, 30, tzinfo=UTC)  # a Wednesday
    assert Cadence.IMMEDIATE.due(at) == at
    assert Cadence.DAILY.due(at) == datetime(2025, 3, 6, tzinfo=UTC)
    weekly = Cadence.WEEKLY.due(at)
    assert weekly == datetime(2025, 3, 10, tzinfo=UTC) and weekly.weekday() == 0
    monday = datetime(2025, 3, 10, 0, 0, 1, tzinfo=UTC)
    assert Cadence.WEEKLY.due(monday) == monday.replace(second=0) + timedelta(days=7)


def test_guidance_only_changes_come_last_in_their_own_group() -> None:
    guidance = {
        "kind": "modified",
        "substantive": False,
        "tags": ["guidance_only"],
        "old_ids": ["R-2"],
        "new_ids": ["R-2"],
        "redline": {"guidance": "Examples: {+Ex1: review advisories.+}"},
    }
    event = {**EVENT, "changes": [guidance, *EVENT["changes"]]}  # type: ignore[list-item]
    text = builders.event_text(event)
    assert text.index("* R-1") < text.index(f"-- {builders.GUIDANCE_GROUP} --") < text.index("* R-2")
    html = builders.event_html(event)
    assert html.index("<h3>R-1") < html.index(builders.GUIDANCE_GROUP) < html.index("<h3>R-2")
    assert builders.GUIDANCE_GROUP not in builders.event_text(EVENT)  # no empty group
