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

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.digests.model import Channel, Subscription
from tracker.domain.keys import normalise_key
from tracker.storage.subscriptions import to_subscription, utc
from tracker.storage.tables.api import OutboxRow, SubscriptionRow
from tracker.storage.tables.archive import ChangeRow, DiffRow, RequirementRow, SourceRow, VersionRow
from tracker.storage.tables.orgs import ControlRow, ImpactRow, OrganisationRow

SKIPPED = "skipped"


def event_key(diff_id: int) -> str:
    return f"diff:{diff_id}"


def impact_changes(session: Session, impact: ImpactRow) -> dict[int, dict[str, Any]]:
    """The stored impact's items by ``change_seq`` (numbered exactly as the org store numbers
    them), each ``{"change", "action", "reason", "controls"}``, with the change enriched from
    the stored diff (change id, redline per field) where it can be matched by ids. The verdict
    (kind, substantive, tags) stays the impact's: it is the organisation's reading, which a
    decision of its reviewers may have made differ from the shared one (see tracker.review.decisions)."""
    rows = session.scalars(select(ChangeRow).where(ChangeRow.diff_id == impact.diff_id)).all()
    by_ids = {(tuple(r.old_ids or ()), tuple(r.new_ids or ())): r for r in rows}
    out: dict[int, dict[str, Any]] = {}
    for index, item in enumerate((impact.result or {}).get("items", [])):
        change = dict(item.get("change") or {})
        seq = int(change.get("seq", index))
        ids = (tuple(change.get("old_ids") or ()), tuple(change.get("new_ids") or ()))
        row = by_ids.get(ids)
        redline = change.get("redline")
        change.update(
            change_id=row.id if row is not None else None,
            redline=(row.data or {}).get("redline")
            if row is not None
            else redline
            if isinstance(redline, dict)
            else None,
            old_keys=list(row.old_keys or ()) if row is not None else [normalise_key(i) for i in ids[0]],
            new_keys=list(row.new_keys or ()) if row is not None else [normalise_key(i) for i in ids[1]],
        )
        out[seq] = {
            "change": change,
            "action": item.get("action", ""),
            "reason": item.get("reason", ""),
            "controls": list(item.get("controls") or ()),
        }
    return out


def _wanted(sub: Subscription, item: dict[str, Any], control_tags: dict[str, set[str]]) -> bool:
    spec, change = sub.spec, item["change"]
    if change.get("kind") == "unchanged":
        return False
    if spec.kinds and change.get("kind") not in spec.kinds:
        return False
    if spec.substantive_only and change.get("substantive") is False:
        return False
    if spec.tags and not set(spec.tags) & set(change.get("tags") or ()):
        return False
    if spec.control_ids or spec.control_tags:
        keys = {normalise_key(c["control_id"]) for c in item["controls"] if c.get("control_id")}
        wanted = {normalise_key(c) for c in spec.control_ids}
        tagged = {k for k in keys if set(spec.control_tags) & control_tags.get(k, set())}
        if not (keys & wanted or tagged):
            return False
    return True


