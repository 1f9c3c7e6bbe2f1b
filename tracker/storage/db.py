"""Engine creation and schema migration (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as Engine  # re-exported: callers type an engine without importing SQLAlchemy
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import (
    DataError as DataError,  # re-exported: the API maps a value the database refuses to 422
)

from tracker.domain.errors import TrackerError
from tracker.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration of every branch (idempotent).

    Each area (archive, crawling, organisations, subscriptions) has its own migration branch
    from ``0001``, so they can evolve independently; ``heads`` applies them all.
    """
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), "heads")
    except Exception as exc:  # surface driver errors with the fix
        raise TrackerError(
            f"could not migrate the database at {engine.url!r}: {exc}",
            "check TRACKER_DATABASE_URL and that the server is running",
        ) from exc


_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"\s*$', re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(None|\"[^\"]+\")\s*(?:#.*)?$", re.MULTILINE)
_DEPENDS = re.compile(r"^depends_on\s*=\s*(None|\"[^\"]+\")\s*(?:#.*)?$", re.MULTILINE)


def _heads() -> frozenset[str] | None:
    """The revisions Alembic records when every branch is at its newest, read off the
    migration files as text: the heads, less any a newer revision depends on (Alembic keeps
    a dependency out of its version table once its dependant is applied).

    Every command opens the database, and Alembic's own check (import, script directory,
    environment) costs a few hundred milliseconds of a one-second command. A file this
    reader does not understand (a merge revision, a computed id) gives None: Alembic decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN.findall(source)
        depends = _DEPENDS.findall(source)
        if len(revision) != 1 or len(down) != 1 or len(depends) > 1:
            return None
        revisions.add(revision[0])
        parents.update(ref.strip('"') for ref in (*down, *depends) if ref != "None")
    return frozenset(revisions - parents) or None


def _at_heads(engine: Engine) -> bool:
    """True when the database already stands at every head (nothing to migrate)."""
    heads = _heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            stamped = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # an unreachable database: let the upgrade report it with its fix
        return False
    return stamped == heads


def open_engine(settings: Settings) -> Engine:
    engine = make_engine(settings.effective_database_url)
    if not _at_heads(engine):
        upgrade(engine)
    return engine
