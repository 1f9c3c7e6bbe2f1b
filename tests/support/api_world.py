"""Shared seed for the API and digest tests (no tests here): a real archive with two
versions, a stored diff, two organisations with controls and mappings, and an impact
computed by the real impact engine and stored through the organisation store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from tests.support.factories import parsed_version, requirement
from tracker.diff.types import ENGINE_VERSION, Change, DiffResult, Kind, Tag
from tracker.domain.model import Lifecycle, ParsedVersion, Requirement, Source
from tracker.domain.redline import redline
from tracker.impact.model import StoredImpact
from tracker.impact.rules import impact
from tracker.impact.service import store_impact
from tracker.mapping.types import Control, Mapping, Provenance, Relationship, ReviewState
from tracker.settings import Settings
from tracker.storage.api_keys import ApiKeys, Scope
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.diffs import DiffStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore

SOURCE = Source(slug="demo-std", title="Demo AI Security Standard", publisher="Demo Body")
OLD_R1 = "Operators should log every access to model weights."
NEW_R1 = "Operators shall log every access to model weights and review the logs monthly."


req = requirement


def parsed(*reqs: Requirement) -> ParsedVersion:
    return parsed_version(*reqs, title="Demo")


@dataclass
class World:
    engine: Engine
    diff_id: int = 0
    orgs: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # "acme:read" -> token, "operator" -> token

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def seed_v1(engine: Engine) -> None:
    Archive(engine).add_version(
        SOURCE,
        "v1",
        [("v1.md", b"v1")],
        parsed(
            req("R-1", OLD_R1, "Logging"),
            req("R-2", "Keep an inventory of models.", "Inventory"),
            req("R-3", "Operators may publish a model card.", "Model cards"),
        ),
        published=date(2024, 1, 15),
    )


def land_v2(engine: Engine) -> int:
    """A new version lands: archived, a consultation draft after it, and the v1 -> v2 diff stored."""
    archive = Archive(engine)
    archive.add_version(
        SOURCE,
        "v2",
        [("v2.md", b"v2")],
        parsed(
            req("R-1", NEW_R1, "Logging"),
            req("R-2", "Keep an inventory of models.", "Inventory"),
            req("R-4", "Developers shall red-team models before release.", "Red teaming"),
        ),
        published=date(2025, 3, 1),
    )
    archive.add_version(
        SOURCE,
        "v3-draft",
        [("v3.md", b"v3")],
        parsed(req("R-1", "Operators must log and alert on access.", "Logging")),
        status=Lifecycle.CONSULTATION,
        published=date(2025, 6, 1),
    )
    result = DiffResult(
        source=SOURCE.slug,
        old_version="v1",
        new_version="v2",
        engine_version=ENGINE_VERSION,
        model_id=None,
        changes=(
            Change(
                Kind.MODIFIED,
                ("R-1",),
                ("R-1",),
                substantive=True,
                tags=(Tag.OBLIGATION_STRENGTHENED,),
                reasons=("should became shall",),
                redlines=(("statement", redline(OLD_R1, NEW_R1)),),
            ),
            Change(Kind.UNCHANGED, ("R-2",), ("R-2",), substantive=False),
            Change(Kind.REMOVED, ("R-3",), (), tags=(Tag.WITHDRAWN,)),
            Change(Kind.ADDED, (), ("R-4",)),
        ),
    )
    return DiffStore(engine).save(result).id


def seed_orgs(engine: Engine, world: World) -> None:
    store = OrgStore(engine)
    for slug in ("acme", "globex"):
        world.orgs[slug] = store.create(slug, slug.title()).id
    ControlStore(engine).import_controls(
        "acme",
        [
            Control(id="ACME-1", title="Access logging", tags=("logging", "iam")),
            Control(id="ACME-2", title="Model inventory", tags=("assets",)),
            Control(id="ACME-3", title="Model cards", tags=("transparency",)),
        ],
        origin="test",
    )
    ControlStore(engine).import_controls(
        "globex", [Control(id="G-1", title="Globex secret control")], origin="test"
    )
    mappings = [
        Mapping(
            "R-1",
            "ACME-1",
            Relationship.SUBSET,
            Provenance.MACHINE,
            0.8,
            ReviewState.PROPOSED,
            ("demo-std@v1",),
        ),
        Mapping("R-3", "ACME-3", Relationship.EQUAL, Provenance.PUBLISHED, 1.0, ReviewState.ACCEPTED),
    ]
    mappings = [
        Mapping(
            m.source,
            m.target,
            m.relationship,
            m.provenance,
            m.confidence,
            m.review,
            m.versions,
            source_set="demo-std@v1",
            target_set="org:acme",
        )
        for m in mappings
    ]
    MappingStore(engine).add_mappings("acme", mappings, origin="test")
    MappingStore(engine).add_mappings(
        "globex",
        [
            Mapping(
                "R-1", "G-1", source_set="demo-std@v1", target_set="org:globex", review=ReviewState.PROPOSED
            )
        ],
        origin="test",
    )


def store_impacts(engine: Engine, diff_id: int) -> None:
    """Run the real impact engine for both organisations and store the worklists."""
    diff = DiffStore(engine).get(diff_id).result
    for org in ("acme", "globex"):
        org_maps = [m.mapping for m in MappingStore(engine).mappings(org)]
        items = impact(diff.changes, org_maps)
        store_impact(engine, StoredImpact.of(org, diff_id, diff, items))


def seed_keys(engine: Engine, world: World) -> None:
    keys = ApiKeys(engine)
    world.keys["operator"] = keys.create(Scope.ADMIN)[1]
    for slug, org_id in world.orgs.items():
        for scope in Scope:
            world.keys[f"{slug}:{scope}"] = keys.create(scope, org_id, f"{slug} {scope}")[1]


def seed(engine: Engine) -> World:
    world = World(engine)
    seed_v1(engine)
    seed_orgs(engine, world)
    seed_keys(engine, world)
    world.diff_id = land_v2(engine)
    store_impacts(engine, world.diff_id)
    return world


def client_for(engine: Engine, **settings: object) -> TestClient:
    app = create_app(Settings(public_url="http://testserver", **settings), engine=engine)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)
