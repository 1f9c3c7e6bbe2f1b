"""`tracker demo`: the main job end to end on the embedded default, against a local mirror.

Two crawl cycles over a mirror built from the shared corpus (or the project's samples):
the first archives the sources up to MITRE ATLAS v5.5.0 and the OWASP Top 10 for LLM
2025 release candidate; a demo organisation imports its controls and lets the mapper propose mappings;
the second cycle discovers ATLAS v5.6.0 and the final OWASP 2025 list, and the pipeline diffs
them, stores the organisation's impact and queues its digest. Then, unless ``--once``, the
scheduler and the API keep running on that mirror.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tracker.crawl.launcher import CrawlResult, run_many
from tracker.demo.mirror import MirrorServer
from tracker.demo.mirror_build import build_mirror, default_samples
from tracker.settings import Settings
from tracker.sources.registry import Registry
from tracker.sources.registry import load as load_registry

DEMO_ORG = "demo-org"
FIRST_CYCLE = {"mitre-atlas": "v5.5.0", "owasp-top10-llm": "2025-rc-2024-11-08"}
SECOND_CYCLE = {"mitre-atlas": "v5.6.0", "owasp-top10-llm": "2025-release"}
CONTROLS = Path(__file__).resolve().parents[2] / "data" / "demo" / "controls.csv"


def _corpus(settings: Settings) -> Path | None:
    return settings.corpus_dir if (settings.corpus_dir / "MANIFEST.json").is_file() else None


def _upto(registry: Registry, corpus: Path | None, wanted: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in wanted.items() if corpus is not None and k in registry.slugs}


def _mirrored(settings: Settings, registry: Registry, mirror: MirrorServer) -> dict[str, str]:
    """The environment of the demo's child processes: these settings, crawling the mirror."""
    return replace(settings, mirror_url=mirror.url, registry=registry.path).child_env()


def _cycle(
    engine: Engine, registry: Registry, env: dict[str, str], echo: Callable[[str], None]
) -> list[CrawlResult]:
    results = run_many(engine, registry.slugs, jobs=2, registry=registry.path, trigger="demo", env=env)
    for r in results:
        echo(f"  {r.source:38} {r.outcome:10} {r.new_version or '':28} {r.message[:60]}")
    return results


def _run_jobs(engine: Engine, settings: Settings, echo: Callable[[str], None]) -> None:
    """The demo runs the pipeline's jobs (diff, impact, digest, delivery) to completion in
    this process before it reports; `tracker run` leaves them to its workers."""
    from tracker.jobs.runner import drain

    ran = drain(engine, settings)
    echo("  jobs: " + (", ".join(f"{n} {k}" for k, n in sorted(ran.items())) or "none due"))


def _setup_org(engine: Engine, settings: Settings, echo: Callable[[str], None]) -> int:
    from tracker.digests.model import Channel, SubscriptionSpec
    from tracker.domain.errors import ConflictError
    from tracker.mapping.controls_io import read_controls
    from tracker.mapping.documents import queries_from_requirements
    from tracker.mapping.mapper import Mapper
    from tracker.storage.archive import Archive
    from tracker.storage.controls import ControlStore
    from tracker.storage.mappings import MappingStore
    from tracker.storage.orgs import OrgStore
    from tracker.storage.subscriptions import SubscriptionStore
    from tracker.wiring import make_embedder

    orgs, archive = OrgStore(engine), Archive(engine)
    try:
        org = orgs.create(DEMO_ORG, "Demo organisation")
        created = SubscriptionStore(engine).create(
            org.id, SubscriptionSpec(name="all changes", channels=(Channel.ATOM,)), since=org.created_at
        )
        echo(f"  created {DEMO_ORG}; Atom feed: {settings.public_url}/v1/feeds/{created.feed_token}.atom")
    except ConflictError:
        echo(f"  {DEMO_ORG} exists already")
    report = ControlStore(engine).import_controls(
        DEMO_ORG, read_controls(CONTROLS.name, CONTROLS.read_bytes()), "file:controls.csv"
    )
    echo(f"  controls: {report.created} created, {report.unchanged} unchanged")
    controls = ControlStore(engine).controls(DEMO_ORG)
    mapper = Mapper(controls, make_embedder(engine, settings) if settings.use_model else None)
    for slug in FIRST_CYCLE:
        versions = archive.versions(slug) if slug in {s.slug for s, _ in archive.sources()} else []
        if not versions:
            continue
        label = versions[-1].label
        queries = queries_from_requirements(archive.requirements(slug, label))
        # Threat-to-control links are looser than a publisher's crosswalk, so the two best
        # candidates above a modest score are proposed; a reviewer accepts or rejects them.
        proposals = [
            m
            for ranking in mapper.rank(queries, top_k=2)
            for m in ranking.as_mappings(
                min_score=0.2, source_set=f"{slug}@{label}", target_set=f"org:{DEMO_ORG}"
            )
        ]
        written = MappingStore(engine).add_mappings(DEMO_ORG, proposals, "tracker demo")
        echo(f"  mapper proposed {written} mapping(s) from {slug} {label} onto {DEMO_ORG}'s controls")
    return len(controls)


