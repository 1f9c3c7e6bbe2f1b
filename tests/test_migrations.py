"""The Alembic migrations build exactly the schema the table classes describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from tracker.storage.db import upgrade
from tracker.storage.schema import metadata


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata())
    assert differences == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)


def test_scheduler_table_is_made_by_migration(engine: Engine) -> None:
    """APScheduler's job store finds its table in place: no DDL when the scheduler starts."""
    from sqlalchemy import inspect

    assert "apscheduler_jobs" in inspect(engine).get_table_names()
    indexes = {i["name"] for i in inspect(engine).get_indexes("apscheduler_jobs")}
    assert "ix_apscheduler_jobs_next_run_time" in indexes


def test_a_table_apscheduler_made_earlier_is_kept(tmp_path: Path) -> None:
    """A database whose scheduler ran before the table joined the migrations upgrades cleanly."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from tracker.storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
    store.start(None, "default")  # creates the table the way APScheduler does
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, metadata()) == []
    engine.dispose()
