"""Crawl commands: registry, crawl, runs, schedule, run, mirror (serve and build)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, table
from tracker.domain.errors import InvalidInputError
from tracker.sources import registry as registry_mod

REGISTRY_OPTION = click.option(
    "--registry",
    "registry_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="source registry (default: TRACKER_REGISTRY or data/sources.toml)",
)


@click.command("registry")
@REGISTRY_OPTION
@FORMAT_OPTION
def registry_cmd(registry_path: Path | None, fmt: str) -> None:
    """List the registered sources: channel, schedule, format and first URL."""
    reg = registry_mod.load(registry_path)
    data = [
        {
            "slug": s.slug,
            "title": s.title,
            "publisher": s.publisher,
            "kind": s.kind,
            "format": s.format,
            "schedule": str(s.schedule),
            "url": s.entry_url,
            "enabled": s.enabled,
        }
        for s in reg.sources
    ]
    emit(
        fmt,
        data,
        lambda: table(
            [(d["slug"], d["kind"], d["format"], d["schedule"]) for d in data],
            ["source", "kind", "format", "schedule"],
        ),
    )


@click.command()
@click.argument("sources", nargs=-1)
@click.option("--all", "crawl_all", is_flag=True, help="crawl every enabled source")
@click.option("--force", is_flag=True, help="ignore stored ETag/Last-Modified (refetch everything)")
@click.option("--jobs", default=4, show_default=True, help="crawl processes at a time")
@REGISTRY_OPTION
@FORMAT_OPTION
@click.pass_obj
def crawl(
    ctx: Context,
    sources: tuple[str, ...],
    crawl_all: bool,
    force: bool,
    jobs: int,
    registry_path: Path | None,
    fmt: str,
) -> None:
    """Crawl SOURCE(s) now, each in its own process, and record the runs."""
    from tracker.crawl.launcher import run_many

    reg = registry_mod.load(registry_path)
    if crawl_all == bool(sources):
        raise InvalidInputError(
            "name the sources to crawl, or pass --all", f"sources: {', '.join(reg.slugs)}"
        )
    slugs = [s.slug for s in reg.sources if s.enabled] if crawl_all else [reg.get(s).slug for s in sources]
    started = time.monotonic()
    results = run_many(ctx.engine, slugs, jobs=jobs, registry=registry_path, force=force)
    data = {
        "seconds": round(time.monotonic() - started, 3),
        "bytes_fetched": sum(r.bytes_fetched for r in results),
        "results": [r.to_dict() for r in results],
    }
    emit(
        fmt,
        data,
        lambda: table(
            [(r.source, r.outcome, r.new_version or "", r.bytes_fetched, r.message[:90]) for r in results],
            ["source", "outcome", "new", "bytes", "message"],
        ),
    )
    if any(r.outcome in ("failed", "error") for r in results):
        raise SystemExit(1)


@click.command()
@click.option("--source", default=None, help="only this source")
@click.option("--limit", default=50, show_default=True)
@FORMAT_OPTION
@click.pass_obj
def runs(ctx: Context, source: str | None, limit: int, fmt: str) -> None:
    """Crawl run history, newest first."""
    from tracker.storage.crawls import RunStore

    found = RunStore(ctx.engine).history(source, limit)
    data = [r.to_dict() for r in found]
    emit(
        fmt,
        data,
        lambda: table(
            [
                (
                    d["id"],
                    d["source"],
                    d["started_at"][:19],
                    d["outcome"],
                    d["bytes_fetched"],
                    d["new_version"] or "",
                    d["message"][:70],
                )
                for d in data
            ],
            ["run", "source", "started (UTC)", "outcome", "bytes", "new", "message"],
        ),
    )


def _schedule_options(f: Any) -> Any:
    f = click.option(
        "--interval", type=float, default=None, help="override every schedule: seconds between runs"
    )(f)
    f = click.option("--now", "run_now", is_flag=True, help="also crawl every source once at start")(f)
    f = click.option("--workers", default=4, show_default=True, help="crawls at a time")(f)
    return REGISTRY_OPTION(f)


@click.command()
@_schedule_options
@click.pass_obj
def schedule(
    ctx: Context, interval: float | None, run_now: bool, workers: int, registry_path: Path | None
) -> None:
    """Run the crawl scheduler in this process until SIGTERM or Ctrl-C."""
    import logging

    from tracker.crawl.scheduler import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations on start-up are not news
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    serve(ctx.engine, registry_path, interval=interval, run_now=run_now, workers=workers)


@click.command()
@_schedule_options
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--job-workers", type=int, default=None, help="job worker processes [default: TRACKER_WORKERS, 1]"
)
@click.option("--concurrency", type=int, default=1, show_default=True, help="jobs at once per worker")
@click.pass_obj
def run(
    ctx: Context,
    interval: float | None,
    run_now: bool,
    workers: int,
    registry_path: Path | None,
    host: str,
    port: int,
    job_workers: int | None,
    concurrency: int,
) -> None:
    """The main job: the scheduler, job workers, digest sender and API, each its own process,
    restarted if it dies and all stopped by SIGTERM."""
    from tracker.crawl.scheduler import run_service

    ctx.engine  # noqa: B018 - migrate once here, before two processes share the database
    args = ["--workers", str(workers)]
    args += ["--interval", str(interval)] if interval else []
    args += ["--now"] if run_now else []
    args += ["--registry", str(registry_path)] if registry_path else []
    raise SystemExit(
        run_service(args, host, port, echo=click.echo, job_workers=job_workers, concurrency=concurrency)
    )


class _ServeByDefault(click.Group):
    """``tracker mirror DIR`` means ``tracker mirror serve DIR``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["serve", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ServeByDefault)
