"""What happens after a crawl archives a new version: diff, impact per organisation, digests.

A crawl archives a new version and, in the same transaction, a durable ``diff`` job
(:func:`diff_job`); after the commit :func:`announce` wakes a worker. The workers run the
stages as jobs (:mod:`tracker.jobs.stages`): the diff, one impact job per interested
organisation, its digest events, one delivery per subscription and channel.

:func:`on_new_version` runs the same stages inline in the caller's process (tests and
scripts that want the result at once); every step reads stored data and stores its result,
so rerunning it recovers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tracker.diff.service import diff_archived, previous_version
from tracker.domain.model import Source, Version
from tracker.impact.service import compute_impact, org_mappings
from tracker.mapping.types import Control, Mapping
from tracker.settings import Settings
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.jobs import JobSpec
from tracker.storage.orgs import OrgStore
from tracker.wiring import make_embedder

log = logging.getLogger(__name__)


@dataclass
class PipelineReport:
    diff_id: int | None = None
    impacts: dict[str, int] = field(default_factory=dict)  # org -> impact id
    queued: int = 0


def diff_job(source: str, label: str) -> JobSpec:
    """The job that diffs ``label`` against the version before it (keyed by the version)."""
    from tracker.jobs.args import DiffArgs

    return DiffArgs(source, label).spec()


def announce(archive: Archive, source: Source, version: Version) -> None:
    """Wake a worker for the diff job written with ``version`` (a lost wake-up is found by
    the workers' recovery sweep, so a failure here loses nothing)."""
    from tracker.jobs.queue import wake

    wake(archive.engine, Settings.from_env(), diff_job(source.slug, version.label).key)


def interested(
    archive: Archive, source: str, previous: str
) -> list[tuple[str, list[Control], list[Mapping]]]:
    """Organisations with mappings of ``source`` at ``previous`` onto their controls, with
    those controls and mappings (an organisation that mapped nothing has nothing to reassess)."""
    engine = archive.engine
    out = []
    for org in OrgStore(engine).all():
        controls = ControlStore(engine).controls(org.slug)
        mapped = org_mappings(engine, org.slug, controls, source, previous) if controls else []
        if mapped:
            out.append((org.slug, controls, mapped))
    return out


def on_new_version(
    archive: Archive, source: Source, version: Version, settings: Settings | None = None
) -> PipelineReport:
    """Diff ``version`` against the one before it, store each interested organisation's impact,
    and queue digest events for their subscriptions."""
    settings = settings or Settings.from_env()
    report = PipelineReport()
    previous = previous_version(archive, source.slug, version.label)
    if previous is None:
        return report  # the first version of a source: nothing to compare with
    engine = archive.engine
    embedder = make_embedder(engine, settings) if settings.use_model else None
    stored = diff_archived(archive, DiffStore(engine), source.slug, previous, version.label, embedder)
    report.diff_id = stored.id
    for org, controls, mapped in interested(archive, source.slug, previous):
        result = compute_impact(
            engine,
            org,
            source.slug,
            previous,
            version.label,
            embedder,
            controls=controls,
            old_mappings=mapped,
            stored=stored,
        )
        report.impacts[org] = result.impact_id
    from tracker.digests.events import enqueue

    report.queued = enqueue(engine)
    log.info(
        "pipeline %s %s: diff %s, impacts %s, %d event(s) queued",
        source.slug,
        version.label,
        stored.id,
        report.impacts,
        report.queued,
    )
    return report