def build_payload(session: Session, sub: Subscription, impact: ImpactRow) -> dict[str, Any] | None:
    """The event snapshot for one subscription, or ``None`` when its filters leave nothing."""
    diff = session.get(DiffRow, impact.diff_id)
    if diff is None:
        return None
    source = session.get(SourceRow, diff.source_id)
    old_v = session.get(VersionRow, diff.old_version_id)
    new_v = session.get(VersionRow, diff.new_version_id)
    org = session.get(OrganisationRow, impact.org_id)
    assert source is not None and old_v is not None and new_v is not None and org is not None
    items = impact_changes(session, impact)
    keys = {
        normalise_key(c["control_id"]) for i in items.values() for c in i["controls"] if c.get("control_id")
    }
    controls = {
        c.key: c
        for c in session.scalars(
            select(ControlRow).where(ControlRow.org_id == org.id, ControlRow.key.in_(keys))
        )
    }
    tags = {k: set(c.tags or ()) for k, c in controls.items()}
    chosen = [(seq, item) for seq, item in sorted(items.items()) if _wanted(sub, item, tags)]
    if not chosen:
        return None
    titles = _titles(session, old_v.id, new_v.id, [item["change"] for _, item in chosen])
    out_changes = []
    for seq, item in chosen:
        change = item["change"]
        new_keys, old_keys = change.get("new_keys") or [], change.get("old_keys") or []
        title = (titles.get(("new", new_keys[0])) if new_keys else None) or (
            titles.get(("old", old_keys[0])) if old_keys else None
        )
        out_changes.append(
            {
                "change_id": change.get("change_id"),
                "seq": seq,
                "kind": change.get("kind"),
                "substantive": change.get("substantive"),
                "tags": list(change.get("tags") or ()),
                "old_ids": list(change.get("old_ids") or ()),
                "new_ids": list(change.get("new_ids") or ()),
                "title": title or "",
                "confidence": change.get("confidence", 1.0),
                "reasons": list(change.get("reasons") or ()),
                "redline": change.get("redline"),
                "action": item["action"],
                "reason": item["reason"],
                "controls": [
                    {
                        "control_id": c.get("control_id"),
                        "title": controls[k].title
                        if (k := normalise_key(c.get("control_id") or "-")) in controls
                        else "",
                        "action": c.get("action", ""),
                        "score": c.get("score", 0.0),
                        "reason": c.get("reason", ""),
                    }
                    for c in item["controls"]
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
        "impact_id": impact.id,
        "occurred_at": utc(impact.created_at).isoformat(),
        "changes": out_changes,
        "affected_controls": affected,
    }


def _titles(
    session: Session, old_id: int, new_id: int, changes: list[dict[str, Any]]
) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for side, vid in (("old", old_id), ("new", new_id)):
        keys = {k for c in changes for k in c.get(f"{side}_keys") or ()}
        if keys:
            found = session.execute(
                select(RequirementRow.key, RequirementRow.title).where(
                    RequirementRow.version_id == vid, RequirementRow.key.in_(keys)
                )
            )
            for key, title in found:
                out[(side, key)] = title
    return out


def enqueue(engine: Engine, now: datetime | None = None) -> int:
    """Queue every new event for every active subscription; returns the number of rows queued.

    Idempotent: an event already in the outbox (sent, pending, dead or skipped) is not looked
    at again, and the unique key stops a concurrent run from queueing it twice.
    """
    now = now or datetime.now(UTC)
    queued = 0
    with Session(engine) as session:
        subs = [
            to_subscription(r) for r in session.scalars(select(SubscriptionRow).where(SubscriptionRow.active))
        ]
    for sub in subs:
        with Session(engine) as session:
            seen = set(
                session.scalars(select(OutboxRow.event_key).where(OutboxRow.subscription_id == sub.id))
            )
            query = (
                select(ImpactRow)
                .join(DiffRow, DiffRow.id == ImpactRow.diff_id)
                .join(SourceRow, SourceRow.id == DiffRow.source_id)
                .where(ImpactRow.org_id == sub.org_id, ImpactRow.created_at >= sub.since)
                .order_by(ImpactRow.id)
            )
            if sub.spec.sources:
                query = query.where(SourceRow.slug.in_(sub.spec.sources))
            impacts = [i for i in session.scalars(query) if event_key(i.diff_id) not in seen]
            for impact in impacts:
                payload = build_payload(session, sub, impact)
                queued += _insert(engine, sub, event_key(impact.diff_id), payload, now)
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
        impact = session.scalar(
            select(ImpactRow).where(ImpactRow.org_id == org_id, ImpactRow.diff_id == diff_id)
        )
        if impact is None:
            return []
        source = session.scalar(
            select(SourceRow.slug)
            .join(DiffRow, DiffRow.source_id == SourceRow.id)
            .where(DiffRow.id == diff_id)
        )
        for sub in subs:
            if utc(impact.created_at) < sub.since or (sub.spec.sources and source not in sub.spec.sources):
                continue
            seen = session.scalar(
                select(OutboxRow.id).where(OutboxRow.subscription_id == sub.id, OutboxRow.event_key == key)
            )
            if seen is None:
                _insert(engine, sub, key, build_payload(session, sub, impact), now)
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
