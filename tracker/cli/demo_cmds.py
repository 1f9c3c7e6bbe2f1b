"""`tracker demo`: the main job end to end on the embedded default (SQLite, packaged model, local mirror)."""

from __future__ import annotations

import click

from tracker.cli.context import Context


@click.command()
@click.option("--once", is_flag=True, help="stop after the two cycles instead of serving the API")
@click.option("--port", default=8000, show_default=True, help="API port (loopback)")
@click.pass_obj
def demo(ctx: Context, once: bool, port: int) -> None:
    """Two crawl cycles on a local mirror, then diff, impact and digests; then serve the API."""
    from tracker.demo.run import run_demo

    run_demo(ctx.engine, ctx.settings, click.echo, once=once, port=port)


def register(group: click.Group) -> None:
    group.add_command(demo)
