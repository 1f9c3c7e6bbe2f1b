"""Job commands: ``tracker worker`` runs jobs; ``tracker jobs`` lists, replays and drains them."""

from __future__ import annotations

import logging

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, table
from tracker.storage.jobs import DEAD, STATUSES, Job


def _rows(jobs: list[Job]) -> str:
    if not jobs:
        return "no jobs"
    return table(
        (
            (
                j.id,
                j.kind,
                j.key,
                j.status,
                j.attempts,
                j.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                j.last_error[:60],
            )
            for j in jobs
        ),
        ["id", "kind", "key", "status", "tries", "updated (UTC)", "last error"],
    )


@click.command("worker")
@click.option("--concurrency", type=int, default=1, show_default=True, help="jobs run at once (threads)")
@click.option("--sweep", type=float, default=30.0, show_default=True, help="seconds between recovery sweeps")
@click.pass_obj
def worker(ctx: Context, concurrency: int, sweep: float) -> None:
    """Run the pipeline's jobs (diff, impact, digest, delivery) until SIGTERM or Ctrl-C."""
    from tracker.jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_worker(ctx.engine, ctx.settings, concurrency, sweep)


@click.group()
def jobs() -> None:
    """The durable jobs after archiving: list them, see dead ones, replay, or run them here."""


@jobs.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--kind", type=click.Choice(["diff", "impact", "digest", "deliver"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@FORMAT_OPTION
@click.pass_obj
def jobs_list(ctx: Context, status: str | None, kind: str | None, limit: int, fmt: str) -> None:
    """Jobs, newest first."""
    from tracker.jobs.runner import store_for

    found = store_for(ctx.engine, ctx.settings).find(status, kind, limit)
    emit(fmt, [j.to_dict() for j in found], lambda: _rows(found))


@jobs.command("dead")
@FORMAT_OPTION
@click.pass_obj
def jobs_dead(ctx: Context, fmt: str) -> None:
    """Jobs that kept failing and were parked, with their last error."""
    from tracker.jobs.runner import store_for

    found = store_for(ctx.engine, ctx.settings).find(DEAD, limit=1000)
    emit(fmt, [j.to_dict() for j in found], lambda: _rows(found))


@jobs.command("replay")
@click.argument("job_id", type=int)
@FORMAT_OPTION
@click.pass_obj
def jobs_replay(ctx: Context, job_id: int, fmt: str) -> None:
    """Queue a dead (or done) job again, with a fresh count of attempts."""
    from tracker.jobs.queue import wake
    from tracker.jobs.runner import store_for

    job = store_for(ctx.engine, ctx.settings).replay(job_id)
    wake(ctx.engine, ctx.settings, job.key)
    emit(fmt, job.to_dict(), lambda: f"job {job.id} {job.key} queued again")


@jobs.command("drain")
@FORMAT_OPTION
@click.pass_obj
def jobs_drain(ctx: Context, fmt: str) -> None:
    """Run every due job in this process until none is left (no worker needed)."""
    from tracker.jobs.runner import drain

    counts = drain(ctx.engine, ctx.settings)
    emit(fmt, counts, lambda: ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing due")


def register(group: click.Group) -> None:
    group.add_command(worker)
    group.add_command(jobs)
