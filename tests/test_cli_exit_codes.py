"""The CLI's exit statuses tell a script what went wrong: usage, not found, invalid input,
conflict, and a digest pass that delivered some messages but not all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.api_world import World, land_v2, seed_keys, seed_orgs, seed_v1, store_impacts
from tests.support.webhook_receiver import Receiver
from tracker.cli.main import main
from tracker.digests.model import Channel, SubscriptionSpec
from tracker.domain.errors import ExitCode
from tracker.storage.subscriptions import SubscriptionStore


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exited.value.code or 0), out.out, out.err


def test_each_kind_of_failure_has_its_own_status(
    db_env: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "org", "create", "acme")[0] == ExitCode.OK
    assert _run(capsys, "no-such-command")[0] == ExitCode.USAGE
    assert _run(capsys, "controls", "import")[0] == ExitCode.USAGE  # missing ORG
    code, _, err = _run(capsys, "controls", "list", "nobody")
    assert code == ExitCode.NOT_FOUND and "unknown organisation" in err
    bad = tmp_path / "c.csv"
    bad.write_text("id,title\n,empty\n", encoding="utf-8")
    assert _run(capsys, "controls", "import", "acme", str(bad))[0] == ExitCode.INVALID_INPUT
    code, out, _ = _run(capsys, "org", "create", "acme", "--format", "json")
    assert code == ExitCode.CONFLICT and json.loads(out)["error"] == "ConflictError"


def test_a_partly_failed_digest_pass_exits_6(
    db_env: Engine,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = db_env
    world = World(engine)
    seed_v1(engine)
    seed_orgs(engine, world)
    seed_keys(engine, world)
    SubscriptionStore(engine, allow_private_webhooks=True).create(
        world.orgs["acme"],
        SubscriptionSpec(channels=(Channel.WEBHOOK,), webhook_url=receiver.url),
        since=datetime.now(UTC) - timedelta(days=1),
    )
    store_impacts(engine, land_v2(engine))
    monkeypatch.setenv("TRACKER_WEBHOOK_ALLOW_PRIVATE", "1")
    receiver.statuses = [500]
    code, out, err = _run(capsys, "digests", "send", "--format", "json")
    assert code == ExitCode.PARTIAL_DELIVERY, err
    assert json.loads(out)["failures"] == 1 and "failed" in err
    code, out, _ = _run(capsys, "digests", "send", "--format", "json")  # nothing due yet: ok
    assert code == ExitCode.OK and json.loads(out)["failures"] == 0
