"""API and digest commands: ``tracker apikey create|list|revoke`` and ``tracker digests send``."""

from __future__ import annotations

import time

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, table
from tracker.domain.errors import ExitCode
from tracker.storage.api_keys import ApiKeys, Scope


def _org_id(ctx: Context, org: str | None) -> int | None:
    if org is None:
        return None
    from tracker.storage.orgs import OrgStore

    return OrgStore(ctx.engine).get(org).id


@click.group()
def apikey() -> None:
    """API keys: per organisation (read, write, admin) or the operator's (admin, no --org)."""


@apikey.command("create")
@click.option("--org", default=None, help="organisation the key belongs to; omit for the operator key")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), required=True)
@click.option("--name", default="", help="a label to recognise the key by")
@FORMAT_OPTION
@click.pass_obj
def apikey_create(ctx: Context, org: str | None, scope: str, name: str, fmt: str) -> None:
    """Create a key and print its token (shown only now; only its hash is stored)."""
    key, token = ApiKeys(ctx.engine).create(Scope(scope), _org_id(ctx, org), name)
    data = {"key_id": key.key_id, "org": org, "scope": str(key.scope), "name": key.name, "token": token}
    note = f"(key {key.key_id}, scope {key.scope}; store the token now, it is not kept)"
    emit(fmt, data, lambda: f"{token}\n{note}")


@apikey.command("list")
@click.option("--org", default=None, help="organisation; omit for operator keys")
@FORMAT_OPTION
@click.pass_obj
def apikey_list(ctx: Context, org: str | None, fmt: str) -> None:
    """List keys (never their tokens)."""
    keys = ApiKeys(ctx.engine).list(_org_id(ctx, org))
    data = [
        {
            "key_id": k.key_id,
            "scope": str(k.scope),
            "name": k.name,
            "created_at": k.created_at,
            "revoked_at": k.revoked_at,
        }
        for k in keys
    ]
    emit(
        fmt,
        data,
        lambda: table(
            [(d["key_id"], d["scope"], d["name"], "revoked" if d["revoked_at"] else "live") for d in data],
            ["key", "scope", "name", "state"],
        ),
    )


@apikey.command("revoke")
@click.argument("key_id")
@click.option(
    "--org", default=None, help="organisation the key must belong to (a check); omit to revoke any key"
)
@FORMAT_OPTION
@click.pass_obj
def apikey_revoke(ctx: Context, key_id: str, org: str | None, fmt: str) -> None:
    """Revoke a key; requests with it are refused from now on."""
    key = ApiKeys(ctx.engine).revoke(key_id, _org_id(ctx, org), any_org=org is None)
    emit(fmt, {"key_id": key.key_id, "revoked_at": key.revoked_at}, lambda: f"revoked {key.key_id}")


@click.group()
def digests() -> None:
    """Change digests: email, Atom feed entries and signed webhooks."""


@digests.command("send")
@click.option("--loop", "interval", type=float, default=0.0, help="keep running, one pass every N seconds")
@FORMAT_OPTION
@click.pass_obj
def digests_send(ctx: Context, interval: float, fmt: str) -> None:
    """Queue events from the stored impact and deliver whatever is due (safe to rerun any time)."""
    from tracker.digests.dispatcher import Dispatcher
    from tracker.digests.notifiers import SmtpEmailNotifier
    from tracker.jobs.stages import webhook_notifier

    settings = ctx.settings
    webhook = webhook_notifier(settings)
    dispatcher = Dispatcher(
        ctx.engine,
        email=SmtpEmailNotifier(settings.smtp_host, settings.smtp_port),
        webhook=webhook,
        sender=settings.smtp_sender,
        public_url=settings.public_url,
        tag_authority=settings.tag_authority,
    )
    try:
        while True:
            try:
                report = dispatcher.run_once().to_dict()
            except Exception as exc:  # a looping sender outlives a bad pass (the database away)
                if interval <= 0:
                    raise
                click.echo(f"error: digest pass failed: {type(exc).__name__}: {exc}", err=True)
                time.sleep(interval)
                continue
            text = (
                f"queued {report['queued']}, sent {report['messages_sent']} message(s) "
                f"carrying {report['events_sent']} event(s), {report['failures']} failure(s), "
                f"{report['dead']} given up"
            )
            emit(fmt, report, lambda text=text: text)  # type: ignore[misc]
            if interval <= 0:
                if report["failures"]:  # the report is printed whole; the status tells scripts
                    click.echo(
                        f"error: {report['failures']} delivery(ies) failed; the rest went out\n"
                        "hint: failed deliveries are retried with backoff; rerun later",
                        err=True,
                    )
                    click.get_current_context().exit(ExitCode.PARTIAL_DELIVERY)
                return
            time.sleep(interval)
    finally:
        webhook.close()


def register(group: click.Group) -> None:
    for command in (apikey, digests):
        group.add_command(command)
