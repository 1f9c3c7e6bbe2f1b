"""Turn stored impacts into outbox events: the only place digest content is decided.

An *event* is one stored impact (a diff of a source seen through one organisation's
controls); its key is ``diff:<diff id>``, so the same version pair reaches a subscription
once however often the impact is recomputed. The payload is a JSON snapshot taken from the
stored changes and impact items when the event is queued; builders render it and never go
back to the database, so what is sent is what was stored.

An event that the subscription's filters reduce to nothing is recorded as one
``skipped`` row, so it is neither re-examined on every run nor ever sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.diff.types import Change, Kind
from tracker.digests.model import Channel, Subscription
from tracker.domain.keys import normalise_key
from tracker.domain.redline import render_text
from tracker.impact.model import ImpactItem, StoredImpact
from tracker.storage.impacts import ImpactRecord, ImpactStore
from tracker.storage.subscriptions import to_subscription, utc
from tracker.storage.tables.api import OutboxRow, SubscriptionRow
from tracker.storage.tables.archive import ChangeRow, DiffRow, RequirementRow, SourceRow, VersionRow
from tracker.storage.tables.orgs import ControlRow, OrganisationRow

SKIPPED = "skipped"
# the text of an added or withdrawn requirement is carried up to this many characters
TEXT_LIMIT = 2000


def event_key(diff_id: int) -> str:
    return f"diff:{diff_id}"


@dataclass(frozen=True)
class ServedItem:
    """A stored impact item joined back to its stored change, as digests and the API serve it.

    The verdict (kind, substantive, tags) stays the impact's: it is the organisation's
    reading, which a decision of its reviewers may have made differ from the shared one
    (see tracker.review.decisions). The redline is the stored diff's (field -> text)."""

    item: ImpactItem
    change_id: int | None
    redline: dict[str, str] | None
    old_keys: tuple[str, ...]
    new_keys: tuple[str, ...]

    @property
    def change(self) -> Change:
        return self.item.change


def served_changes(engine: Engine, impact_id: int) -> dict[int, ServedItem]:
    """:func:`impact_changes` of the stored impact with this id (empty if there is none)."""
    with Session(engine) as session:
        record = ImpactStore.record(session, impact_id)
        return {} if record is None else impact_changes(session, record.impact)


def impact_changes(session: Session, impact: StoredImpact) -> dict[int, ServedItem]:
    """The stored impact's items by ``change_seq`` (numbered exactly as the impact store numbers
    them), each joined to its stored change (id, redline per field, keys) where the ids match."""
    rows = session.scalars(select(ChangeRow).where(ChangeRow.diff_id == impact.diff_id)).all()
    by_ids = {(tuple(r.old_ids or ()), tuple(r.new_ids or ())): r for r in rows}
    out: dict[int, ServedItem] = {}
    for item in impact.items:
        row = by_ids.get(item.ids)
        change = item.change
        if row is not None:
            redline = (row.data or {}).get("redline")
            served = ServedItem(
                item,
                row.id,
                dict(redline) if isinstance(redline, dict) else None,
                tuple(row.old_keys or ()),
                tuple(row.new_keys or ()),
            )
        else:
            own = {name: render_text(red) for name, red in change.redlines} or None
            keys = (
                tuple(normalise_key(i) for i in change.old_ids),
                tuple(normalise_key(i) for i in change.new_ids),
            )
            served = ServedItem(item, None, own, *keys)
        out[item.seq] = served
    return out


def _wanted(sub: Subscription, served: ServedItem, control_tags: dict[str, set[str]]) -> bool:
    spec, change = sub.spec, served.change
    if change.kind is Kind.UNCHANGED:
        return False
    if spec.kinds and change.kind.value not in spec.kinds:
        return False
    if spec.substantive_only and change.substantive is False:
        return False
    if spec.tags and not set(spec.tags) & {t.value for t in change.tags}:
        return False
    if spec.control_ids or spec.control_tags:
        keys = {normalise_key(c.control_id) for c in served.item.controls if c.control_id}
        wanted = {normalise_key(c) for c in spec.control_ids}
        tagged = {k for k in keys if set(spec.control_tags) & control_tags.get(k, set())}
        if not (keys & wanted or tagged):
            return False
    return True


