"""`tracker diff`: what changed between two versions of a source, requirement by requirement."""

from __future__ import annotations

import click

from tracker.cli.context import Context
from tracker.cli.output import emit_json
from tracker.cli.progress import EmbeddingProgress


@click.command()
@click.argument("source")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text")
@click.option("--lexical-only", is_flag=True, help="skip the embedding model (faster, less accurate)")
@click.option("--refresh", is_flag=True, help="recompute even if this engine already stored the diff")
@click.option("--all", "include_unchanged", is_flag=True, help="text/html: list unchanged requirements too")
@click.pass_obj
def diff(
    ctx: Context,
    source: str,
    old: str,
    new: str,
    fmt: str,
    lexical_only: bool,
    refresh: bool,
    include_unchanged: bool,
) -> None:
    """Diff two archived versions: OLD and NEW are version labels (or SOURCE@LABEL)."""
    # imported here, not at the top: the diff engine (scipy.optimize among others) costs
    # every other command a quarter of a second of start-up
    from tracker.diff import render_html, render_text
    from tracker.diff.service import diff_archived
    from tracker.storage.diffs import DiffStore
    from tracker.wiring import make_embedder

    progress = EmbeddingProgress()
    embedder = None if lexical_only else make_embedder(ctx.engine, ctx.settings, progress)
    stored = diff_archived(ctx.archive, DiffStore(ctx.engine), source, old, new, embedder, refresh=refresh)
    progress.close()
    if fmt == "json":
        data = stored.result.to_json_dict()
        data["diff_id"] = stored.id
        data["created_at"] = stored.created_at
        emit_json(data)
    elif fmt == "html":
        click.echo(render_html(stored.result, include_unchanged=include_unchanged))
    else:
        click.echo(render_text(stored.result, include_unchanged=include_unchanged))


def register(group: click.Group) -> None:
    group.add_command(diff)