def mirror() -> None:
    """Serve a mirror folder on loopback (``tracker mirror DIR``), or build one."""


@mirror.command("serve")
@click.argument("root", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--port", default=8765, show_default=True, help="0 picks a free port")
@click.option("--verbose", is_flag=True, help="log every request")
def mirror_serve(root: Path, port: int, verbose: bool) -> None:
    """Serve ROOT (laid out HOST/PATH) on 127.0.0.1 with ETag and Last-Modified."""
    from tracker.demo.mirror import MirrorServer

    server = MirrorServer(root, port, verbose=verbose)
    click.echo(f"serving {root} on {server.url}; crawl it with TRACKER_MIRROR_URL={server.url}")
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
        click.echo(f"served {server.stats.snapshot()}")


@mirror.command("build")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--from-corpus",
    "corpus",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="the shared corpus (with MANIFEST.json)",
)
@click.option(
    "--upto", multiple=True, metavar="SOURCE=LABEL", help="reveal versions of SOURCE up to LABEL only"
)
@click.option("--no-samples", is_flag=True, help="leave out data/mirror/ samples")
@click.option("--clean", is_flag=True, help="empty OUT first")
@REGISTRY_OPTION
@FORMAT_OPTION
def mirror_build(
    out: Path,
    corpus: Path | None,
    upto: tuple[str, ...],
    no_samples: bool,
    clean: bool,
    registry_path: Path | None,
    fmt: str,
) -> None:
    """Lay out OUT so that a crawl in mirror mode finds the corpus's versions and the samples."""
    from tracker.demo.mirror_build import build_mirror, default_samples

    limits: dict[str, str] = {}
    for item in upto:
        slug, sep, label = item.partition("=")
        if not sep:
            raise InvalidInputError(f"--upto {item!r} is not SOURCE=LABEL", "e.g. --upto mitre-atlas=v5.5.0")
        limits[slug] = label
    report = build_mirror(
        out,
        registry_mod.load(registry_path),
        corpus,
        samples=None if no_samples else default_samples(),
        upto=limits,
        clean=clean,
    )
    data = report.to_dict()
    emit(
        fmt,
        data,
        lambda: (
            f"{out}: {report.written} file(s) written, {report.unchanged} unchanged\n"
            + "\n".join(
                f"  {slug}: {len(labels)} version(s), up to {labels[-1]}"
                for slug, labels in report.revealed.items()
            )
        ),
    )


def register(group: click.Group) -> None:
    for command in (registry_cmd, crawl, runs, schedule, run, mirror):
        group.add_command(command)
