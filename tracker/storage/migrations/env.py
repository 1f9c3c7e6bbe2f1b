"""Alembic environment: runs against the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from tracker.storage.schema import metadata

config = context.config
engine = config.attributes.get("engine")


def run() -> None:
    if engine is None:
        raise RuntimeError("run migrations through tracker.storage.db.upgrade(engine)")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata(),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run()
