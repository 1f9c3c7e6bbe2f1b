"""HTTP caching through a real HTTP client (httpx) against the app under a real uvicorn on
loopback: weak ETags and lists in If-None-Match, Last-Modified / If-Modified-Since, HEAD on
every GET route, gzip for large answers, immutable stored resources."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from api.app import create_app
from tests.support.api_world import World, land_v2, seed_keys, seed_orgs, seed_v1, store_impacts
from tracker.settings import Settings


@pytest.fixture
def served(sqlite_engine: Engine) -> Iterator[tuple[httpx.Client, World]]:
    world = World(sqlite_engine)
    seed_v1(sqlite_engine)
    seed_orgs(sqlite_engine, world)
    seed_keys(sqlite_engine, world)
    world.diff_id = land_v2(sqlite_engine)
    store_impacts(sqlite_engine, world.diff_id)
    app = create_app(Settings(public_url="http://127.0.0.1"), engine=sqlite_engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    headers = world.auth("acme:read")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
            yield client, world
    finally:
        server.should_exit = True
        thread.join(10)


def test_etags_are_weak_and_if_none_match_takes_lists_and_either_form(
    served: tuple[httpx.Client, World],
) -> None:
    client, world = served
    first = client.get(f"/v1/diffs/{world.diff_id}")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    strong_form = etag.removeprefix("W/")
    for header in (etag, strong_form, f'"other", {etag}', f'W/"a", W/"b",{strong_form}', "*"):
        again = client.get(f"/v1/diffs/{world.diff_id}", headers={"if-none-match": header})
        assert again.status_code == 304, header
        assert again.content == b"" and again.headers["etag"] == etag
    for header in ('"other"', 'W/"other", "more"'):
        assert client.get(f"/v1/diffs/{world.diff_id}", headers={"if-none-match": header}).status_code == 200
    # a list answer carries a validator too; it changes when the content does
    listed = client.get("/v1/diffs")
    assert listed.headers["etag"].startswith('W/"') and listed.headers["cache-control"] == "private, no-cache"
    assert client.get("/v1/diffs", headers={"if-none-match": listed.headers["etag"]}).status_code == 304
    assert (
        client.get("/v1/diffs?limit=1", headers={"if-none-match": listed.headers["etag"]}).status_code == 200
    )


def test_a_stored_diff_is_revalidated_not_kept_as_immutable(served: tuple[httpx.Client, World]) -> None:
    """The operator's shared verdicts rewrite a stored diff's summary: clients must ask again."""
    client, world = served
    got = client.get(f"/v1/diffs/{world.diff_id}")
    assert got.headers["cache-control"] == "private, no-cache" and "last-modified" not in got.headers
    again = client.get(f"/v1/diffs/{world.diff_id}", headers={"if-none-match": got.headers["etag"]})
    assert again.status_code == 304


def test_last_modified_and_if_modified_since_on_an_immutable_requirement(
    served: tuple[httpx.Client, World],
) -> None:
    client, _world = served
    listed = client.get("/v1/sources").json()["items"][0]["slug"]
    version = client.get(f"/v1/sources/{listed}/versions").json()["items"][0]
    first = client.get(f"/v1/sources/{listed}/versions/{version['label']}/requirements").json()["items"][0]
    path = f"/v1/sources/{listed}/versions/{version['label']}/requirements/{first['id']}"
    got = client.get(path)
    assert got.status_code == 200 and "immutable" in got.headers["cache-control"]
    stamp = got.headers["last-modified"]
    modified = datetime.strptime(stamp, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert client.get(path, headers={"if-modified-since": stamp}).status_code == 304
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    assert client.get(path, headers={"if-modified-since": later}).status_code == 304
    earlier = format_datetime(modified - timedelta(days=1), usegmt=True)
    assert client.get(path, headers={"if-modified-since": earlier}).status_code == 200
    assert client.get(path, headers={"if-modified-since": "not a date"}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2)
    both = {"if-none-match": '"other"', "if-modified-since": stamp}
    assert client.get(path, headers=both).status_code == 200


def test_head_answers_every_get_route_like_get_without_a_body(served: tuple[httpx.Client, World]) -> None:
    client, world = served
    spec = client.get("/openapi.json").json()
    values = {
        "org": "acme",
        "slug": "demo-std",
        "source": "demo-std",
        "label": "v1",
        "diff_id": str(world.diff_id),
        "ident": "R-1",
    }
    checked = 0
    for template, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        names = re.findall(r"{(\w+)}", template)
        path = template
        for name in names:
            path = path.replace("{" + name + "}", values.get(name, "1"))
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        if got.status_code == 200:
            assert head.headers.get("etag") == got.headers.get("etag"), path
            assert head.headers.get("content-type") == got.headers.get("content-type"), path
        checked += 1
    assert checked >= 30  # every GET route of the API is in the spec


def test_large_answers_are_gzipped_with_the_same_validator(served: tuple[httpx.Client, World]) -> None:
    client, _ = served
    path = "/v1/changes?limit=200"
    plain = client.get(path, headers={"accept-encoding": "identity"})
    assert len(plain.content) > 1400 and "content-encoding" not in plain.headers
    raw = client.build_request("GET", path, headers={"accept-encoding": "gzip"})
    zipped = client.send(raw, stream=True)
    body = zipped.read()  # httpx decodes; check what went over the wire
    assert (
        zipped.headers["content-encoding"] == "gzip" and "accept-encoding" in zipped.headers["vary"].lower()
    )
    assert body == plain.content and zipped.num_bytes_downloaded < len(plain.content)
    assert zipped.headers["etag"] == plain.headers["etag"]
    again = client.get(path, headers={"accept-encoding": "gzip", "if-none-match": plain.headers["etag"]})
    assert again.status_code == 304
    small = client.get("/healthz", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_the_impact_poll_answers_304_to_weak_lists_too(served: tuple[httpx.Client, World]) -> None:
    client, _ = served
    first = client.get("/v1/orgs/acme/impact")
    assert first.status_code == 200, first.text
    listed = f'"stale", {first.headers["etag"]}'
    again = client.get(
        "/v1/orgs/acme/impact",
        headers={"if-none-match": listed},
    )
    assert again.status_code == 304
