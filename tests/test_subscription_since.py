"""A new subscription may ask for the changes since a date, so it does not start empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.support.api_world import World, client_for, seed


@pytest.fixture
def world(engine: Engine) -> World:
    return seed(engine)


def _events(client: object, world: World, location: str) -> list[dict[str, object]]:
    got = client.get(f"{location}/events", headers=world.auth("acme:read"))  # type: ignore[attr-defined]
    assert got.status_code == 200, got.text
    items: list[dict[str, object]] = got.json()["items"]
    return items


def test_since_queues_the_changes_archived_since_then(world: World) -> None:
    headers = world.auth("acme:write")
    with client_for(world.engine) as client:
        plain = client.post("/v1/orgs/acme/subscriptions", headers=headers, json={"channels": ["atom"]})
        assert plain.status_code == 201, plain.text
        assert _events(client, world, plain.headers["location"]) == []  # starts empty, as before

        week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
        back = client.post(
            "/v1/orgs/acme/subscriptions", headers=headers, json={"channels": ["atom"], "since": week_ago}
        )
        assert back.status_code == 201, back.text
        assert back.json()["since"].startswith(week_ago[:19])
        events = _events(client, world, back.headers["location"])
        assert len(events) == 1 and str(events[0]["event_key"]).endswith(str(world.diff_id))

        future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
        later = client.post(
            "/v1/orgs/acme/subscriptions", headers=headers, json={"channels": ["atom"], "since": future}
        )
        assert later.status_code == 201 and _events(client, world, later.headers["location"]) == []

        bad = client.post(
            "/v1/orgs/acme/subscriptions",
            headers=headers,
            json={"channels": ["atom"], "since": "9999-12-31T23:59:59-14:00"},
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "since", bad.text
