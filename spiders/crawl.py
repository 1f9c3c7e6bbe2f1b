"""One crawl of one source, in this process: ``python -m spiders.crawl SOURCE``.

The process takes the source's lock (or exits 75 if a live crawl holds it), marks runs
left 'running' by dead processes as failed, records a new run, crawls, and records the
outcome. Validators are saved only when the run did not fail, so the next run retries
whatever failed. The last line on stdout is a JSON summary for the launcher.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from tracker.crawl.archiving import CrawlReport
from tracker.domain.errors import TrackerError
from tracker.settings import Settings
from tracker.sources import registry as registry_mod
from tracker.sources.registry import SourceSpec
from tracker.storage.archive import Archive
from tracker.storage.crawls import CrawlLock, RunStore, ValidatorStore
from tracker.storage.db import make_engine, upgrade

EXIT_LOCKED = 75  # EX_TEMPFAIL: another live crawl of this source holds the lock
EXIT_CONFIG = 2
EXIT_DATABASE = 3

SPIDERS = {
    "govuk-content-api": "spiders.govuk:GovukSpider",
    "etsi-deliver-folder": "spiders.etsi:EtsiSpider",
    "github-release-file": "spiders.github:GithubSpider",
    "github-folder": "spiders.github:GithubSpider",
    "nist-oscal": "spiders.nist:NistSpider",
    "nist-pdf": "spiders.nist:NistSpider",
    "eurlex": "spiders.generic:GenericSpider",
    "generic": "spiders.generic:GenericSpider",
}


def user_agent(contact: str) -> str:
    """The crawler's user agent naming the operator's contact (a URL or a mail address)."""
    from spiders.settings import USER_AGENT

    product = USER_AGENT.split(" (", 1)[0]
    return f"{product} (standards change monitor; +{contact})"


def spider_class(kind: str) -> Any:
    module, name = SPIDERS[kind].split(":")
    return getattr(importlib.import_module(module), name)


def scrapy_settings(overrides: dict[str, str], mirror: bool, max_bytes: int, contact: str = "") -> Any:
    from scrapy.settings import Settings as ScrapySettings

    settings = ScrapySettings()
    settings.setmodule("spiders.settings", priority="project")
    if contact:  # publishers see who runs this instance, not only the project
        settings.set("USER_AGENT", user_agent(contact), priority="project")
    settings.set("DOWNLOAD_MAXSIZE", max_bytes, priority="project")
    if mirror:  # our own loopback server: no need to wait between requests
        settings.set("AUTOTHROTTLE_START_DELAY", 0.0, priority="project")
        settings.set("DOWNLOAD_DELAY", 0.0, priority="project")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_spider(spec: SourceSpec, ctx: Any, settings: Any) -> None:
    """Crawl with Scrapy in this process (the reactor starts and stops here, once)."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_class(spec.kind))

    def spider_error(failure: Any, response: Any, spider: Any = None) -> None:
        ctx.report.fail(f"spider error on {response.url}: {failure.getErrorMessage()}")

    def item_error(item: Any, response: Any, failure: Any, spider: Any = None) -> None:
        ctx.report.fail(f"pipeline error: {failure.getErrorMessage()}")

    crawler.signals.connect(spider_error, signal=signals.spider_error)
    crawler.signals.connect(item_error, signal=signals.item_error)
    process.crawl(crawler, ctx=ctx)
    process.start()


def _heartbeat(lock: CrawlLock, stop: threading.Event) -> None:
    while not stop.wait(max(lock.ttl.total_seconds() / 4, 0.5)):
        try:
            if not lock.heartbeat():
                print(f"lost the crawl lock of {lock.source}: taken over as stale", file=sys.stderr)
        except Exception as exc:  # keep crawling; the lock will expire and be reported
            print(f"heartbeat failed: {exc}", file=sys.stderr)


