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

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from embeddings.protocol import Embedder
from tracker.diff.service import diff_archived, editions, previous_version
from tracker.diff.types import ENGINE_VERSION
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


@dataclass(frozen=True)
class Step:
    """Two consecutive editions of a source: one timeline step."""

    source: str
    old: str
    new: str


def undiffed_steps(archive: Archive, slugs: Iterable[str], model_id: str | None) -> list[Step]:
    """The consecutive edition pairs of ``slugs`` that have no diff stored by the running
    engine with this model (renditions and companions are not steps)."""
    store = DiffStore(archive.engine)
    steps = []
    for slug in slugs:
        done = {
            (h.old_version, h.new_version)
            for h in store.headers_of_source(slug)
            if h.engine == ENGINE_VERSION and (h.model_id or None) == model_id
        }
        labels = [v.label for v in editions(archive, slug)]
        steps += [Step(slug, a, b) for a, b in itertools.pairwise(labels) if (a, b) not in done]
    return steps


def diff_steps(
    archive: Archive,
    steps: Iterable[Step],
    embedder: Embedder | None,
    on_step: Callable[[Step], None] | None = None,
) -> int:
    """Diff and store every step in this process; returns how many were diffed.

    ``tracker ingest-corpus`` fills a whole timeline this way rather than through the job
    queue: the diffs are CPU-bound, and on a small machine one process that keeps the model
    and its vector cache warm finishes sooner than workers competing for the same cores, each
    loading the model, while the command can show its progress and return with every
    timeline complete. A crawl, which archives one version now and then, queues a durable
    ``diff`` job instead (:func:`diff_job`).
    """
    store = DiffStore(archive.engine)
    count = 0
    for step in steps:
        if on_step is not None:
            on_step(step)
        diff_archived(archive, store, step.source, step.old, step.new, embedder)
        count += 1
    return count
