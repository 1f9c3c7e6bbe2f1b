"""Operator paths: revoking any key from the CLI, one SSRF guard for every crawl channel,
and one leading scheduler."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tracker.cli.main import cli
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.orgs import OrgStore


def test_apikey_revoke_without_org_finds_an_org_key(db_env: Engine) -> None:
    org = OrgStore(db_env).create("acme", "Acme")
    key, token = ApiKeys(db_env).create(Scope.WRITE, org.id, "ci")
    result = CliRunner().invoke(cli, ["apikey", "revoke", key.key_id])
    assert result.exit_code == 0, result.output
    assert f"revoked {key.key_id}" in result.output
    assert ApiKeys(db_env).authenticate(token) is None
    # naming the wrong organisation is still refused
    other = OrgStore(db_env).create("globex", "Globex")
    key2, _ = ApiKeys(db_env).create(Scope.READ, other.id, "x")
    wrong = CliRunner().invoke(cli, ["apikey", "revoke", key2.key_id, "--org", "acme"])
    assert wrong.exit_code != 0


@contextmanager
def _internal_service() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP service on loopback standing for something internal; records every request."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_HEAD = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("kind", "fmt", "path"),
    [
        ("nist-pdf", "raw", "/nistpubs/ai/NIST.AI.100-1.pdf"),
        ("govuk-content-api", "govuk-content-api", "/government/publications/x/y"),
        ("etsi-deliver-folder", "etsi-pdf", "/deliver/etsi_ts/104200_104299/104223/"),
    ],
)
def test_every_channel_refuses_inward_urls(
    db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, fmt: str, path: str
) -> None:
    from tracker.crawl.launcher import run_crawl

    monkeypatch.delenv("TRACKER_MIRROR_URL", raising=False)
    with _internal_service() as (base, seen):
        registry = tmp_path / "sources.toml"
        registry.write_text(
            f'[[source]]\nslug = "inward"\ntitle = "x"\npublisher = "x"\nhomepage = "{base}/"\n'
            f'kind = "{kind}"\nurl = "{base}{path}"\nformat = "{fmt}"\nschedule = "every 6h"\n',
            encoding="utf-8",
        )
        result = run_crawl(db_env, "inward", registry=registry, overrides={"RETRY_TIMES": "0"}, timeout=120)
    assert result.outcome == "failed", result
    assert "loopback" in result.message
    assert seen == []  # not one request reached the internal service


def test_only_one_scheduler_leads(db_env: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two ``tracker schedule`` processes: one runs the jobs, the other stands by and takes
    over when the first stops (threads here; the lease is the same database row)."""
    import logging
    import time

    from tracker.crawl.scheduler import LEADER_LEASE, serve
    from tracker.storage.crawls import current_locks

    registry = tmp_path / "sources.toml"
    registry.write_text(
        '[[source]]\nslug = "alpha"\ntitle = "x"\npublisher = "x"\nhomepage = "https://example.org/"\n'
        'kind = "nist-pdf"\nurl = "https://example.org/a.pdf"\nformat = "raw"\nschedule = "every 6h"\n',
        encoding="utf-8",
    )
    stops = {name: threading.Event() for name in ("first", "second")}
    threads = {
        name: threading.Thread(
            target=serve, args=(db_env, registry), kwargs={"stop": stop, "lease_ttl": 1.0}, name=name
        )
        for name, stop in stops.items()
    }

    def leaders() -> list[str]:
        return [r.threadName for r in caplog.records if r.getMessage().startswith("leading")]

    with caplog.at_level(logging.INFO, logger="tracker.crawl.scheduler"):
        threads["first"].start()
        deadline = time.monotonic() + 20
        while not leaders() and time.monotonic() < deadline:
            time.sleep(0.05)
        threads["second"].start()
        time.sleep(2.5)  # several lease periods: the second must still be standing by
        assert leaders() == ["first"]
        assert any(r.threadName == "second" and "standing by" in r.getMessage() for r in caplog.records)
        assert [lock.source for lock in current_locks(db_env)] == [LEADER_LEASE]
        stops["first"].set()
        threads["first"].join(timeout=20)
        deadline = time.monotonic() + 20
        while leaders() != ["first", "second"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leaders() == ["first", "second"]
        stops["second"].set()
        threads["second"].join(timeout=20)
    assert current_locks(db_env) == []
