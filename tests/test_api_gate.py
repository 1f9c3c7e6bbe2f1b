"""The request gate: authentication before any body byte is read, body caps counted as the
body streams in, and failed authentications limited per client (429 with Retry-After).

Driven at the ASGI level with a ``receive`` that counts what the app pulled, so "not read"
is observed, not inferred from a status code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import Engine

from api.app import create_app
from tests.support.api_world import World, client_for, seed
from tracker.settings import Settings

CHUNK = b"x" * 65536


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    return seed(sqlite_engine)


class Upload:
    """An endless request body in 64 KiB chunks (150 MB unless stopped), counting reads."""

    def __init__(self, chunks: int = 2300) -> None:
        self.chunks = chunks
        self.read = 0

    async def receive(self) -> dict[str, Any]:
        if self.read >= self.chunks:
            return {"type": "http.disconnect"}
        self.read += 1
        return {"type": "http.request", "body": CHUNK, "more_body": self.read < self.chunks}


def _call(
    app: Any, path: str, upload: Upload, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("203.0.113.9", 5555),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, upload.receive, send)

    asyncio.run(run())
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def _app(engine: Engine, **settings: Any) -> Any:
    return create_app(Settings(public_url="http://testserver", **settings), engine=engine)


def test_anonymous_upload_is_refused_before_its_body_is_read(world: World) -> None:
    upload = Upload()
    status, headers, body = _call(_app(world.engine), "/v1/orgs/acme/controls", upload, [])
    assert status == 401 and upload.read == 0
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 401


def test_wrong_key_upload_is_refused_before_its_body_is_read(world: World) -> None:
    upload = Upload()
    bad = [(b"authorization", b"Bearer tsk_nope_nope")]
    status, _, _ = _call(_app(world.engine), "/v1/orgs/acme/controls", upload, bad)
    assert status == 401 and upload.read == 0


def test_anonymous_page_form_is_refused_before_its_body_is_read(world: World) -> None:
    upload = Upload()
    status, _, _ = _call(_app(world.engine), "/ui/changes/1/verdict", upload, [])
    assert status == 401 and upload.read == 0


def test_authenticated_chunked_body_is_cut_off_at_the_cap(world: World) -> None:
    """No Content-Length (chunked): the gate counts and stops reading just past the cap."""
    upload = Upload()
    auth = [(b"authorization", f"Bearer {world.keys['acme:write']}".encode())]
    status, _, body = _call(
        _app(world.engine, max_body_bytes=1024 * 1024), "/v1/orgs/acme/controls", upload, auth
    )
    assert status == 413
    assert "1048576" in json.loads(body)["detail"]
    assert upload.read == 1024 * 1024 // len(CHUNK) + 1  # 17 of 2300 chunks


def test_declared_length_over_the_cap_is_refused_unread(world: World) -> None:
    upload = Upload()
    headers = [
        (b"authorization", f"Bearer {world.keys['acme:write']}".encode()),
        (b"content-length", str(150 * 1024 * 1024).encode()),
    ]
    status, _, _ = _call(_app(world.engine), "/v1/orgs/acme/controls", upload, headers)
    assert status == 413 and upload.read == 0


def test_csv_import_has_the_larger_upload_cap(world: World) -> None:
    csv = b"id,title\n" + b"".join(b"BIG-%d,%s\n" % (i, b"t" * 200) for i in range(8000))  # ~1.7 MB
    assert len(csv) > Settings().max_body_bytes
    with client_for(world.engine) as client:
        response = client.post(
            "/v1/orgs/acme/controls/import",
            headers=world.auth("acme:write"),
            files={"file": ("c.csv", csv, "text/csv")},
        )
    assert response.status_code == 200, response.text[:300]


def test_failed_authentications_are_limited_per_client(world: World) -> None:
    with client_for(world.engine, auth_failure_limit=10, auth_failure_window=60) as client:
        statuses = [
            client.get(
                "/v1/orgs/acme/controls", headers={"Authorization": f"Bearer tsk_bad{i}_x"}
            ).status_code
            for i in range(30)
        ]
        assert statuses[:10] == [401] * 10
        assert set(statuses[10:]) == {429}
        limited = client.get("/v1/orgs/acme/controls", headers=world.auth("acme:read"))
        assert limited.status_code == 429  # the client is refused until the window moves on
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"
        posted = client.post("/v1/orgs/acme/controls", headers={"Authorization": "Bearer tsk_bad_x"}, json={})
        assert posted.status_code == 429 and posted.headers["retry-after"]


def test_good_keys_are_never_counted(world: World) -> None:
    with client_for(world.engine, auth_failure_limit=3, auth_failure_window=60) as client:
        for _ in range(20):
            assert client.get("/v1/orgs/acme/controls", headers=world.auth("acme:read")).status_code == 200


def test_sign_in_guesses_are_limited_too(world: World) -> None:
    import re

    with client_for(world.engine, auth_failure_limit=3, auth_failure_window=60) as client:
        statuses = []
        for i in range(6):
            form = client.get("/ui/sign-in").text
            presession = re.search(r'name="presession" value="([^"]+)"', form)
            assert presession is not None
            data = {"api_key": f"tsk_guess{i}_x", "presession": presession.group(1)}
            statuses.append(client.post("/ui/sign-in", data=data).status_code)
    assert statuses == [401, 401, 401, 429, 429, 429]
