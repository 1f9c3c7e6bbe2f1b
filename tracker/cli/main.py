"""Entry point: ``tracker COMMAND``. Every command accepts ``--format json``."""

from __future__ import annotations

import sys
from typing import Any

import click

from tracker.cli import (
    api_cmds,
    archive_cmds,
    crawl_cmds,
    demo_cmds,
    diff_cmds,
    family_cmds,
    job_cmds,
    map_cmds,
    org_cmds,
)
from tracker.cli.context import Context
from tracker.domain.errors import TrackerError
from tracker.settings import Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ai-standards-tracker")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Track AI security standards: archive versions, diff them, map changes to your controls."""
    ctx.obj = Context.from_env()
    ctx.call_on_close(ctx.obj.close)


archive_cmds.register(cli)
crawl_cmds.register(cli)
diff_cmds.register(cli)
org_cmds.register(cli)
map_cmds.register(cli)
family_cmds.register(cli)
demo_cmds.register(cli)
api_cmds.register(cli)
job_cmds.register(cli)


def _format_requested(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--format" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--format="):
            return arg.split("=", 1)[1]
    return "text"


def _debug() -> bool:
    try:
        return Settings.from_env().debug
    except TrackerError:  # a malformed setting: show the traceback rather than hide it
        return True


def main(argv: list[str] | None = None) -> Any:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return cli.main(args=args, prog_name="tracker", standalone_mode=False)
    except TrackerError as err:
        if _format_requested(args) == "json":
            import json

            click.echo(json.dumps(err.to_dict(), indent=2), err=False)
        click.echo(f"error: {err.problem}", err=True)
        if err.hint:
            click.echo(f"hint: {err.hint}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except Exception as err:
        if _debug():
            raise
        click.echo(f"error: unexpected {type(err).__name__}: {err}", err=True)
        click.echo("hint: nothing was half-stored; rerun with TRACKER_DEBUG=1 for the traceback", err=True)
        sys.exit(70)


if __name__ == "__main__":
    main()
