"""Generic sources: CSS and JSON selections, robots.txt, and the SSRF guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.conftest import ROOT
from tests.support.loopback import World, make_world
from tracker.domain.errors import TrackerError
from tracker.netguard import check_public_host, forbidden_address

pytestmark = pytest.mark.slow  # crawl processes against a loopback publisher

PAGE = "https://www.ncsc.gov.uk/collection/guidelines-secure-ai-system-development"
FEED = "https://data.example.org/api/guidance.json"
NCSC = {
    "slug": "ncsc",
    "title": "NCSC guidelines",
    "kind": "generic",
    "url": PAGE,
    "select": "main",
    "format": "raw",
}
FEED_SOURCE = {
    "slug": "feed",
    "title": "A JSON feed",
    "kind": "generic",
    "url": FEED,
    "json_path": "items[?status=='final']",
    "format": "raw",
}


def page(banner: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><title>NCSC</title></head><body><div class='banner'>{banner}</div>"
        f"<main><h1>Guidelines</h1><p>{body}</p></main><footer>OGL</footer></body></html>"
    )


@pytest.fixture
def world(db_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(db_env, tmp_path, monkeypatch) as w:
        w.sources(NCSC, FEED_SOURCE)
        yield w


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "non-global"),
        ("0.0.0.0", "unspecified"),
        ("93.184.215.14", ""),
    ],
)
def test_forbidden_addresses(address: str, reason: str) -> None:
    found = forbidden_address(address)
    assert (found == reason) if reason else not found


def test_check_public_host_refuses_names_resolving_inward() -> None:
    with pytest.raises(TrackerError, match="loopback address"):
        check_public_host("localhost")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_generic_source_refuses_loopback_outside_mirror_mode(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACKER_MIRROR_URL")
    inward = f"http://localhost:{world.publisher.server.port}/www.ncsc.gov.uk/collection/page"
    world.publisher.put(inward.replace(f"localhost:{world.publisher.server.port}/", ""), page("b", "text"))
    world.sources({**NCSC, "url": inward})
    result = world.crawl("ncsc")
    assert result.outcome == "failed" and "refused to fetch from localhost" in result.message, result.message
    assert world.publisher.requests == []  # not even robots.txt was asked for


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_selection_ignores_page_chrome_and_robots_txt_is_obeyed(world: World) -> None:
    pub = world.publisher
    moved = "https://www.ncsc.gov.uk/collection/guidelines-secure-ai-system-development/v2"
    pub.fault(PAGE, "redirect", moved)  # an absolute publisher URL: followed inside the mirror
    pub.put(moved, page("Cookies v1", "Secure design comes first."))
    first = world.crawl("ncsc")
    assert first.outcome == "ok", first.message
    assert pub.hits(moved) == 1
    pub.clear()
    pub.put(PAGE, page("Cookies v1", "Secure design comes first."))
    [artefact] = world.archive.version("ncsc", first.new_version or "").artefacts
    kept = world.archive.artefact(artefact.sha256)
    assert kept.startswith(b"<main>") and b"Cookies" not in kept

    pub.ignore_conditional = True  # a server without ETag support: the body hash decides
    pub.put(PAGE, page("Cookies v2 - new banner", "Secure design comes first."))
    same = world.crawl("ncsc")
    assert same.outcome == "unchanged" and "same bytes as archived version" in same.message, same.message

    (pub.root / "robots.txt").write_text("User-agent: *\nDisallow: /www.ncsc.gov.uk/\n")
    pub.put(PAGE, page("Cookies v2", "Secure design and threat modelling come first."))
    refused = world.crawl("ncsc")
    assert refused.outcome == "failed" and refused.message.startswith("forbidden by robots.txt"), (
        refused.message
    )
    assert len(world.labels("ncsc")) == 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_json_path_selection(world: World) -> None:
    items = [{"id": "G1", "status": "final", "text": "Keep an inventory."}, {"id": "G2", "status": "draft"}]
    world.publisher.put(FEED, json.dumps({"generated": "2025-01-01T10:00:00Z", "items": items}), ext=".json")
    result = world.crawl("feed")
    assert result.outcome == "ok", result.message
    [artefact] = world.archive.version("feed", result.new_version or "").artefacts
    assert json.loads(world.archive.artefact(artefact.sha256)) == [items[0]]


def test_guard_drops_a_body_that_came_from_an_inward_address(sqlite_engine: Engine) -> None:
    """DNS rebinding: the name passed the check, the connection reached loopback anyway."""
    from ipaddress import ip_address
    from types import SimpleNamespace

    from scrapy.exceptions import IgnoreRequest
    from scrapy.http import Request, Response

    from spiders.base import CrawlContext
    from spiders.middlewares import SsrfGuardMiddleware
    from tracker.crawl.archiving import CrawlReport
    from tracker.sources.registry import load
    from tracker.storage.archive import Archive
    from tracker.storage.crawls import ValidatorStore

    spec = load(ROOT / "data" / "sources.toml").get("ncsc-secure-ai-guidelines")
    ctx = CrawlContext(
        spec, Archive(sqlite_engine), ValidatorStore(sqlite_engine), CrawlReport(), ssrf_guard=True
    )
    guard = SsrfGuardMiddleware(SimpleNamespace(spider=SimpleNamespace(ctx=ctx)))  # type: ignore[arg-type]
    request = Request(PAGE)
    inward = Response(PAGE, body=b"secret", ip_address=ip_address("169.254.169.254"))
    with pytest.raises(IgnoreRequest, match=r"169\.254\.169\.254, a link-local address"):
        guard.process_response(request, inward)
    public = Response(PAGE, body=b"guidance", ip_address=ip_address("8.8.8.8"))
    assert guard.process_response(request, public) is public
    ctx.ssrf_guard = False  # mirror mode: the mirror is loopback by design
    assert guard.process_response(request, inward) is inward
