"""The dispatcher: sends due outbox rows, logs every attempt, retries with backoff.

Protocol, per batch:

1. *Claim* due rows in one short transaction (``claim_token``, ``claimed_until``). Only
   unclaimed rows or rows whose claim has expired qualify, so concurrent dispatchers never
   send the same row, and rows claimed by a dispatcher that crashed are picked up again
   once the lease runs out.
2. *Send* outside any transaction (no lock is held across network I/O).
3. *Record* in one transaction: the delivery log row and the new state of the outbox rows
   (``sent``, or a failure with ``next_attempt_at`` pushed back: webhooks on the Standard
   Webhooks schedule of :mod:`tracker.digests.retry`, honouring ``Retry-After``; email
   exponentially; ``dead`` when attempts run out). The mark and the log can therefore never
   disagree. A message parked as dead leaves a notice for the subscription's owner
   (:class:`NoticeRow`) and can be replayed; a receiver answering 410 Gone has its endpoint
   disabled until the subscription's ``webhook_url`` is set again.

A crash between 2 and 3 means the message went out but is not marked, so it is sent again
after the lease: delivery is at-least-once in that window and exactly-once otherwise. The
ids receivers see are stable across such resends (``webhook-id`` is the outbox row,
``Message-ID`` derives from the outbox rows) so they can deduplicate. Atom entries are
written in the same transaction as their mark, so the feed is exactly-once.
"""

from __future__ import annotations

import random
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from tracker.digests import builders, mail, unsubscribe
from tracker.digests.briefing import brief, summary_text
from tracker.digests.events import enqueue
from tracker.digests.links import authority, unsubscribe_url
from tracker.digests.model import Channel
from tracker.digests.notices import disable_endpoint, notice_dead
from tracker.digests.notifiers import DeliveryError, EmailNotifier, WebhookNotifier
from tracker.digests.retry import HONOURS_RETRY_AFTER, RetryPlan, retry_after
from tracker.digests.webhooks import encode, signed_headers, thin_event
from tracker.storage.subscriptions import live_webhook_secrets, utc
from tracker.storage.tables.api import DeliveryRow, FeedEntryRow, OutboxRow, SubscriptionRow


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