def build_payload(session: Session, sub: Subscription, record: ImpactRecord) -> dict[str, Any] | None:
    """The event snapshot for one subscription, or ``None`` when its filters leave nothing."""
    diff = session.get(DiffRow, record.impact.diff_id)
    if diff is None:
        return None
    source = session.get(SourceRow, diff.source_id)
    old_v = session.get(VersionRow, diff.old_version_id)
    new_v = session.get(VersionRow, diff.new_version_id)
    org = session.get(OrganisationRow, record.org_id)
    assert source is not None and old_v is not None and new_v is not None and org is not None
    items = impact_changes(session, record.impact)
    keys = {normalise_key(c.control_id) for i in items.values() for c in i.item.controls if c.control_id}
    controls = {
        c.key: c
        for c in session.scalars(
            select(ControlRow).where(ControlRow.org_id == org.id, ControlRow.key.in_(keys))
        )
    }
    tags = {k: set(c.tags or ()) for k, c in controls.items()}
    chosen = [(seq, served) for seq, served in sorted(items.items()) if _wanted(sub, served, tags)]
    if not chosen:
        return None
    titles = _titles(session, old_v.id, new_v.id, [served for _, served in chosen])
    out_changes: list[dict[str, Any]] = []
    for seq, served in chosen:
        change, item = served.change, served.item
        title = (titles.get(("new", served.new_keys[0]), ("", ""))[0] if served.new_keys else "") or (
            titles.get(("old", served.old_keys[0]), ("", ""))[0] if served.old_keys else ""
        )
        out_changes.append(
            {
                "change_id": served.change_id,
                "seq": seq,
                "kind": change.kind.value,
                "substantive": change.substantive,
                "tags": [t.value for t in change.tags],
                "old_ids": list(change.old_ids),
                "new_ids": list(change.new_ids),
                "title": title or "",
                "text": _text(change, served, titles),
                "confidence": change.confidence,
                "reasons": list(change.reasons),
                "redline": served.redline,
                "action": item.action.value,
                "reason": item.reason,
                "controls": [
                    {
                        "control_id": c.control_id,
                        "title": controls[k].title
                        if (k := normalise_key(c.control_id or "-")) in controls
                        else "",
                        "action": c.action.value,
                        "score": c.score,
                        "reason": c.reason,
                    }
                    for c in item.controls
                ],
            }
        )
    affected = sorted({c["control_id"] for ch in out_changes for c in ch["controls"] if c["control_id"]})
    return {
        "event_key": event_key(diff.id),
        "organisation": org.slug,
        "subscription_id": sub.id,
        "subscription": sub.spec.name,
        "source": source.slug,
        "source_title": source.title,
        "old_version": old_v.label,
        "new_version": new_v.label,
        "new_status": new_v.status,
        "published": new_v.published.isoformat() if new_v.published else None,
        "diff_id": diff.id,
        "impact_id": record.id,
        "occurred_at": utc(record.created_at).isoformat(),
        "changes": out_changes,
        "affected_controls": affected,
    }


