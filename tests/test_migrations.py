"""The Alembic migrations build exactly the schema the table classes describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from tracker.storage.db import _alembic_config, upgrade
from tracker.storage.schema import metadata


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, metadata())
    assert differences == []


def _schema(engine: Engine) -> dict[str, object]:
    """Every table with its columns, indexes, unique constraints and foreign keys."""
    inspector = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"] or "", tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            sorted(
                (u["name"] or "", tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
            ),
            sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        )
        for table in sorted(inspector.get_table_names())
    }


def _revision(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """A second upgrade (every process start runs one) changes nothing and stays at the head."""
    schema, heads = _schema(engine), _revision(engine)
    scripts = ScriptDirectory.from_config(_alembic_config(engine))
    applied = {r.revision for r in scripts.iterate_revisions(heads, "base")}
    assert set(scripts.get_heads()) <= applied and "alembic_version" in schema  # at every head
    upgrade(engine)
    assert _revision(engine) == heads
    assert _schema(engine) == schema
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
    assert rows == len(heads)  # one row per migration branch head, none added


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


def test_the_quick_check_reads_the_same_heads_as_alembic(tmp_path: Path) -> None:
    """Commands skip Alembic when the database stands at every head; the heads read off the
    files as text must be Alembic's own, or a new migration would never be applied."""
    from tracker.storage.db import _at_heads, _heads, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'quick.sqlite3'}")
    assert not _at_heads(engine)  # a new file: nothing stamped, so the upgrade runs
    upgrade(engine)
    assert _at_heads(engine)
    assert _heads() == frozenset(_revision(engine))  # exactly what Alembic itself recorded
    with engine.begin() as conn:  # one branch behind: the upgrade must run again
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0006'"))
    assert not _at_heads(engine)
    engine.dispose()