@dataclass
class DispatchReport:
    queued: int = 0
    messages_sent: int = 0
    events_sent: int = 0
    failures: int = 0
    dead: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    message_id: str
    code: int | None = None
    error: str = ""
    duration_ms: int = 0
    # a message that can never be sent (a URL the HTTP client cannot parse, a header it
    # refuses): parked as dead at once instead of retried for hours
    permanent: bool = False
    retry_after: timedelta | None = None  # the receiver's Retry-After (429, 503)
    gone: bool = False  # 410 Gone: the receiver asks never to be sent to again


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        *,
        email: EmailNotifier | None = None,
        webhook: WebhookNotifier | None = None,
        sender: str = "tracker@localhost",
        public_url: str = "http://127.0.0.1:8000",
        tag_authority: str = "",
        clock: Callable[[], datetime] = _now,
        lease: timedelta = timedelta(minutes=5),
        backoff: timedelta = timedelta(seconds=30),
        max_backoff: timedelta = timedelta(hours=6),
        max_attempts: int = 8,
        batch: int = 500,
        only: tuple[int, str] | None = None,
        jitter: float = 0.0,
        retry: RetryPlan | None = None,
    ) -> None:
        self.engine = engine
        self.email = email
        self.webhook = webhook
        self.sender = sender
        self.public_url = public_url.rstrip("/")
        # Message-IDs, List-Ids and tag: URIs are named under the operator's own domain
        self.tag_authority = tag_authority or authority(public_url)
        self.clock = clock
        self.lease = lease
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.batch = batch
        self.only = only  # (subscription id, channel): one delivery job's share of the outbox
        # up to this fraction of each retry delay is taken off at random, so deliveries that
        # failed together (a receiver down) do not all retry in the same instant
        self.jitter = jitter
        self.retry = retry or RetryPlan()  # webhooks: the Standard Webhooks schedule

    def run_once(self) -> DispatchReport:
        """Queue new events from the stored impact, then send whatever is due."""
        report = DispatchReport(queued=enqueue(self.engine, self.clock()))
        self.dispatch(report)
        return report

    # -- claiming -----------------------------------------------------------------------------
    def claim(self) -> tuple[str, list[OutboxRow]]:
        now = self.clock()
        token = secrets.token_hex(16)
        free = or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now)
        active = select(SubscriptionRow.id).where(SubscriptionRow.active)
        query = select(OutboxRow.id).where(
            OutboxRow.status == "pending",
            OutboxRow.due_at <= now,
            OutboxRow.next_attempt_at <= now,
            OutboxRow.subscription_id.in_(active),
            free,
        )
        if self.only is not None:
            query = query.where(OutboxRow.subscription_id == self.only[0], OutboxRow.channel == self.only[1])
        with Session(self.engine) as session, session.begin():
            ids = list(session.scalars(query.order_by(OutboxRow.id).limit(self.batch)))
            if ids:
                session.execute(
                    update(OutboxRow)
                    .where(OutboxRow.id.in_(ids), OutboxRow.status == "pending", free)
                    .values(claim_token=token, claimed_until=now + self.lease)
                )
        with Session(self.engine, expire_on_commit=False) as session:
            rows = list(
                session.scalars(
                    select(OutboxRow).where(OutboxRow.claim_token == token).order_by(OutboxRow.id)
                )
            )
            session.expunge_all()
        return token, rows

    def dispatch(self, report: DispatchReport | None = None) -> DispatchReport:
        report = report or DispatchReport()
        while True:
            token, rows = self.claim()
            if not rows:
                return report
            with Session(self.engine) as session:
                subs = {
                    s.id: s
                    for s in session.scalars(
                        select(SubscriptionRow).where(
                            SubscriptionRow.id.in_({r.subscription_id for r in rows})
                        )
                    )
                }
                session.expunge_all()
            emails: dict[int, list[OutboxRow]] = defaultdict(list)
            for row in rows:
                sub = subs.get(row.subscription_id)
                if sub is None or row.channel not in (sub.channels or ()):
                    self._cancel(token, [row])  # the channel was switched off after queueing
                elif row.channel == Channel.EMAIL:
                    emails[row.subscription_id].append(row)
                elif row.channel == Channel.WEBHOOK and sub.webhook_disabled:
                    self._park(
                        token, row, f"the webhook endpoint is disabled: {sub.webhook_disabled}", report
                    )
                elif row.channel == Channel.WEBHOOK:
                    self._record(token, sub, [row], self._send_webhook(sub, row), report)
                else:
                    try:
                        self._write_feed_entry(token, sub, row, report)
                    except Exception as exc:  # a feed entry that cannot be written fails alone
                        failed = _Outcome(False, "", error=f"{type(exc).__name__}: {exc}", permanent=True)
                        self._record(token, sub, [row], failed, report)
            for sub_id, group in emails.items():
                self._record(token, subs[sub_id], group, self._send_email(subs[sub_id], group), report)
            if len(rows) < self.batch:
                return report

    # -- channels ---------------------------------------------------------------------------
    def _send_email(self, sub: SubscriptionRow, rows: Sequence[OutboxRow]) -> _Outcome:
        message_id = f"<digest.{sub.id}.{rows[0].id}.{len(rows)}@{self.tag_authority}>"
        if self.email is None:
            return _Outcome(False, message_id, error="no email notifier configured")
        try:
            return self._email_out(sub, rows, message_id)
        except Exception as exc:  # one subscription's unsendable message never stops the others
            return _Outcome(False, message_id, error=f"{type(exc).__name__}: {exc}", permanent=True)

    def _email_out(self, sub: SubscriptionRow, rows: Sequence[OutboxRow], message_id: str) -> _Outcome:
        assert self.email is not None
        briefings = [brief(r.payload, self.public_url) for r in rows]
        org = briefings[0].organisation
        name = sub.name or f"subscription {sub.id}"
        token = unsubscribe.make_token(sub.id, sub.unsubscribe_key)
        mailing = mail.Mailing(
            review_note=f"You receive this because {org}'s subscription “{name}” sends its digests "
            "to this address.",
            list_id=mail.list_id(sub.id, org, self.tag_authority),
            list_name=f"{org}: {name}",
            unsubscribe_url=unsubscribe_url(self.public_url, token),
        )
        msg = mail.build_email(
            briefings,
            mailing,
            sender=self.sender,
            recipients=list(sub.email_to or ()),
            message_id=message_id,
            date=self.clock(),
        )
        started = time.monotonic()
        try:
            self.email.send(msg)
        except DeliveryError as exc:
            return _Outcome(False, message_id, exc.status, str(exc), _ms(started))
        return _Outcome(True, message_id, 250, duration_ms=_ms(started))

    def _send_webhook(self, sub: SubscriptionRow, row: OutboxRow) -> _Outcome:
        msg_id = f"msg_{row.id}"
        if self.webhook is None:
            return _Outcome(False, msg_id, error="no webhook notifier configured")
        try:
            return self._webhook_out(sub, row, msg_id)
        except Exception as exc:  # one subscription's unsendable message never stops the others
            return _Outcome(False, msg_id, error=f"{type(exc).__name__}: {exc}", permanent=True)

    def _webhook_out(self, sub: SubscriptionRow, row: OutboxRow, msg_id: str) -> _Outcome:
        assert self.webhook is not None
        now = self.clock()
        body = encode(thin_event(row.payload, self.public_url))
        headers = signed_headers(msg_id, now, body, live_webhook_secrets(sub, now))
        started = time.monotonic()
        try:
            code = self.webhook.post(sub.webhook_url, headers, body)
        except DeliveryError as exc:
            asked = retry_after(exc.retry_after, now) if exc.status in HONOURS_RETRY_AFTER else None
            return _Outcome(
                False,
                msg_id,
                exc.status,
                str(exc),
                _ms(started),
                permanent=exc.permanent or exc.status == 410,
                retry_after=asked,
                gone=exc.status == 410,
            )
        return _Outcome(True, msg_id, code, duration_ms=_ms(started))

    def _write_feed_entry(
        self, token: str, sub: SubscriptionRow, row: OutboxRow, report: DispatchReport
    ) -> None:
        now = self.clock()
        payload: dict[str, Any] = row.payload
        entry_id = builders.tag_uri(
            self.tag_authority, utc(sub.created_at), f"subscription:{sub.id}:{row.event_key}"
        )
        with Session(self.engine) as session, session.begin():
            exists = session.scalar(
                select(FeedEntryRow.id).where(
                    FeedEntryRow.subscription_id == sub.id, FeedEntryRow.event_key == row.event_key
                )
            )
            if exists is None:
                briefing = brief(payload, self.public_url)
                session.add(
                    FeedEntryRow(
                        subscription_id=sub.id,
                        event_key=row.event_key,
                        entry_id=entry_id,
                        title=builders.header_text(f"{briefing.pair}: {briefing.count_line()}"),
                        summary=summary_text(briefing),
                        content_html=mail.feed_html(briefing),
                        link=briefing.review_url,
                        published=now,
                        updated=now,
                    )
                )
            self._mark(session, token, sub.id, [row], Channel.ATOM, _Outcome(True, entry_id), report)

    # -- recording ----------------------------------------------------------------------------
    def _record(
        self,
        token: str,
        sub: SubscriptionRow,
        rows: Sequence[OutboxRow],
        outcome: _Outcome,
        report: DispatchReport,
    ) -> None:
        with Session(self.engine) as session, session.begin():
            self._mark(session, token, sub.id, rows, rows[0].channel, outcome, report)

    def _mark(
        self,
        session: Session,
        token: str,
        sub_id: int,
        rows: Sequence[OutboxRow],
        channel: str,
        outcome: _Outcome,
        report: DispatchReport,
    ) -> None:
        now = self.clock()
        attempt = max(r.attempts for r in rows) + 1
        delivery = DeliveryRow(
            subscription_id=sub_id,
            channel=str(channel),
            message_id=outcome.message_id,
            event_keys=[r.event_key for r in rows],
            attempt=attempt,
            status="sent" if outcome.ok else "failed",
            response_code=outcome.code,
            error=outcome.error[:2000],
            duration_ms=outcome.duration_ms,
            attempted_at=now,
        )
        session.add(delivery)
        session.flush()
        mine = (OutboxRow.claim_token == token, OutboxRow.status == "pending")
        ids = [r.id for r in rows]
        if outcome.ok:
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), *mine)
                .values(
                    status="sent", sent_at=now, delivery_id=delivery.id, claim_token=None, claimed_until=None
                )
            )
            report.messages_sent += 1
            report.events_sent += len(rows)
            return
        report.failures += 1
        if outcome.gone:
            disable_endpoint(session, sub_id, f"the receiver answered 410 Gone at {now.isoformat()}", now)
        for row in rows:
            attempts = row.attempts + 1
            delay = self._delay(channel, attempts, outcome)
            dead = delay is None or outcome.permanent
            report.dead += int(dead)
            if dead:
                notice_dead(session, sub_id, row, channel, attempts, outcome.error, now)
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id, *mine)
                .values(
                    status="dead" if dead else "pending",
                    attempts=attempts,
                    next_attempt_at=now + (delay or timedelta(0)),
                    last_error=outcome.error[:2000],
                    claim_token=None,
                    claimed_until=None,
                )
            )

    def _delay(self, channel: str, attempts: int, outcome: _Outcome) -> timedelta | None:
        """The wait before the next attempt, ``None`` when the attempts are used up."""
        if channel == Channel.WEBHOOK:
            return self.retry.delay(attempts, outcome.retry_after)
        if attempts >= self.max_attempts:
            return None
        factor: float = 2.0 ** (attempts - 1)
        delay: timedelta = min(self.backoff * factor, self.max_backoff)
        return delay * (1 - self.jitter * random.random())

    def _park(self, token: str, row: OutboxRow, why: str, report: DispatchReport) -> None:
        """Dead without an attempt (the endpoint is disabled): kept for a replay."""
        report.dead += 1
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row.id, OutboxRow.claim_token == token)
                .values(status="dead", last_error=why[:2000], claim_token=None, claimed_until=None)
            )

    def _cancel(self, token: str, rows: Sequence[OutboxRow]) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([r.id for r in rows]), OutboxRow.claim_token == token)
                .values(claim_token=None, claimed_until=None, status="cancelled")
            )
