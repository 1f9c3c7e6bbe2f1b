"""A small world for the job tests: CSF 1.1 archived, two organisations whose controls are
SP 800-53 rev5 mapped from CSF 1.1 by the published crosswalk, and their subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tracker.digests.model import Channel, SubscriptionSpec
from tracker.domain.model import Source
from tracker.mapping.crosswalks.files import read_csv
from tracker.mapping.documents import controls_from_requirements
from tracker.sources.ingest import ingest_files
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore
from tracker.storage.subscriptions import SubscriptionStore
from tracker.storage.tables.api import DeliveryRow, FeedEntryRow, OutboxRow, SubscriptionRow
from tracker.storage.tables.archive import DiffRow
from tracker.storage.tables.orgs import ImpactRow

LIMIT = 64 * 1024 * 1024
CSF = Source(slug="nist-csf", title="NIST CSF")
# A URL the save-time check of an older release let through and no HTTP client can parse.
UNSENDABLE = "http://a:port/h"


@dataclass
class World:
    webhook_sub: int = 0  # acme: a webhook to the loopback receiver
    atom_sub: int = 0  # beta: an Atom feed
    poison_sub: int = 0  # beta: a webhook that can never be sent
    subs: list[int] = field(default_factory=list)


def build_world(engine: Engine, corpus: Path, receiver_url: str) -> World:
    archive = Archive(engine)
    ingest_files(archive, CSF, "1.1", [corpus / "nist-csf" / "1.1"], max_bytes=LIMIT)
    sp = Source(slug="nist-sp-800-53")
    ingest_files(
        archive, sp, "rev5", [corpus / "nist-sp-800-53" / "rev5-oscal-5.0.1-2021-06"], max_bytes=LIMIT
    )
    controls = controls_from_requirements(archive.requirements("nist-sp-800-53", "rev5"))
    orgs, subs, world = OrgStore(engine), SubscriptionStore(engine, allow_private_webhooks=True), World()
    since = datetime.now(UTC) - timedelta(days=1)
    for slug in ("acme", "beta"):
        org = orgs.create(slug)
        ControlStore(engine).import_controls(slug, controls, "catalog")
        if slug == "acme":
            spec = SubscriptionSpec(name="hook", channels=(Channel.WEBHOOK,), webhook_url=receiver_url)
            world.webhook_sub = subs.create(org.id, spec, since=since).subscription.id
        else:
            world.atom_sub = subs.create(org.id, SubscriptionSpec(name="feed"), since=since).subscription.id
            spec = SubscriptionSpec(name="bad", channels=(Channel.WEBHOOK,), webhook_url=receiver_url)
            world.poison_sub = subs.create(org.id, spec, since=since).subscription.id
    with Session(engine) as session, session.begin():
        session.execute(
            update(SubscriptionRow)
            .where(SubscriptionRow.id == world.poison_sub)
            .values(webhook_url=UNSENDABLE)
        )
    crosswalk = (corpus.parent / "eval" / "csf1.1_to_sp800-53r5.csv").read_bytes()
    MappingStore(engine).add_mappings(
        None, read_csv(crosswalk, source_set="nist-csf@1.1", target_set="nist-sp-800-53@rev5"), "eval"
    )
    world.subs = [world.webhook_sub, world.atom_sub, world.poison_sub]
    return world


def counts(engine: Engine) -> dict[str, object]:
    """What the pipeline stored, counted the way the fault tests assert on it."""
    with Session(engine) as session:
        per_org = session.execute(select(ImpactRow.org_id, func.count()).group_by(ImpactRow.org_id)).all()
        outbox = session.execute(
            select(OutboxRow.subscription_id, OutboxRow.channel, OutboxRow.status).order_by(OutboxRow.id)
        ).all()
        sent = session.execute(
            select(DeliveryRow.subscription_id, func.count())
            .where(DeliveryRow.status == "sent")
            .group_by(DeliveryRow.subscription_id)
        ).all()
        return {
            "diffs": session.scalar(select(func.count()).select_from(DiffRow)),
            "impacts_per_org": sorted(n for _, n in per_org),
            "outbox": sorted((s, c, st) for s, c, st in outbox),
            "sent_per_sub": {s: n for s, n in sent},
            "feed_entries": session.scalar(select(func.count()).select_from(FeedEntryRow)),
        }
