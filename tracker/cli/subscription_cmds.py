"""Subscriptions from the command line: ``tracker subscriptions create|list|rotate|test-send|
notices|replay|delete``, the same operations as the API's ``/v1/orgs/{org}/subscriptions``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, table
from tracker.digests.model import Cadence, Channel, Subscription, SubscriptionSpec
from tracker.storage.subscriptions import DEFAULT_ROTATION_GRACE, SubscriptionStore


def _org_id(ctx: Context, org: str) -> int:
    from tracker.storage.orgs import OrgStore

    return OrgStore(ctx.engine).get(org).id


def _store(ctx: Context) -> SubscriptionStore:
    s = ctx.settings
    return SubscriptionStore(
        ctx.engine, allow_private_webhooks=s.webhook_allow_private, allow_http_webhooks=s.webhook_allow_http
    )


def _data(sub: Subscription) -> dict[str, Any]:
    spec = sub.spec
    return {
        "id": sub.id,
        "name": spec.name,
        "channels": [str(c) for c in spec.channels],
        "cadence": str(spec.cadence),
        "sources": list(spec.sources),
        "email_to": list(spec.email_to),
        "webhook_url": spec.webhook_url or None,
        "webhook_disabled": sub.webhook_disabled,
        "previous_secret_until": sub.previous_secret_until,
        "active": spec.active,
        "created_at": sub.created_at,
    }


@click.group()
def subscriptions() -> None:
    """An organisation's subscriptions: digests by email, Atom feed and signed webhook."""


@subscriptions.command("create")
@click.argument("org")
@click.option("--name", default="", help="a label to recognise it by")
@click.option(
    "--channel", "channels", multiple=True, required=True, type=click.Choice([c.value for c in Channel])
)
@click.option("--webhook-url", default="", help="https URL of the receiver (webhook channel)")
@click.option("--email", "email_to", multiple=True, help="recipient (email channel); repeat for more")
@click.option("--source", "sources", multiple=True, help="only this source; repeat for more (default: all)")
@click.option(
    "--cadence", type=click.Choice([c.value for c in Cadence]), default="immediate", show_default=True
)
@FORMAT_OPTION
@click.pass_obj
def create(
    ctx: Context,
    org: str,
    name: str,
    channels: tuple[str, ...],
    webhook_url: str,
    email_to: tuple[str, ...],
    sources: tuple[str, ...],
    cadence: str,
    fmt: str,
) -> None:
    """Create a subscription; its feed token and webhook secret are printed only now."""
    spec = SubscriptionSpec(
        name=name,
        sources=sources,
        cadence=Cadence(cadence),
        channels=tuple(Channel(c) for c in dict.fromkeys(channels)),
        email_to=email_to,
        webhook_url=webhook_url,
    )
    created = _store(ctx).create(_org_id(ctx, org), spec)
    data = _data(created.subscription) | {
        "feed_token": created.feed_token,
        "webhook_secret": created.webhook_secret or None,
    }
    secret = f"\nwebhook secret: {created.webhook_secret}" if created.webhook_secret else ""
    note = "(store the secrets now; they are not shown again)"
    emit(fmt, data, lambda: f"created subscription {created.subscription.id}{secret}\n{note}")


@subscriptions.command("list")
@click.argument("org")
@FORMAT_OPTION
@click.pass_obj
def list_(ctx: Context, org: str, fmt: str) -> None:
    """List the organisation's subscriptions (never their secrets)."""
    subs = _store(ctx).all(_org_id(ctx, org), limit=10_000)
    data = [_data(s) for s in subs]
    rows = [
        (
            d["id"],
            d["name"],
            ",".join(d["channels"]),
            d["webhook_url"] or "",
            d["webhook_disabled"] and "disabled",
        )
        for d in data
    ]
    emit(fmt, data, lambda: table(rows, ["id", "name", "channels", "webhook", "state"]))


@subscriptions.command("rotate")
@click.argument("org")
@click.argument("sub_id", type=int)
@click.option(
    "--grace",
    type=click.IntRange(0, 30 * 24 * 3600),
    default=int(DEFAULT_ROTATION_GRACE.total_seconds()),
    show_default=True,
    help="seconds the old secret keeps signing beside the new one (0: stops at once)",
)
@FORMAT_OPTION
@click.pass_obj
def rotate(ctx: Context, org: str, sub_id: int, grace: int, fmt: str) -> None:
    """Issue a new webhook secret; both sign every message until the grace ends."""
    secret, until = _store(ctx).rotate_webhook_secret(_org_id(ctx, org), sub_id, timedelta(seconds=grace))
    data = {"id": sub_id, "webhook_secret": secret, "previous_secret_until": until}
    both = f"\nthe old secret also signs until {until.isoformat()}" if until else "\nthe old secret stopped"
    emit(fmt, data, lambda: f"webhook secret: {secret}{both}")


@subscriptions.command("test-send")
@click.argument("org")
@click.argument("sub_id", type=int)
@FORMAT_OPTION
@click.pass_obj
def test_send(ctx: Context, org: str, sub_id: int, fmt: str) -> None:
    """POST a signed subscription.test message now; exit 1 if the receiver did not accept it."""
    from tracker.jobs.deliveries import send_test

    result = send_test(ctx.engine, ctx.settings, _org_id(ctx, org), sub_id)
    answer = f"answered {result.status}" if result.ok else f"failed: {result.error}"
    emit(fmt, asdict(result), lambda: f"{result.msg_id} ({result.signatures} signature(s)) {answer}")
    if not result.ok:
        raise SystemExit(1)


@subscriptions.command("notices")
@click.argument("org")
@click.argument("sub_id", type=int)
@FORMAT_OPTION
@click.pass_obj
def notices(ctx: Context, org: str, sub_id: int, fmt: str) -> None:
    """Dead deliveries (with the event id to replay) and a disabled endpoint."""
    rows = _store(ctx).notices(_org_id(ctx, org), sub_id, limit=10_000)
    data = [
        {
            "id": r.id,
            "kind": r.kind,
            "event_id": r.outbox_id,
            "message": r.message,
            "created_at": r.created_at,
        }
        for r in rows
    ]
    emit(fmt, data, lambda: "\n".join(f"[{d['kind']}] {d['message']}" for d in data) or "no notices")


@subscriptions.command("replay")
@click.argument("org")
@click.argument("sub_id", type=int)
@click.argument("event_id", type=int)
@FORMAT_OPTION
@click.pass_obj
def replay(ctx: Context, org: str, sub_id: int, event_id: int, fmt: str) -> None:
    """Queue a dead event again with a fresh count of attempts (a worker sends it)."""
    from tracker.jobs.deliveries import replay_delivery

    row = replay_delivery(ctx.engine, ctx.settings, _org_id(ctx, org), sub_id, event_id)
    data = {"id": row.id, "event_key": row.event_key, "channel": row.channel, "status": row.status}
    emit(fmt, data, lambda: f"event {row.id} ({row.event_key}, {row.channel}) queued again")


@subscriptions.command("delete")
@click.argument("org")
@click.argument("sub_id", type=int)
@FORMAT_OPTION
@click.pass_obj
def delete(ctx: Context, org: str, sub_id: int, fmt: str) -> None:
    """Delete a subscription with its queue, delivery log, notices and feed."""
    _store(ctx).delete(_org_id(ctx, org), sub_id)
    emit(fmt, {"id": sub_id, "deleted": True}, lambda: f"deleted subscription {sub_id}")


def register(group: click.Group) -> None:
    group.add_command(subscriptions)
