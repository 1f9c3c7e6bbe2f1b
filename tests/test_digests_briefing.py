"""The CSF 1.1 -> 2.0 briefing end to end with real parts: the organisation of the digest
benchmark (every SP 800-53 Rev 5 control, NIST's crosswalk), the email delivered to aiosmtpd
and parsed with the standard library, every link followed without a key, one-click
unsubscribe posted as a mail client would, and the feed read with feedparser."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.app import create_app
from bench.bench_digest import ORG, build_world
from tests.support.mailbox import Mailbox
from tracker.digests.briefing import SUGGESTION_FLOOR
from tracker.digests.dispatcher import Dispatcher
from tracker.digests.mail import MAX_EMAIL_BYTES
from tracker.digests.model import Channel, SubscriptionSpec
from tracker.digests.notifiers import SmtpEmailNotifier
from tracker.settings import Settings
from tracker.storage.archive import Archive
from tracker.storage.orgs import OrgStore
from tracker.storage.subscriptions import SubscriptionStore
from tracker.storage.tables.api import OutboxRow

BASE = "https://tracker.test"
GMAIL_CLIPS_AT = 102_000


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _hrefs(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def _parts(msg: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): str(p.get_content()) for p in msg.walk() if not p.is_multipart()}


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def csf(sqlite_engine: Engine, corpus_dir: Path) -> tuple[Engine, int, str]:
    """The world, and one email-only and one feed-only subscription of the organisation."""
    build_world(sqlite_engine, corpus_dir)
    org = OrgStore(sqlite_engine).get(ORG)
    since = datetime.now(UTC) - timedelta(days=1)
    store = SubscriptionStore(sqlite_engine)
    mail = store.create(
        org.id, SubscriptionSpec(name="CSF", channels=(Channel.EMAIL,), email_to=("grc@acme.example",)), since
    )
    feed = store.create(org.id, SubscriptionSpec(name="CSF feed", channels=(Channel.ATOM,)), since)
    return sqlite_engine, mail.subscription.id, feed.feed_token


def test_the_csf_2_briefing(csf: tuple[Engine, int, str], smtp: Mailbox) -> None:
    engine, sub_id, feed_token = csf
    sent = Dispatcher(engine, email=SmtpEmailNotifier("127.0.0.1", smtp.port), public_url=BASE).run_once()
    assert (sent.messages_sent, sent.failures) == (2, 0)  # the email and the feed entry
    assert len(smtp.messages) == 1
    raw, msg = smtp.raw[0], smtp.messages[0]
    parts = _parts(msg)
    html, text = parts["text/html"], parts["text/plain"]

    # small enough to be read whole (Gmail clips past ~102 kB), with the rest one link away
    assert len(raw) <= MAX_EMAIL_BYTES < GMAIL_CLIPS_AT
    with Session(engine) as session:
        payload = session.scalars(select(OutboxRow.payload).where(OutboxRow.subscription_id == sub_id)).one()
    total = len(payload["changes"])
    assert f"see all {total} on the review page" in html and f"see all {total} on" in text

    # headers for people and for mail systems
    subject = str(msg["Subject"])
    assert subject.startswith("[tracker] NIST Cybersecurity Framework 1.1 → 2.0: ")
    assert re.search(r"\d+ gaps, \d+ to reassess, \d+ to retire", subject), subject
    assert msg["List-Id"].endswith(f"<subscription-{sub_id}.acme.tracker.test>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    message_id = str(msg["Message-ID"])
    assert message_id.endswith("@tracker.test>") and "tracker.invalid" not in message_id
    unsubscribe = str(msg["List-Unsubscribe"]).strip("<>")
    assert unsubscribe.startswith(f"{BASE}/ui/unsubscribe/")

    # the briefing first: counts, then the ten most important, then the groups
    assert html.index("Most important") < html.index("Gaps (") < html.index("Reassess (")
    top = html[html.index("Most important") : html.index("Gaps (")]
    assert top.count("<li") == 10 and "GAP" in top and "REASSESS" in top
    # an added requirement is shown with its text
    gv = next(r for r in Archive(engine).requirements("nist-csf", "2.0") if r.ident == "GV.OC-01")
    assert gv.statement[:60] in html.replace("&#x27;", "'") and gv.statement[:60] in text
    # gap suggestions under the floor are not offered as covering the gap
    low = [
        (c["control_id"], c["title"], c["score"])
        for ch in payload["changes"]
        if ch["action"] == "gap"
        for c in ch["controls"]
        if c["score"] < SUGGESTION_FLOOR
    ]
    assert low, "the scenario must hold suggestions under the floor for this to test anything"
    for cid, title, score in low:
        assert f"{cid} {title} ({score:.2f})" not in html

    # every link a person can follow opens a page without a key
    app_client = TestClient(create_app(Settings(public_url=BASE), engine=engine), base_url=BASE)
    links = set(_hrefs(html)) | set(re.findall(r"https://\S+", text))
    assert links and all(not urlsplit(u).path.startswith("/v1/") for u in links)
    for url in sorted(links - {unsubscribe}):
        page = app_client.get(_path(url))
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), url
        anchor = urlsplit(url).fragment
        assert not anchor or f'id="{anchor}"' in page.text, f"{url}: the page does not hold the change"

    # one-click unsubscribe: a forged token changes nothing; the real one shows a confirmation
    # page on GET and unsubscribes on POST with no further step (RFC 8058)
    forged = unsubscribe[:-3] + ("AAA" if not unsubscribe.endswith("AAA") else "BBB")
    assert app_client.post(_path(forged), data={"List-Unsubscribe": "One-Click"}).status_code == 404
    # the feed URL is often public (pasted into feed readers): its token's hash signs nothing
    from tracker.digests import unsubscribe as tokens
    from tracker.storage.tables.api import SubscriptionRow

    with Session(engine) as session:
        row = session.get(SubscriptionRow, sub_id)
        assert row is not None and row.unsubscribe_key and row.unsubscribe_key != row.feed_token_hash
        guessed = tokens.make_token(sub_id, row.feed_token_hash)
    assert (
        app_client.post(f"/ui/unsubscribe/{guessed}", data={"List-Unsubscribe": "One-Click"}).status_code
        == 404
    )
    assert app_client.get("/ui/unsubscribe/%C2%B2.x").status_code == 404  # not a 500
    assert SubscriptionStore(engine).signing_key(sub_id)[0].spec.active  # type: ignore[index]
    confirm = app_client.get(_path(unsubscribe))
    assert confirm.status_code == 200 and "<form" in confirm.text
    assert SubscriptionStore(engine).signing_key(sub_id)[0].spec.active  # type: ignore[index]
    done = app_client.post(_path(unsubscribe), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "sends no more email" in done.text
    after = SubscriptionStore(engine).signing_key(sub_id)
    assert after is not None and not after[0].spec.active and Channel.EMAIL not in after[0].spec.channels

    # the feed: valid Atom, a short summary, an entry link a reader opens without a key
    got = app_client.get(f"/v1/feeds/{feed_token}.atom")
    feed = feedparser.parse(got.content)
    assert feed.bozo == 0 and len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.id.startswith("tag:tracker.test,")
    assert len(entry.summary) < 2000 and "Most important" in entry.summary
    assert len(got.content) < 24_000
    page = app_client.get(_path(entry.link))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
