"""Fuzz every operation of the OpenAPI document with schemathesis: never a 500, and every
error is an RFC 9457 problem. Bounded to a few examples per operation to stay fast."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

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
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error, problem_details])
        statuses[response.status_code] += 1

    run()


def test_no_operation_answers_500(api_schema: Any, seeded: World) -> None:
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
