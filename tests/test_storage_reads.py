"""The read repositories the API and pages ask: pages by id cursor, headers, briefs, lookups."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.support.api_world import SOURCE, seed
from tracker.domain.model import Lifecycle
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.review.decisions import review_verdict
from tracker.storage.archive import Archive
from tracker.storage.catalog import Catalog
from tracker.storage.changes import ChangeStore
from tracker.storage.crawls import RunStore
from tracker.storage.decisions import DecisionStore, Reviewer
from tracker.storage.diffs import DiffStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore

SLUG = SOURCE.slug


def test_catalog_pages_sources_versions_and_requirements(engine: Engine) -> None:
    seed(engine)
    catalog = Catalog(engine)
    (entry,) = catalog.source_page(after_id=0, limit=10)
    assert (entry.source.slug, entry.versions) == (SLUG, 3)
    assert catalog.source_entry(SLUG) == entry
    assert catalog.source_entry("nope") is None and catalog.source_id("nope") is None
    assert catalog.source_page(after_id=entry.id, limit=10) == []

    first, second = catalog.version_page(SLUG, after_id=0, limit=2)
    # the same versions, artefacts included, as the archive answers one at a time
    assert first.version == Archive(engine).version(SLUG, "v1")
    assert second.version == Archive(engine).version(SLUG, "v2")
    (third,) = catalog.version_page(SLUG, after_id=second.id, limit=2)
    assert third.version.label == "v3-draft"
    drafts = catalog.version_page(SLUG, after_id=0, limit=9, status=Lifecycle.CONSULTATION)
    assert [v.version.label for v in drafts] == ["v3-draft"]

    assert [v.label for v in catalog.versions(SLUG)] == ["v1", "v2", "v3-draft"]
    assert catalog.versions("nope") == []
    assert catalog.version_ids(entry.id, ["v2", "v9"]) == {"v2": second.id}
    (overview,) = catalog.overview()
    assert overview.versions == 3 and overview.newest is not None and overview.newest.label == "v3-draft"

    reqs = catalog.requirement_page(first.id, after_id=0, limit=2)
    assert [(r.ident, r.title) for r in reqs] == [("R-1", "Logging"), ("R-2", "Inventory")]
    rest = catalog.requirement_page(first.id, after_id=reqs[-1].id, limit=2)
    assert [r.ident for r in rest] == ["R-3"]
    titles = catalog.requirement_titles([first.id])
    assert titles[(first.id, "R-3")] == "Model cards"
    texts = catalog.requirement_texts(second.id, ["R-4", "R-3"])
    assert list(texts) == ["R-4"] and texts["R-4"].statement.startswith("Developers shall")


def test_diff_headers_and_changes_of_a_diff(engine: Engine) -> None:
    world = seed(engine)
    diffs = DiffStore(engine)
    (header,) = diffs.page(after_id=0, limit=5)
    assert (header.source, header.old_version, header.new_version) == (SLUG, "v1", "v2")
    assert header.summary == DiffStore(engine).get(world.diff_id).result.summary
    assert diffs.page(after_id=0, limit=5, source="other") == []
    assert diffs.header(world.diff_id) == header and diffs.header(world.diff_id + 1) is None
    assert diffs.headers([world.diff_id, 999]) == {world.diff_id: header}
    assert diffs.headers_of_source(SLUG) == [header] and diffs.count() == 1
    assert diffs.newest_between(header.old_version_id, header.new_version_id) == header
    assert diffs.newest_between(header.new_version_id, header.old_version_id) is None

    changes = ChangeStore(engine)
    briefs = changes.briefs(world.diff_id)
    assert [b.kind for b in briefs] == ["modified", "unchanged", "removed", "added"]
    assert briefs[0].reasons == ("should became shall",) and "statement" in briefs[0].redline
    assert changes.diff_of(briefs[2].id) == header and changes.diff_of(10_000) is None
    ids = changes.identifiers([briefs[2].id, briefs[3].id])
    assert (ids[briefs[2].id].old_ids, ids[briefs[3].id].new_ids) == (("R-3",), ("R-4",))

    before = changes.state(world.diff_id)
    assert before.newest_decision is None
    acme = Reviewer("Ann", "", "acme", world.orgs["acme"])
    review_verdict(engine, briefs[0].id, acme, action="confirm", reason="checked")
    after = changes.state(world.diff_id)
    assert after.newest_decision is not None and after != before  # a decision makes a new state
    own = DecisionStore(engine).org_verdicts(world.orgs["acme"], diff_id=world.diff_id)
    assert list(own) == [briefs[0].id] and own[briefs[0].id].decisions == 1
    assert DecisionStore(engine).org_verdicts(world.orgs["globex"], diff_id=world.diff_id) == {}


def test_runs_organisations_and_mappings_page_by_id(engine: Engine) -> None:
    world = seed(engine)
    runs = RunStore(engine)
    ids = [runs.start(SLUG) for _ in range(3)]
    runs.finish(ids[1], "ok", "fine")
    assert [r.id for r in runs.page(after_id=ids[0], limit=5)] == ids[1:]
    assert [r.id for r in runs.page(after_id=0, limit=5, outcome="ok")] == [ids[1]]
    assert runs.page(after_id=0, limit=5, source="other") == []

    orgs = OrgStore(engine)
    assert [o.slug for o in orgs.page(after_id=0, limit=5)] == ["acme", "globex"]
    assert [o.slug for o in orgs.page(after_id=0, limit=5, only_id=world.orgs["globex"])] == ["globex"]

    store = MappingStore(engine)
    acme, globex = world.orgs["acme"], world.orgs["globex"]
    mine = store.page(acme, after_id=0, limit=5)
    assert [m.mapping.target for m in mine] == ["ACME-1", "ACME-3"]
    assert [m.mapping.target for m in store.page(acme, after_id=0, limit=5, target_key="ACME-3")] == [
        "ACME-3"
    ]
    assert store.page(acme, after_id=0, limit=5, review=ReviewState.PROPOSED)[0].mapping.target == "ACME-1"
    assert store.get(acme, mine[0].id) == mine[0]
    assert store.get(globex, mine[0].id) is None  # another tenant's mapping is not found
    probe = Mapping("R-1", "ACME-1", source_set="demo-std@v1", target_set="org:acme")
    assert store.of_pair(acme, probe) == mine[0]
    assert store.of_pair(acme, probe, provenance=Provenance.REVIEWER) is None
    assert store.of_pair(globex, probe) is None
