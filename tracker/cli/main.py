"""Entry point: ``tracker COMMAND``.

Every command that reports a result takes ``--format json``; the few that run a service
and stream its log do not (``tracker --help`` names them, and a test keeps the list true).
Exit statuses are :class:`tracker.domain.errors.ExitCode`, listed in ``--help``.
"""

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
    subscription_cmds,
)
from tracker.cli.context import Context
from tracker.domain.errors import ExitCode, TrackerError
from tracker.settings import Settings

EPILOG = f"""\b
Exit status:
  {ExitCode.OK}    success
  {ExitCode.ERROR}    any other error (the message says why and what to do)
  {ExitCode.USAGE}    usage: unknown command or option, missing argument
  {ExitCode.NOT_FOUND}    not found: no such source, version, organisation, control or job
  {ExitCode.INVALID_INPUT}    invalid input: a file or value that cannot be read; nothing was stored
  {ExitCode.CONFLICT}    conflict: it exists already, or someone changed it first
  {ExitCode.PARTIAL_DELIVERY}    partial delivery failure: some digests failed (they are retried)
  {ExitCode.INTERNAL}   unexpected error (TRACKER_DEBUG=1 shows the traceback)
  {ExitCode.INTERRUPTED}  interrupted (Ctrl-C)

\b
Shell completion (Click's own; add the line to your shell's start-up file):
  bash: eval "$(_TRACKER_COMPLETE=bash_source tracker)"
  zsh:  eval "$(_TRACKER_COMPLETE=zsh_source tracker)"
  fish: _TRACKER_COMPLETE=fish_source tracker | source

\b
--format json: every command that reports a result takes it; run, worker, schedule,
demo and mirror serve do not (they run services and stream a log)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
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
subscription_cmds.register(cli)


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
        result = cli.main(args=args, prog_name="tracker", standalone_mode=False)
        # outside standalone mode Click returns the status of ``ctx.exit(N)`` instead of exiting
        if isinstance(result, int) and not isinstance(result, bool) and result:
            sys.exit(result)
        return result
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
        sys.exit(ExitCode.INTERRUPTED)
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
        sys.exit(ExitCode.INTERNAL)


if __name__ == "__main__":
    main()
