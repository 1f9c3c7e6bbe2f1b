"""The archive on SQLite and PostgreSQL: atomic versions, content-addressed artefacts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.support.factories import parsed_version as _parsed
from tests.support.factories import requirement as _req
from tracker.domain.errors import ConflictError, NotFoundError
from tracker.domain.model import Lifecycle, Link, Profile, Source
from tracker.storage.archive import Archive
from tracker.storage.changes import ChangeStore
from tracker.storage.tables.archive import ArtefactRow, RequirementRow, VersionRow

SRC = Source(slug="demo", title="Demo standard")


def test_version_round_trip(engine: Engine) -> None:
    archive = Archive(engine)
    parsed = _parsed(
        _req("AC", kind="family", title="Access Control"),
        _req("AC-1", "The organisation shall develop a policy.", parent="AC", depth=1),
        _req("AC-2", "", parent="AC", depth=1, withdrawn=True, links=(Link("incorporated-into", "AC-1"),)),
        profiles=(Profile("LOW", "Low baseline", ("AC-1",)),),
    )
    version, created = archive.add_version(SRC, "v1", [("a.json", b"{}")], parsed)
    assert created and version.requirement_count == 3 and version.status is Lifecycle.FINAL
    reqs = archive.requirements("demo", "v1")
    assert [r.ident for r in reqs] == ["AC", "AC-1", "AC-2"]
    assert reqs[1].obligations[0].modal == "shall"
    assert reqs[2].successors == ("AC-1",)
    assert archive.requirement("demo", "v1", "ac-01").ident == "AC-1"
    assert archive.profiles("demo", "v1")[0].keys == ("AC-1",)
    assert archive.artefact(version.artefacts[0].sha256) == b"{}"


def test_reingest_is_noop_and_bytes_stored_once(engine: Engine) -> None:
    archive = Archive(engine)
    parsed = _parsed(_req("X-1", "Do it."))
    archive.add_version(SRC, "v1", [("a.md", b"same bytes")], parsed)
    _, created = archive.add_version(SRC, "v1", [("a.md", b"same bytes")], parsed)
    assert not created
    archive.add_version(SRC, "v2", [("b.md", b"same bytes")], parsed)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ArtefactRow)) == 1
        assert session.scalar(select(func.count()).select_from(VersionRow)) == 2


def test_changed_bytes_under_same_label_refused(engine: Engine) -> None:
    archive = Archive(engine)
    archive.add_version(SRC, "v1", [("a.md", b"one")], _parsed(_req("X-1")))
    with pytest.raises(ConflictError, match="new --version label"):
        archive.add_version(SRC, "v1", [("a.md", b"two")], _parsed(_req("X-1")))


def test_failed_version_leaves_nothing(engine: Engine) -> None:
    """Two requirements with one key violate the schema midway: nothing of the version remains."""
    archive = Archive(engine)
    archive.add_version(SRC, "v1", [("a.md", b"one")], _parsed(_req("X-1")))
    bad = _parsed(_req("X-1"), _req("X-01"))
    with pytest.raises(Exception):  # noqa: B017 - the driver's integrity error
        archive.add_version(SRC, "v2", [("b.md", b"two")], bad)
    assert [v.label for v in archive.versions("demo")] == ["v1"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ArtefactRow)) == 1
        assert session.scalar(select(func.count()).select_from(RequirementRow)) == 1


def test_new_final_supersedes_older_final(engine: Engine) -> None:
    archive = Archive(engine)
    archive.add_version(SRC, "v1", [("a", b"1")], _parsed(_req("X-1")))
    archive.add_version(SRC, "v2-draft", [("a", b"2")], _parsed(_req("X-1")), status=Lifecycle.DRAFT)
    archive.add_version(SRC, "v2", [("a", b"3")], _parsed(_req("X-1")))
    statuses = {v.label: v.status for v in archive.versions("demo")}
    assert statuses == {"v1": Lifecycle.SUPERSEDED, "v2-draft": Lifecycle.DRAFT, "v2": Lifecycle.FINAL}


def test_unknown_names_say_what_exists(engine: Engine) -> None:
    archive = Archive(engine)
    archive.add_version(SRC, "v1", [("a", b"1")], _parsed(_req("X-1")))
    with pytest.raises(NotFoundError, match="known sources: demo"):
        archive.versions("nope")
    with pytest.raises(NotFoundError, match="known versions: v1"):
        archive.requirements("demo", "v9")
    with pytest.raises(NotFoundError, match="tracker show demo v1"):
        archive.requirement("demo", "v1", "Y-1")


def test_diff_from_an_older_engine_is_recomputed_and_marked(engine: Engine) -> None:
    """A stored diff is reused only by the engine version that made it; older ones say so."""
    from dataclasses import replace

    from tracker.diff import ENGINE_VERSION, diff_versions
    from tracker.diff.service import diff_archived
    from tracker.storage.diffs import DiffStore

    archive, store = Archive(engine), DiffStore(engine)
    archive.add_version(SRC, "v1", [("a.md", b"one")], _parsed(_req("X-1", "The system shall log access.")))
    archive.add_version(SRC, "v2", [("b.md", b"two")], _parsed(_req("X-1", "Log access.")))
    fresh = diff_versions(
        archive.requirements("demo", "v1"), archive.requirements("demo", "v2"),
        source="demo", old_version="v1", new_version="v2",
    )  # fmt: skip
    older = store.save(replace(fresh, engine_version="0.9.0"))

    assert store.load("demo", "v1", "v2", ENGINE_VERSION) is None  # never handed to the new engine
    current = diff_archived(archive, store, "demo", "v1", "v2", None)
    assert current.id != older.id and current.result.engine_version == ENGINE_VERSION
    assert diff_archived(archive, store, "demo", "v1", "v2", None).id == current.id  # stored once
    assert store.load("demo", "v1", "v2").id == current.id  # the newest is the current one

    listed = ChangeStore(engine).changes(source="demo")
    by_diff = {c.diff_id: c for c in listed}
    assert by_diff[older.id].engine_version == "0.9.0" and by_diff[older.id].older_engine
    assert by_diff[current.id].engine_version == ENGINE_VERSION and not by_diff[current.id].older_engine