def _report(engine: Engine, echo: Callable[[str], None]) -> dict[str, Any]:
    from tracker.storage.archive import Archive
    from tracker.storage.diffs import DiffStore
    from tracker.storage.impacts import ImpactStore

    out: dict[str, Any] = {}
    archive, diffs = Archive(engine), DiffStore(engine)
    for source, _ in archive.sources():
        labels = [v.label for v in archive.versions(source.slug)]
        if len(labels) < 2:
            continue
        old, new = labels[-2], labels[-1]
        stored = diffs.load(source.slug, old, new)
        if stored is None:
            continue
        summary = {k: v for k, v in stored.result.summary.items() if v}
        impact = ImpactStore(engine).impact(DEMO_ORG, stored.id)
        out[source.slug] = {
            "diff_id": stored.id,
            "summary": summary,
            "impact": impact.summary if impact else {},
        }
        echo(f"  {source.slug} {old} -> {new}: {summary}")
        echo(f"    impact on {DEMO_ORG}: {impact.summary if impact else 'none stored'}")
        echo(f"    review page: /ui/sources/{source.slug}/review/{old}/{new}")
    return out


def run_demo(
    engine: Engine, settings: Settings, echo: Callable[[str], None], *, once: bool, port: int
) -> dict[str, Any]:
    registry = load_registry(settings=settings)
    corpus = _corpus(settings)
    root = settings.data_dir / "demo-mirror"
    echo(f"mirror: {root} (from {'the corpus at ' + str(corpus) if corpus else 'data/mirror samples only'})")
    build_mirror(
        root,
        registry,
        corpus,
        samples=default_samples(),
        upto=_upto(registry, corpus, FIRST_CYCLE),
        clean=True,
    )
    with MirrorServer(root) as mirror:
        echo(f"serving it at {mirror.url}\n\ncycle 1: crawl every registered source")
        env = _mirrored(settings, registry, mirror)
        _cycle(engine, registry, env, echo)
        _run_jobs(engine, settings, echo)
        echo("\norganisation")
        _setup_org(engine, settings, echo)
        build_mirror(
            root, registry, corpus, samples=default_samples(), upto=_upto(registry, corpus, SECOND_CYCLE)
        )
        echo("\ncycle 2: the publishers have released new versions")
        _cycle(engine, registry, env, echo)
        _run_jobs(engine, settings, echo)
        echo("\nwhat changed, and what it means for the organisation")
        result = _report(engine, echo)
        from tracker.digests.dispatcher import Dispatcher

        sent = Dispatcher(engine, public_url=settings.public_url).run_once()
        echo(f"\ndigests: {sent.to_dict()}")
        if once:
            return result
        from tracker.crawl.scheduler import run_service

        echo(f"\nAPI: http://127.0.0.1:{port}/docs  review pages: http://127.0.0.1:{port}/ui  (Ctrl-C stops)")
        run_service(["--workers", "2"], "127.0.0.1", port, echo=echo, env=env)
    return result
