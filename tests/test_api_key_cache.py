"""The per-process cache of authenticated API keys: fast, and never outliving a revocation for long."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from tracker.storage.api_keys import ApiKey, ApiKeys, KeyCache, Scope
from tracker.storage.orgs import OrgStore


def _id(key: ApiKey | None) -> str | None:
    return None if key is None else key.key_id


def test_revocation_here_is_immediate_elsewhere_bounded(engine: Engine) -> None:
    org = OrgStore(engine).create("acme")
    keys = ApiKeys(engine)
    key, token = keys.create(Scope.READ, org.id)
    cache = KeyCache(ttl=0.5)
    assert _id(cache.authenticate(engine, token)) == key.key_id
    assert cache.authenticate(engine, "tsk_nope_nope") is None  # failures are never cached

    # A revocation in this process empties every cache at once.
    keys.revoke(key.key_id, org.id)
    assert cache.authenticate(engine, token) is None

    # One made by another process (simulated: a cache that did not see it) lasts at most ttl.
    other, other_token = keys.create(Scope.READ, org.id)
    stale = KeyCache(ttl=0.5)
    assert _id(stale.authenticate(engine, other_token)) == other.key_id
    from sqlalchemy import update

    from tracker.storage.tables.api import ApiKeyRow

    with engine.begin() as conn:  # revoke behind the cache's back, as the CLI in another process does
        conn.execute(
            update(ApiKeyRow).where(ApiKeyRow.key_id == other.key_id).values(revoked_at=other.created_at)
        )
    assert _id(stale.authenticate(engine, other_token)) == other.key_id  # still within ttl
    time.sleep(0.6)
    assert stale.authenticate(engine, other_token) is None
