"""API keys: created with a high-entropy random token shown once, stored as its SHA-256.

A token reads ``tsk_<key id>_<secret>``. The key id is public and indexed, so a request
costs one lookup by id and a constant-time comparison of hashes; no plain secret is ever
stored. SHA-256 (not a slow password hash) is right here because the secret is 256 random
bits, not a guessable password.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session

from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.storage.tables.api import ApiKeyRow

PREFIX = "tsk"


class Scope(enum.StrEnum):
    """What a key may do; each scope includes the ones before it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Scope).index(self)

    def allows(self, needed: Scope) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class ApiKey:
    id: int
    key_id: str
    org_id: int | None
    scope: Scope
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def is_operator(self) -> bool:
        """An org-less admin key: manages sources, organisations and crawls."""
        return self.org_id is None and self.scope is Scope.ADMIN


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _parse(token: str) -> tuple[str, str] | None:
    parts = token.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        key_id=row.key_id,
        org_id=row.org_id,
        scope=Scope(row.scope),
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


_BY_KEY_ID = select(ApiKeyRow.__table__).where(ApiKeyRow.key_id == bindparam("key_id"))


class ApiKeys:
    """Repository of API keys."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, scope: Scope | str, org_id: int | None = None, name: str = "") -> tuple[ApiKey, str]:
        """A new key and its token; the token cannot be recovered later."""
        try:
            scope = Scope(scope)
        except ValueError:
            raise InvalidInputError(f"unknown scope {scope!r}", "use read, write or admin") from None
        if org_id is None and scope is not Scope.ADMIN:
            raise InvalidInputError(
                "a key without an organisation must have the admin scope",
                "pass --org ORG for read and write keys",
            )
        key_id = secrets.token_hex(8)
        token = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with Session(self.engine) as session, session.begin():
            row = ApiKeyRow(
                key_id=key_id,
                secret_hash=hash_token(token),
                org_id=org_id,
                scope=str(scope),
                name=name,
                created_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            return _key(row), token

    def authenticate(self, token: str) -> ApiKey | None:
        """The live key the token belongs to, or ``None``; compares hashes in constant time."""
        parsed = _parse(token)
        if parsed is None:
            return None
        with self.engine.connect() as conn:  # Core, not ORM: this runs on every request
            row = conn.execute(_BY_KEY_ID, {"key_id": parsed[0]}).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, hash_token(token)):
            return None
        return ApiKey(
            id=row.id,
            key_id=row.key_id,
            org_id=row.org_id,
            scope=Scope(row.scope),
            name=row.name,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    def list(self, org_id: int | None) -> list[ApiKey]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ApiKeyRow)
                .where(ApiKeyRow.org_id.is_(None) if org_id is None else ApiKeyRow.org_id == org_id)
                .order_by(ApiKeyRow.id)
            ).all()
            return [_key(r) for r in rows]

    def revoke(self, key_id: str, org_id: int | None, *, any_org: bool = False) -> ApiKey:
        """Revoke one of ``org_id``'s keys (``None``: the operator's); unknown ones are not found.

        ``any_org`` is the operator's own path (the CLI): the key is found whoever owns it.
        """
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            if row is None or (row.org_id != org_id and not any_org):
                raise NotFoundError(f"no API key {key_id!r}", "list keys with GET /v1/orgs/{org}/api-keys")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            key = _key(row)
        _revoked_here()  # after the commit: a cache refill now reads the revoked row
        return key


# Revocations made by this process; every KeyCache drops its entries when the count moves.
_revocations = 0
_revocations_lock = threading.Lock()


def _revoked_here() -> None:
    global _revocations
    with _revocations_lock:
        _revocations += 1


class KeyCache:
    """Live keys recently authenticated, by the SHA-256 of their token, for ``ttl`` seconds.

    Only successful authentications are kept, so unknown, wrong and revoked tokens always
    reach the database. A revocation made through :meth:`ApiKeys.revoke` in this process
    empties every cache at once; one made elsewhere (the CLI, another server worker) takes
    effect here within ``ttl`` seconds. Keys are otherwise immutable (scope and organisation
    never change), so a cached key is exactly what the database would return."""

    def __init__(self, ttl: float = 1.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._data: dict[str, tuple[float, ApiKey]] = {}
        self._epoch = _revocations

    def authenticate(self, engine: Engine, token: str) -> ApiKey | None:
        digest = hash_token(token)
        now = time.monotonic()
        if self._epoch != _revocations:
            self._data.clear()
            self._epoch = _revocations
        found = self._data.get(digest)
        if found is not None and found[0] > now:
            return found[1]
        epoch = _revocations
        key = ApiKeys(engine).authenticate(token)
        if key is not None and epoch == _revocations:  # no revocation raced the lookup
            if len(self._data) >= self.size:
                self._data.clear()
            self._data[digest] = (now + self.ttl, key)
        return key
