"""Shared fixtures: where the real corpus lives, and small-fixture helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.mailbox import Mailbox, serve_mailbox
from tests.support.webhook_receiver import Receiver, serve_receiver

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _corpus_dir() -> Path:
    configured = os.environ.get("TRACKER_CORPUS_DIR")
    return Path(configured) if configured else (ROOT / ".." / "shared" / "corpus").resolve()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus of real documents. Missing under CI is a failure, locally a skip."""
    path = _corpus_dir()
    if not (path / "MANIFEST.json").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"corpus not found at {path}; set TRACKER_CORPUS_DIR")
        pytest.skip(f"corpus not found at {path}; set TRACKER_CORPUS_DIR")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


# -- databases -------------------------------------------------------------------------------
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from sqlalchemy import Engine, text  # noqa: E402

POSTGRES_URL = os.environ.get("TRACKER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_engine(schema: str) -> Engine:
    from sqlalchemy import create_engine

    from tracker.storage.db import make_engine

    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    finally:
        admin.dispose()
    sep = "&" if "?" in POSTGRES_URL else "?"
    return make_engine(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")


def _drop_schema(schema: str) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file, then a fresh PostgreSQL schema."""
    from tracker.storage.db import make_engine, upgrade

    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'tracker.sqlite3'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = _postgres_engine(schema)
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        _drop_schema(schema)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    from tracker.storage.db import make_engine, upgrade

    eng = make_engine(f"sqlite:///{tmp_path / 'tracker.sqlite3'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db_env(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Point TRACKER_DATABASE_URL (and the data dir) at the test database, for CLI tests."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    return engine


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real webhook receiver on loopback (records every POST)."""
    with serve_receiver() as state:
        yield state


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """A real SMTP server on loopback (aiosmtpd) keeping every message it receives."""
    with serve_mailbox() as box:
        yield box