def _emit(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


def crawl(
    spec: SourceSpec,
    settings: Settings,
    *,
    trigger: str,
    overrides: dict[str, str],
    force: bool,
    migrate: bool = True,
) -> int:
    from spiders.base import CrawlContext

    engine = make_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    lock = CrawlLock(engine, spec.slug, ttl=settings.crawl_lock_ttl)
    if not lock.acquire():
        holder = lock.holder.describe() if lock.holder else "another process"
        _emit({"source": spec.slug, "outcome": "skipped", "message": f"already being crawled by {holder}"})
        return EXIT_LOCKED
    stop = threading.Event()
    try:
        runs = RunStore(engine)
        if lock.took_over is not None:
            runs.fail_running(
                spec.slug, f"abandoned: crawl process {lock.took_over.describe()} stopped before finishing"
            )
        else:
            runs.fail_running(spec.slug, "abandoned: the crawl process stopped before finishing")
        run_id = runs.start(spec.slug, trigger)
        _emit({"source": spec.slug, "run_id": run_id, "pid": os.getpid()})
        threading.Thread(target=_heartbeat, args=(lock, stop), daemon=True).start()
        report = CrawlReport()
        mirror = bool(settings.mirror_url)
        ctx = CrawlContext(
            spec=spec,
            archive=Archive(engine),
            validators=ValidatorStore(engine),
            report=report,
            mirror_url=settings.mirror_url,
            max_bytes=settings.max_document_bytes,
            force=force,
            # every channel fetches public addresses only; the mirror is loopback by design
            ssrf_guard=not mirror,
        )
        scrapy = scrapy_settings(overrides, mirror, settings.max_document_bytes, settings.crawl_contact)
        ctx.timeout = scrapy.getfloat("DOWNLOAD_TIMEOUT")
        try:
            run_spider(spec, ctx, scrapy)
        except Exception as exc:
            report.fail(f"crawler error: {type(exc).__name__}: {exc}")
        if report.outcome != "failed":
            ValidatorStore(engine).put(report.validators.values())
        new = ", ".join(report.new_versions) or None
        runs.finish(
            run_id,
            report.outcome,
            report.message,
            bytes_fetched=report.bytes_fetched,
            requests=report.requests,
            new_version=new,
        )
        _emit(
            {
                "source": spec.slug,
                "run_id": run_id,
                "outcome": report.outcome,
                "message": report.message,
                "bytes_fetched": report.bytes_fetched,
                "requests": report.requests,
                "new_version": new,
            }
        )
        return 0
    finally:
        stop.set()
        lock.release()
        engine.dispose()


def _overrides(pairs: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"-s expects KEY=VALUE, got {pair!r}")
        found[key] = value
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spiders.crawl", description=__doc__)
    parser.add_argument("source")
    parser.add_argument("--registry", type=Path, default=None)
    parser.add_argument("--trigger", default="manual")
    parser.add_argument("--force", action="store_true", help="ignore stored ETag/Last-Modified validators")
    parser.add_argument(
        "--no-migrate", action="store_true", help="the launcher already migrated the database"
    )
    parser.add_argument(
        "-s", "--set", dest="settings", action="append", default=[], help="Scrapy setting KEY=VALUE"
    )
    args = parser.parse_args(argv)
    try:
        spec = registry_mod.load(args.registry).get(args.source)
    except TrackerError as err:
        _emit({"source": args.source, "outcome": "error", "message": str(err)})
        return EXIT_CONFIG
    try:
        return crawl(
            spec,
            Settings.from_env(),
            trigger=args.trigger,
            overrides=_overrides(args.settings),
            force=args.force,
            migrate=not args.no_migrate,
        )
    except (TrackerError, SQLAlchemyError) as exc:  # the database failed: the launcher records it
        first_line = (str(exc).strip().splitlines() or [""])[0]
        _emit(
            {
                "source": spec.slug,
                "outcome": "error",
                "message": f"database error: {type(exc).__name__}: {first_line}",
            }
        )
        return EXIT_DATABASE


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # everything is recorded and flushed: skip the slow interpreter teardown
