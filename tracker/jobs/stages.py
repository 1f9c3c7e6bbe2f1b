"""The pipeline's stages as job bodies: diff -> impact per organisation -> digest -> delivery.

Each body reads stored data, stores its effect idempotently and names the jobs that follow
(:class:`Outcome`); the runner adds those to the ledger in the same transaction that marks
the job done. Keys make reruns harmless:

- ``diff:<source>:<label>``: the stored diff is unique per version pair, engine and model;
- ``impact:<diff>:<org>``: an impact already stored for the pair is kept, not recomputed;
- ``digest:<diff>:<org>``: outbox rows are unique per subscription, event and channel;
- ``deliver:<subscription>:<channel>:<event>``: the outbox row's claim and mark (see
  :mod:`tracker.digests.dispatcher`) send it once, or twice only if a worker dies between
  the send and the mark (receivers deduplicate on the stable ``webhook-id``/``Message-ID``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from embeddings.protocol import Embedder
from tracker.digests.dispatcher import Dispatcher
from tracker.digests.webhooks import HttpWebhookNotifier
from tracker.jobs.args import DeliverArgs, DiffArgs, DigestArgs, ImpactArgs
from tracker.settings import Settings
from tracker.storage.jobs import JobSpec


@dataclass
class Outcome:
    follow: list[JobSpec] = field(default_factory=list)
    later: datetime | None = None  # not finished: run again then (an undelivered digest)
    note: str = ""
    dead: str = ""  # finished for good without success (a message that can never be sent)


@cache
def _embedder(engine: Engine, model: str) -> Embedder:
    from tracker.wiring import make_embedder

    return make_embedder(engine, Settings.from_env())


def embedder_for(engine: Engine, settings: Settings) -> Embedder | None:
    """One embedder per worker process: loading the model costs seconds, not per job."""
    return _embedder(engine, settings.model_name) if settings.use_model else None


def diff(engine: Engine, settings: Settings, args: dict[str, Any]) -> Outcome:
    from tracker.diff.service import diff_archived, previous_version
    from tracker.storage.archive import Archive
    from tracker.storage.diffs import DiffStore

    job = DiffArgs.of(args)
    archive, source, label = Archive(engine), job.source, job.label
    previous = previous_version(archive, source, label)
    if previous is None:
        return Outcome(note="no edition before it (a first version, a rendition or a companion)")
    stored = diff_archived(
        archive, DiffStore(engine), source, previous, label, embedder_for(engine, settings)
    )
    # Whether an organisation is interested (has mapped this source onto its controls) costs
    # a read of its controls and mappings: each impact job decides for its own organisation,
    # in parallel, rather than this one job for all of them in turn.
    follow = [
        ImpactArgs(stored.id, org, source, previous, label).spec() for org in orgs_with_controls(engine)
    ]
    return Outcome(follow, note=f"diff {stored.id}, {len(follow)} organisation(s) with controls")


def orgs_with_controls(engine: Engine) -> list[str]:
    from tracker.storage.tables.orgs import ControlRow, OrganisationRow

    with Session(engine) as session:
        having = select(ControlRow.org_id).distinct()
        return list(
            session.scalars(
                select(OrganisationRow.slug)
                .where(OrganisationRow.id.in_(having))
                .order_by(OrganisationRow.slug)
            )
        )


def impact(engine: Engine, settings: Settings, args: dict[str, Any]) -> Outcome:
    from tracker.impact.service import compute_impact, org_mappings
    from tracker.storage.controls import ControlStore
    from tracker.storage.diffs import DiffStore
    from tracker.storage.impacts import ImpactStore

    job = ImpactArgs.of(args)
    diff_id, org, source, old, new = job.diff_id, job.org, job.source, job.old, job.new
    digest = DigestArgs(diff_id, org).spec()
    if ImpactStore(engine).impact(org, diff_id) is not None:
        return Outcome([digest], note="impact already stored")
    controls = ControlStore(engine).controls(org)
    mapped = org_mappings(engine, org, controls, source, old) if controls else []
    if not mapped:
        return Outcome(note=f"{org} maps nothing of {source} {old}: not interested")
    report = compute_impact(
        engine,
        org,
        source,
        old,
        new,
        embedder_for(engine, settings),
        controls=controls,
        old_mappings=mapped,
        stored=DiffStore(engine).get(diff_id),
    )
    return Outcome([digest], note=f"impact {report.impact_id}")


def digest(engine: Engine, settings: Settings, args: dict[str, Any]) -> Outcome:
    from tracker.digests.events import enqueue_for
    from tracker.storage.subscriptions import utc
    from tracker.storage.tables.orgs import OrganisationRow

    job = DigestArgs.of(args)
    with Session(engine) as session:
        org_id = session.scalar(select(OrganisationRow.id).where(OrganisationRow.slug == job.org))
    if org_id is None:
        return Outcome(note="the organisation was deleted")
    rows = enqueue_for(engine, org_id, job.diff_id)
    follow = [
        DeliverArgs(r.subscription_id, r.channel, r.event_key).spec(
            run_after=max(utc(r.due_at), utc(r.next_attempt_at))
        )
        for r in rows
    ]
    return Outcome(follow, note=f"{len(follow)} delivery job(s)")


def webhook_notifier(settings: Settings) -> HttpWebhookNotifier:
    return HttpWebhookNotifier(
        allow_private=settings.webhook_allow_private,
        proxy=settings.webhook_proxy,
        allow_http=settings.webhook_allow_http,
    )


def make_dispatcher(
    engine: Engine, settings: Settings, webhook: HttpWebhookNotifier, only: tuple[int, str] | None = None
) -> Dispatcher:
    """The dispatcher as configured, with the job settings' lease and retries; the caller
    closes ``webhook``."""
    from tracker.digests.notifiers import SmtpEmailNotifier

    return Dispatcher(
        engine,
        email=SmtpEmailNotifier(settings.smtp_host, settings.smtp_port),
        webhook=webhook,
        sender=settings.smtp_sender,
        public_url=settings.public_url,
        tag_authority=settings.tag_authority,
        lease=timedelta(seconds=settings.job_lease),
        backoff=timedelta(seconds=settings.job_backoff),
        max_attempts=settings.job_max_attempts,
        only=only,
        jitter=0.5,
    )


def deliver(engine: Engine, settings: Settings, args: dict[str, Any]) -> Outcome:
    """Send whatever of this subscription and channel is due (one email digest may carry
    several events), then report on this job's own outbox row."""
    from tracker.storage.subscriptions import utc
    from tracker.storage.tables.api import OutboxRow

    job = DeliverArgs.of(args)
    sub_id, channel, key = job.subscription_id, job.channel, job.event_key
    webhook = webhook_notifier(settings)
    try:
        make_dispatcher(engine, settings, webhook, (sub_id, channel)).dispatch()
    finally:
        webhook.close()
    with Session(engine) as session:
        row = session.scalar(
            select(OutboxRow).where(
                OutboxRow.subscription_id == sub_id, OutboxRow.channel == channel, OutboxRow.event_key == key
            )
        )
        if row is None or row.status in ("sent", "cancelled", "skipped"):
            return Outcome(note=row.status if row is not None else "nothing queued")
        if row.status == "dead":
            return Outcome(dead=row.last_error or "undeliverable")
        # pending: not yet due (a daily digest), or retried by the outbox after a failed attempt
        # (or claimed by a sibling job sending this subscription's email digest right now)
        soon = datetime.now(UTC) + timedelta(seconds=1)
        held = utc(row.claimed_until) if row.claimed_until is not None else soon
        when = max(utc(row.due_at), utc(row.next_attempt_at), held, soon)
        return Outcome(later=when, note=row.last_error)


STAGES: dict[str, Callable[[Engine, Settings, dict[str, Any]], Outcome]] = {
    "diff": diff,
    "impact": impact,
    "digest": digest,
    "deliver": deliver,
}
