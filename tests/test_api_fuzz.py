"""Fuzz every operation of the OpenAPI document with schemathesis: never a 500, every error
is an RFC 9457 problem, and every answer conforms to the document (status code, content
type, headers and body schema). Bounded to a few examples per operation to stay fast."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api_world import World, seed
from tracker.storage.db import make_engine, upgrade

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}")
    upgrade(engine)
    yield seed(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(seeded: World) -> Any:
    from api.app import create_app
    from tracker.settings import Settings

    app = create_app(Settings(public_url="http://testserver"), engine=seeded.engine)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@schemathesis.check
def problem_details(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answer is application/problem+json with the RFC 9457 members."""
    if response.status_code >= 400 and response.status_code != 304:
        assert response.headers.get("content-type", [""])[0].startswith(PROBLEM), response.headers
        body = response.json()
        assert body["status"] == response.status_code and body["title"] and body["type"]
        if response.status_code == 422:
            assert body["errors"], body
    return None


CHECKS = [
    not_a_server_error,
    problem_details,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _fuzz(operation: Any, headers: dict[str, str], statuses: Counter[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=6,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1

    run()


def test_every_operation_conforms_to_the_document(api_schema: Any, seeded: World) -> None:
    """One bounded hypothesis run per operation (schemathesis' pytest loader does not work
    with this pytest version, so the operations are driven directly)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    statuses: Counter[int] = Counter()
    for operation in operations:
        who = "operator" if "/orgs/" not in operation.path else "acme:admin"
        _fuzz(operation, seeded.auth(who), statuses)
    assert statuses[500] == 0
    assert sum(statuses.values()) >= 3 * len(operations)
    assert any(200 <= status < 300 for status in statuses) and statuses[422] > 0


# Values that once answered 500 (integers past 64 bits, date-times outside years 1-9999 in
# UTC, NUL characters PostgreSQL cannot store, URLs that do not parse), sent into every
# parameter of every operation, on both databases.
HOSTILE_INTS = [str(2**63), str(2**64 + 7), "-9223372036854775809"]
HOSTILE_TEXT = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "a\x00b",
    "http://[::1",
    "http://[zz::1]/",
    "http://0177.0.0.1:8102/h",
]
HOSTILE_BODIES: list[dict[str, object]] = [
    {"channels": ["webhook"], "webhook_url": "http://[::1"},
    {"channels": ["webhook"], "webhook_url": "http://[zz::1]/"},
    {"channels": ["webhook"], "webhook_url": "http://2130706433/"},
    {"channels": ["webhook"], "webhook_url": "http://a:port/"},
    {"name": "n\x00"},
    {"id": "C-\x00", "title": "t"},
    {"id": "C-1", "title": "a\x00b"},
    {"title": "a\x00b"},
]


def _fill(path: str, params: dict[str, str]) -> str:
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    return path


def test_hostile_values_never_answer_5xx(engine: Any) -> None:
    from fastapi.testclient import TestClient

    from tests.support.api_world import client_for

    world = seed(engine)
    client: TestClient
    sent = 0
    with client_for(engine) as client:
        spec = client.get("/openapi.json").json()
        known = {"org": "acme", "slug": "demo-std", "label": "v1", "ident": "ACME-1"}
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                who = "operator" if "/orgs/" not in path else "acme:admin"
                headers = world.auth(who)
                params = op.get("parameters", [])
                base = {p["name"]: known.get(p["name"], "1") for p in params if p["in"] == "path"}
                for param in params:
                    kind = param.get("schema", {}).get("type") or "string"
                    values = HOSTILE_INTS if kind == "integer" else HOSTILE_TEXT
                    for value in values:
                        if param["in"] == "path":
                            url, query = _fill(path, {**base, param["name"]: quote(value, safe="")}), {}
                        else:
                            url, query = _fill(path, base), {param["name"]: value}
                        response = client.request(method, url, params=query, headers=headers)
                        sent += 1
                        assert response.status_code < 500, (method, url, query, response.text)
                if "requestBody" in op and "json" in str(op["requestBody"]):
                    for body in HOSTILE_BODIES:
                        response = client.request(method, _fill(path, base), json=body, headers=headers)
                        sent += 1
                        assert response.status_code < 500, (method, path, body, response.text)
    assert sent > 300
