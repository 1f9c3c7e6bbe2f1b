"""Pure digest builders: multipart email, Atom read back (webhooks: test_webhooks_signing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import SMTP, default

import feedparser
import pytest

from tracker.digests import builders, mail
from tracker.digests.briefing import SUGGESTION_FLOOR, brief, summary_text
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
            "change_id": 1,
            "kind": "modified",
            "action": "reassess",
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


MAILING = mail.Mailing(
    review_note="You receive this because acme's subscription sends its digests to this address.",
    list_id="<subscription-1.acme.tracker.example>",
    list_name="acme: AI",
    unsubscribe_url="https://tracker.example/ui/unsubscribe/1.sig",
)


def _email(event: dict[str, object], **kw: object) -> Message:
    msg = mail.build_email(
        [brief(event, "https://tracker.example")],
        MAILING,
        sender="t@localhost",
        recipients=["a@example.org"],
        message_id="<m1@x>",
        date=datetime(2025, 3, 1, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )
    return message_from_bytes(msg.as_bytes(), policy=default)


def test_email_is_multipart_alternative_with_escaped_inline_redlines() -> None:
    parsed = _email(EVENT)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = _parts(parsed)
    assert "[-should-]{+shall+}" in parts["text/plain"] and "ACME-1 Access logging" in parts["text/plain"]
    html = parts["text/html"]
    assert "<del" in html and ">should</del>" in html and ">shall</ins>" in html
    assert "&lt;access&gt;" in html and "Logging &lt;&amp; co&gt;" in html and "<access>" not in html
    assert "tracker.example/v1/" not in html  # API addresses answer 401 to a person
    assert "https://tracker.example/ui/sources/demo-std/review/v1/v2" in html
    with pytest.raises(ValueError):
        mail.build_email(
            [], MAILING, sender="t@x", recipients=["a@x"], message_id="<m@x>", date=datetime.now(UTC)
        )


def _many(n: int) -> dict[str, object]:
    """An event of ``n`` new requirements, each with a paragraph of text and five suggestions."""
    changes = [
        {
            "change_id": i,
            "kind": "added",
            "old_ids": [],
            "new_ids": [f"R-{i}"],
            "action": "gap",
            "text": f"Requirement {i} asks that " + "operators keep records of every model release " * 8,
            "controls": [
                {"control_id": f"C-{i}-{k}", "title": "A control", "action": "gap", "score": 0.5}
                for k in range(5)
            ],
        }
        for i in range(n)
    ]
    return {**EVENT, "changes": changes}


def test_a_long_digest_is_cut_to_the_cap_keeping_counts_and_top_items() -> None:
    whole = _email(_many(5), max_bytes=10**9)
    assert "more gaps not shown" not in _parts(whole)["text/html"]
    cap = 30_000
    parsed = _email(_many(400), max_bytes=cap)
    assert len(parsed.as_bytes()) <= cap + 400  # the parser's re-serialisation may differ by a little
    html = _parts(parsed)["text/html"]
    assert "400 gaps" in html and html.count("<li") == 10
    assert "more gaps not shown here" in html and "see all 400 on the review page" in html
    assert "400 gaps" in str(parsed["Subject"])


def test_a_digest_of_several_events_names_them_all_within_the_cap() -> None:
    second = {**_many(300), "source": "other-std", "source_title": "Other Standard", "diff_id": 8}
    msg = mail.build_email(
        [brief(EVENT, "https://tracker.example"), brief(second, "https://tracker.example")],
        MAILING,
        sender="t@localhost",
        recipients=["a@example.org"],
        message_id="<m2@x>",
        date=datetime(2025, 3, 1, tzinfo=UTC),
        max_bytes=40_000,
    )
    assert len(msg.as_bytes(policy=SMTP)) <= 40_000
    assert str(msg["Subject"]) == "[tracker] 2 standards changed for acme: 300 gaps, 1 to reassess"
    html = _parts(message_from_bytes(msg.as_bytes(), policy=default))["text/html"]
    assert "demo-std v1 → v2" in html and "Other Standard v1 → v2" in html
    assert "/ui/sources/other-std/review/v1/v2" in html


def test_suggestions_under_the_floor_are_not_offered() -> None:
    event = _many(1)
    controls = event["changes"][0]["controls"]  # type: ignore[index]
    controls[0]["score"] = SUGGESTION_FLOOR - 0.13  # e.g. 0.07
    html = _parts(_email(event))["text/html"]
    assert "C-0-0" not in html and "C-0-1" in html


def test_atom_feed_reads_back_with_feedparser() -> None:
    when = datetime(2025, 3, 1, 12, tzinfo=UTC)
    entry_id = builders.tag_uri("tracker.example", when, "subscription:1:diff:7")
    briefing = brief(EVENT, "http://x")
    entry = builders.atom_entry(
        entry_id,
        f"{briefing.pair}: {briefing.count_line()}",
        when,
        when,
        briefing.review_url,
        mail.feed_html(briefing),
        summary_text(briefing),
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
    assert "<del" in got.content[0].value and "R-1" in got.summary and "1 to reassess" in got.title
    assert got.link == "http://x/ui/sources/demo-std/review/v1/v2"


def test_cadence_due_times() -> None:
    at = datetime(2025, 3, 5, 15, 30, tzinfo=UTC)  # a Wednesday
    assert Cadence.IMMEDIATE.due(at) == at
    assert Cadence.DAILY.due(at) == datetime(2025, 3, 6, tzinfo=UTC)
    weekly = Cadence.WEEKLY.due(at)
    assert weekly == datetime(2025, 3, 10, tzinfo=UTC) and weekly.weekday() == 0
    monday = datetime(2025, 3, 10, 0, 0, 1, tzinfo=UTC)
    assert Cadence.WEEKLY.due(monday) == monday.replace(second=0) + timedelta(days=7)


def test_editorial_changes_come_last_in_their_own_group() -> None:
    guidance = {
        "kind": "modified",
        "action": "none",
        "substantive": False,
        "tags": ["guidance_only"],
        "old_ids": ["R-2"],
        "new_ids": ["R-2"],
        "redline": {"guidance": "Examples: {+Ex1: review advisories.+}"},
        "controls": [{"control_id": "ACME-2", "action": "none", "score": 1.0}],
    }
    event = {**EVENT, "changes": [guidance, *EVENT["changes"]]}  # type: ignore[list-item]
    html = _parts(_email(event))["text/html"]
    groups = html[html.index("Reassess (1)") :]  # the top ten lists R-1 before the groups
    assert groups.index(">R-1<") < groups.index("No action (1)") < groups.index(">R-2<")
    assert "guidance only" in html and "No action" not in _parts(_email(EVENT))["text/html"]
