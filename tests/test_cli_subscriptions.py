"""`tracker subscriptions ...` against a real receiver on loopback, verified with the
``standardwebhooks`` library: create, list, rotate (both secrets verify), test-send, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from standardwebhooks import Webhook

from tests.support.webhook_receiver import Receiver
from tracker.cli.main import cli


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == code, result.output
    return json.loads(result.output) if result.output.strip().startswith(("{", "[")) else result.output


def test_subscription_lifecycle_from_the_cli(
    db_env: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver is on loopback
    run("org", "create", "acme")
    created = run(
        "subscriptions",
        "create",
        "acme",
        "--name",
        "hooks",
        "--channel",
        "webhook",
        "--webhook-url",
        receiver.url,
    )
    old, sub_id = created["webhook_secret"], str(created["id"])
    assert old.startswith("whsec_")
    [listed] = run("subscriptions", "list", "acme")
    assert listed["webhook_url"] == receiver.url and "webhook_secret" not in listed

    rotated = run("subscriptions", "rotate", "acme", sub_id, "--grace", "3600")
    new = rotated["webhook_secret"]
    assert new != old and rotated["previous_secret_until"]
    sent = run("subscriptions", "test-send", "acme", sub_id)
    assert sent["ok"] and sent["status"] == 200 and sent["signatures"] == 2
    headers, body = receiver.requests[-1]
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "subscription.test"

    receiver.statuses = [500]
    failed = run("subscriptions", "test-send", "acme", sub_id, code=1)
    assert failed["ok"] is False and failed["status"] == 500
    assert run("subscriptions", "notices", "acme", sub_id) == []  # a test is not a delivery

    http = CliRunner().invoke(
        cli,
        [
            "subscriptions",
            "create",
            "acme",
            "--channel",
            "webhook",
            "--webhook-url",
            "http://hooks.example.org/x",
        ],
    )
    assert http.exit_code != 0 and "TRACKER_WEBHOOK_ALLOW_HTTP" in str(http.exception)

    assert run("subscriptions", "delete", "acme", sub_id) == {"id": int(sub_id), "deleted": True}
    assert run("subscriptions", "list", "acme") == []
    missing = CliRunner().invoke(cli, ["subscriptions", "rotate", "acme", sub_id])
    assert missing.exit_code != 0 and f"no subscription {sub_id}" in str(missing.exception)
