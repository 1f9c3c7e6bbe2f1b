"""After a new version is archived: diff with the previous one, impact per interested org, digest events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tracker.digests.model import Channel, SubscriptionSpec
from tracker.domain.model import Source
from tracker.mapping.crosswalks.files import read_csv
from tracker.pipeline import on_new_version
from tracker.settings import Settings
from tracker.sources.ingest import ingest_files
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.impacts import ImpactStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore
from tracker.storage.subscriptions import SubscriptionStore
from tracker.storage.tables.api import OutboxRow

LIMIT = 64 * 1024 * 1024
LEXICAL = Settings(use_model=False)


def test_new_version_flows_to_impact_and_digest_events(engine: Engine, corpus_dir: Path) -> None:
    archive = Archive(engine)
    csf = Source(slug="nist-csf", title="NIST CSF")
    first = ingest_files(archive, csf, "1.1", [corpus_dir / "nist-csf" / "1.1"], max_bytes=LIMIT)
    assert on_new_version(archive, csf, first.version, LEXICAL).diff_id is None  # nothing to compare with

    sp = Source(slug="nist-sp-800-53")
    ingest_files(
        archive, sp, "rev5", [corpus_dir / "nist-sp-800-53" / "rev5-oscal-5.0.1-2021-06"], max_bytes=LIMIT
    )
    orgs = OrgStore(engine)
    from tracker.mapping.documents import controls_from_requirements

    acme = orgs.create("acme")
    ControlStore(engine).import_controls(
        "acme", controls_from_requirements(archive.requirements("nist-sp-800-53", "rev5")), "catalog"
    )
    orgs.create("bystander")  # maps nothing: gets no impact
    crosswalk = (corpus_dir.parent / "eval" / "csf1.1_to_sp800-53r5.csv").read_bytes()
    MappingStore(engine).add_mappings(
        None, read_csv(crosswalk, source_set="nist-csf@1.1", target_set="nist-sp-800-53@rev5"), "eval"
    )
    SubscriptionStore(engine).create(
        acme.id,
        SubscriptionSpec(name="csf", sources=("nist-csf",), channels=(Channel.ATOM,)),
        since=datetime.now(UTC) - timedelta(days=1),
    )

    second = ingest_files(archive, csf, "2.0", [corpus_dir / "nist-csf" / "2.0"], max_bytes=LIMIT)
    report = on_new_version(archive, csf, second.version, LEXICAL)
    assert report.diff_id is not None
    assert set(report.impacts) == {"acme"}
    stored = DiffStore(engine).get(report.diff_id)
    assert (stored.result.old_version, stored.result.new_version) == ("1.1", "2.0")
    impact = ImpactStore(engine).impact("acme", report.diff_id)
    assert impact is not None and impact.items
    assert report.queued == 1
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == 1

    # Running the hook again (a retried crawl) reuses the stored diff and queues nothing new.
    again = on_new_version(archive, csf, second.version, LEXICAL)
    assert again.diff_id == report.diff_id and again.queued == 0


@pytest.fixture(autouse=True)
def _quiet_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lexical engine keeps this test fast; the model path is covered by the diff tests."""
    monkeypatch.setenv("TRACKER_USE_MODEL", "0")
