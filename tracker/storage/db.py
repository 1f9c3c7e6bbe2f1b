"""Engine creation and schema migration (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine as Engine  # re-exported: callers type an engine without importing SQLAlchemy
from sqlalchemy import create_engine, event
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


def open_engine(settings: Settings) -> Engine:
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    return engine