def _titles(
    session: Session, old_id: int, new_id: int, items: list[ServedItem]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(side, key) -> (title, statement) of the requirements the items name."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for side, vid in (("old", old_id), ("new", new_id)):
        keys = {k for i in items for k in (i.old_keys if side == "old" else i.new_keys)}
        if keys:
            found = session.execute(
                select(RequirementRow.key, RequirementRow.title, RequirementRow.statement).where(
                    RequirementRow.version_id == vid, RequirementRow.key.in_(keys)
                )
            )
            for key, title, statement in found:
                out[(side, key)] = (title or "", statement or "")
    return out


def _text(change: Change, served: ServedItem, titles: dict[tuple[str, str], tuple[str, str]]) -> str:
    """The text a reader needs beside an added requirement (what is now asked) or a withdrawn
    one (what no longer is); changed requirements carry their redline instead."""
    if change.kind is Kind.ADDED:
        side, keys = "new", served.new_keys
    elif change.kind is Kind.REMOVED:
        side, keys = "old", served.old_keys
    else:
        return ""
    text = " ".join(titles.get((side, k), ("", ""))[1] for k in keys).strip()
    return text[:TEXT_LIMIT]


def enqueue(engine: Engine, now: datetime | None = None) -> int:
    """Queue every new event for every active subscription; returns the number of rows queued.

    Idempotent: an event already in the outbox (sent, pending, dead or skipped) is not looked
    at again, and the unique key stops a concurrent run from queueing it twice.
    """
    now = now or datetime.now(UTC)
    with Session(engine) as session:
        subs = [
            to_subscription(r) for r in session.scalars(select(SubscriptionRow).where(SubscriptionRow.active))
        ]
    return sum(_enqueue_subscription(engine, sub, now) for sub in subs)


def enqueue_subscription(engine: Engine, sub_id: int, now: datetime | None = None) -> int:
    """Queue the events one subscription has not had yet (all since its ``since``); used when
    a subscription is created with a past ``since``, so it starts with the changes it asked
    for instead of empty. Idempotent like :func:`enqueue`."""
    with Session(engine) as session:
        row = session.get(SubscriptionRow, sub_id)
        if row is None or not row.active:
            return 0
        sub = to_subscription(row)
    return _enqueue_subscription(engine, sub, now or datetime.now(UTC))


def _enqueue_subscription(engine: Engine, sub: Subscription, now: datetime) -> int:
    queued = 0
    with Session(engine) as session:
        seen = set(session.scalars(select(OutboxRow.event_key).where(OutboxRow.subscription_id == sub.id)))
        for record in ImpactStore.stored_since(session, sub.org_id, sub.since, sub.spec.sources):
            key = event_key(record.impact.diff_id)
            if key in seen:
                continue
            payload = build_payload(session, sub, record)
            queued += _insert(engine, sub, key, payload, now)
    return queued


def _insert(
    engine: Engine, sub: Subscription, key: str, payload: dict[str, Any] | None, now: datetime
) -> int:
    rows: list[OutboxRow] = []
    if payload is None:
        rows.append(_row(sub, key, SKIPPED, {"event_key": key, "skipped": "filtered out"}, now, now, SKIPPED))
    else:
        for channel in sub.spec.channels:
            # a feed is pulled at the reader's own pace, so its entries are written at once
            due = now if channel is Channel.ATOM else sub.spec.cadence.due(now)
            rows.append(_row(sub, key, str(channel), payload, now, due, "pending"))
    try:
        with Session(engine) as session, session.begin():
            session.add_all(rows)
    except IntegrityError:  # another dispatcher queued it first: that is the point of the key
        return 0
    return 0 if payload is None else len(rows)


def _row(
    sub: Subscription,
    key: str,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    due: datetime,
    status: str,
) -> OutboxRow:
    return OutboxRow(
        subscription_id=sub.id,
        event_key=key,
        channel=channel,
        payload=payload,
        created_at=now,
        due_at=due,
        status=status,
        attempts=0,
        next_attempt_at=due,
        last_error="",
    )


def enqueue_for(engine: Engine, org_id: int, diff_id: int, now: datetime | None = None) -> list[OutboxRow]:
    """Queue the event of one organisation's impact of one diff for each of its active
    subscriptions (the pipeline's digest job), and return every outbox row of that event
    still to deliver or already delivered, whether queued now or by an earlier attempt."""
    now = now or datetime.now(UTC)
    key = event_key(diff_id)
    with Session(engine) as session:
        subs = [
            to_subscription(r)
            for r in session.scalars(
                select(SubscriptionRow).where(SubscriptionRow.active, SubscriptionRow.org_id == org_id)
            )
        ]
        if not subs:  # most organisations of a large fan-out: nothing to read the impact for
            return []
        record = ImpactStore.record_of(session, org_id, diff_id)
        if record is None:
            return []
        source = session.scalar(
            select(SourceRow.slug)
            .join(DiffRow, DiffRow.source_id == SourceRow.id)
            .where(DiffRow.id == diff_id)
        )
        for sub in subs:
            if utc(record.created_at) < sub.since or (sub.spec.sources and source not in sub.spec.sources):
                continue
            seen = session.scalar(
                select(OutboxRow.id).where(OutboxRow.subscription_id == sub.id, OutboxRow.event_key == key)
            )
            if seen is None:
                _insert(engine, sub, key, build_payload(session, sub, record), now)
    with Session(engine, expire_on_commit=False) as session:
        rows = list(
            session.scalars(
                select(OutboxRow)
                .where(
                    OutboxRow.event_key == key,
                    OutboxRow.subscription_id.in_([s.id for s in subs]),
                    OutboxRow.status != SKIPPED,
                )
                .order_by(OutboxRow.id)
            )
        )
        session.expunge_all()
    return rows
