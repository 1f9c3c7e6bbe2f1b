"""What happens after a crawl archives a new version: diff, impact per organisation, digests.

The spiders call :func:`on_new_version` once per newly archived version, after the version's
transaction has committed. An exception raised here is recorded in the crawl run's message
and never undoes the archived version; every step reads stored data and stores its result,
so rerunning it (``tracker diff``, ``tracker impact``, ``tracker digests send``) recovers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from tracker.diff.service import diff_archived, previous_version
from tracker.domain.model import Source, Version
from tracker.impact.service import compute_impact, org_mappings
from tracker.settings import Settings
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.orgs import OrgStore
from tracker.wiring import make_embedder

log = logging.getLogger(__name__)


@dataclass
class PipelineReport:
    diff_id: int | None = None
    impacts: dict[str, int] = field(default_factory=dict)  # org -> impact id
    queued: int = 0


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
    orgs = OrgStore(engine)
    for org in orgs.all():
        controls = ControlStore(engine).controls(org.slug)
        # An organisation is interested when it has mapped this source onto its controls.
        mapped = org_mappings(engine, org.slug, controls, source.slug, previous) if controls else []
        if mapped:
            result = compute_impact(
                engine,
                org.slug,
                source.slug,
                previous,
                version.label,
                embedder,
                controls=controls,
                old_mappings=mapped,
                stored=stored,
            )
            report.impacts[org.slug] = result.impact_id
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
