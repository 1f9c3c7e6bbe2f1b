"""OSCAL in and out, validated with compliance-trestle's models (the reference Python
implementation of OSCAL): mapping collections, POA&M of an impact, component definition and
SSP imports through the CLI's reader and the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from trestle.oscal import OSCAL_VERSION as TRESTLE_OSCAL_VERSION
from trestle.oscal.mapping import Model as MappingModel
from trestle.oscal.poam import Model as PoamModel

from tests.support.api_world import client_for, seed
from tracker.impact.oscal_poam import write_poam
from tracker.mapping.controls_io import keep_known, read_controls
from tracker.mapping.crosswalks.oscal import read_oscal_mapping, write_oscal_mapping
from tracker.mapping.crosswalks.oscal_ids import OSCAL_VERSION, catalog_id, label_of
from tracker.mapping.types import Control, Mapping, Provenance, Relationship, ReviewState
from tracker.storage.controls import ControlStore
from tracker.storage.impacts import ImpactStore

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def _mappings() -> list[Mapping]:
    return [
        Mapping(
            "ID.AM-1", "CM-8", Relationship.INTERSECTS, source_set="nist-csf@1.1", target_set="sp53@rev5"
        ),
        Mapping(
            "GV.OC-01",
            "AC-2(1)",
            Relationship.SUBSET,
            provenance=Provenance.MACHINE,
            confidence=0.42,
            review=ReviewState.PROPOSED,
            source_set="nist-csf@2.0",
            target_set="sp53@rev5",
        ),
        Mapping("AC-2(1)", "BK-01", Relationship.SUPERSET, source_set="sp53@rev5", target_set="org:acme"),
        Mapping("R-1", "X-1", Relationship.EQUAL),  # names no set at all
    ]


def test_the_oscal_version_is_the_one_trestle_models() -> None:
    assert OSCAL_VERSION == TRESTLE_OSCAL_VERSION


def test_mapping_collection_validates_and_every_href_resolves() -> None:
    text = write_oscal_mapping(_mappings(), title="t", last_modified=WHEN)
    model = MappingModel.model_validate_json(text)
    collection = model.mapping_collection
    assert collection.metadata.oscal_version.root.root == TRESTLE_OSCAL_VERSION
    assert collection.metadata.last_modified == WHEN
    assert collection.back_matter is not None
    resources = {r.uuid for r in collection.back_matter.resources or []}
    groups = collection.mappings if isinstance(collection.mappings, list) else [collection.mappings]
    for group in groups:
        for ref in (group.source_resource, group.target_resource):
            assert ref.href.startswith("#") and ref.href[1:] in resources
    refs = {item.id_ref for g in groups for m in g.maps for item in [*m.sources, *m.targets]}
    # catalog ids for standards' controls, an organisation's own ids untouched
    assert {"cm-8", "ac-2.1", "BK-01", "ID.AM-1"} <= refs and "CM-8" not in refs and "AC-2(1)" not in refs


def test_mapping_collection_round_trips() -> None:
    ms = _mappings()
    back = read_oscal_mapping(write_oscal_mapping(ms, last_modified=WHEN))
    order = sorted(ms, key=lambda m: (m.source_set, m.target_set, m.source))
    assert sorted(back, key=lambda m: (m.source_set, m.target_set, m.source)) == order


def test_the_uuid_follows_the_content_not_the_time() -> None:
    ms = _mappings()
    first = json.loads(write_oscal_mapping(ms, last_modified=WHEN))["mapping-collection"]
    later = json.loads(write_oscal_mapping(ms))["mapping-collection"]
    assert first["uuid"] == later["uuid"]
    assert first["metadata"]["last-modified"] != later["metadata"]["last-modified"]
    assert not later["metadata"]["last-modified"].startswith("1970")
    revised = json.loads(write_oscal_mapping(ms[:-1], last_modified=WHEN))["mapping-collection"]
    assert revised["uuid"] != first["uuid"]


@pytest.mark.parametrize(
    ("label", "oscal_id"),
    [("CM-8", "cm-8"), ("AC-2(1)", "ac-2.1"), ("SI-4(12)(3)", "si-4.12.3"), ("GV.SC-01", "GV.SC-01")],
)
def test_catalog_ids(label: str, oscal_id: str) -> None:
    assert catalog_id(label) == oscal_id
    assert label_of(oscal_id) == label
    assert catalog_id(label, "org:acme") == label


COMPONENT_DEFINITION: dict[str, Any] = {
    "component-definition": {
        "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c01",
        "metadata": {
            "title": "IAM platform",
            "last-modified": "2026-01-01T00:00:00Z",
            "version": "1",
            "oscal-version": "1.2.1",
        },
        "components": [
            {
                "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c02",
                "type": "software",
                "title": "IAM team",
                "description": "The identity platform.",
                "control-implementations": [
                    {
                        "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c03",
                        "source": "https://example.org/sp800-53-catalog.json",
                        "description": "SP 800-53 controls the platform implements.",
                        "implemented-requirements": [
                            {
                                "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c04",
                                "control-id": "ac-2.1",
                                "description": "Accounts are managed by the IAM platform.",
                                "statements": [
                                    {
                                        "statement-id": "ac-2.1_smt",
                                        "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c05",
                                        "description": "Joiners and leavers are provisioned from HR.",
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
}

SSP_REQUIREMENT = {
    "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c14",
    "control-id": "ac-2.1",
    "statements": [
        {
            "statement-id": "ac-2.1_smt",
            "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c15",
            "by-components": [
                {
                    "component-uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c16",
                    "uuid": "0b9a6a02-3f2c-4a43-9a4b-6b5a9f0b1c17",
                    "description": "The SSP says how the system does it.",
                }
            ],
        }
    ],
}
SSP = {"system-security-plan": {"control-implementation": {"implemented-requirements": [SSP_REQUIREMENT]}}}


def test_component_definition_keeps_statements_and_the_catalogs_titles() -> None:
    from trestle.oscal.component import Model as ComponentModel

    raw = json.dumps(COMPONENT_DEFINITION).encode()
    ComponentModel.model_validate_json(raw)  # the fixture is valid OSCAL
    [control] = read_controls("cd.json", raw)
    assert control.id == "AC-2(1)" and control.owner == "IAM team"
    assert "Accounts are managed" in control.description
    assert "ac-2.1_smt: Joiners and leavers are provisioned from HR." in control.description
    catalog = [Control(id="AC-2(1)", title="Automated System Account Management", family="AC")]
    [kept] = keep_known([control], [], catalog)
    assert kept.title == "Automated System Account Management" and kept.family == "AC"
    assert kept.description == control.description  # the document's own text wins


def _world(engine: Engine) -> Any:
    return seed(engine)


def test_api_imports_oscal_and_an_ssp_keeps_owners(engine: Engine) -> None:
    world = _world(engine)
    headers = world.auth("acme:admin")
    with client_for(engine) as client:
        raw = json.dumps(COMPONENT_DEFINITION).encode()
        # the media type says OSCAL
        got = client.post(
            "/v1/orgs/acme/controls/import",
            headers=headers,
            files={"file": ("cd", raw, "application/oscal.component-definition+json")},
        )
        assert got.status_code == 200, got.text
        assert got.json()["created"] == 1
        ControlStore(engine).import_controls(
            "acme", [Control(id="AC-2(1)", title="Automated", owner="Alice", description="x")], "csv"
        )
        # no media type, no name: the content says OSCAL
        got = client.post(
            "/v1/orgs/acme/controls/import",
            headers=headers,
            files={"file": ("upload", json.dumps(SSP).encode(), "application/octet-stream")},
        )
        assert got.status_code == 200, got.text
        row = client.get("/v1/orgs/acme/controls/AC-2(1)", headers=headers).json()
        assert row["owner"] == "Alice" and row["title"] == "Automated"
        assert "The SSP says how" in row["description"]
        bad = client.post(
            "/v1/orgs/acme/controls/import",
            headers=headers,
            files={"file": ("x.json", b'{"catalog": {}}', "application/json")},
        )
        assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid-oscal"), bad.text
        # CSV still works as before
        csv = client.post(
            "/v1/orgs/acme/controls/import",
            headers=headers,
            files={"file": ("c.csv", b"id,title\nACME-9,Nine\n", "text/csv")},
        )
        assert csv.status_code == 200, csv.text


def test_impact_as_a_poam_validates(engine: Engine) -> None:
    world = _world(engine)
    stored = ImpactStore(engine).impact("acme", world.diff_id)
    assert stored is not None
    text = write_poam(stored, last_modified=WHEN)
    poam = PoamModel.model_validate_json(text).plan_of_action_and_milestones
    assert poam.metadata.oscal_version.root.root == TRESTLE_OSCAL_VERSION
    observations = {o.uuid for o in poam.observations or []}
    acting = [(i.seq, c.control_id) for i in stored.items for c in i.controls if c.action.value != "none"]
    assert len(poam.poam_items) == len(acting) > 0
    for item in poam.poam_items:
        assert all(r.observation_uuid in observations for r in item.related_observations or [])
    assert write_poam(stored).split('"metadata"')[0] == text.split('"metadata"')[0]  # same uuid
    with client_for(engine) as client:
        got = client.get(f"/v1/orgs/acme/impacts/{world.diff_id}/poam", headers=world.auth("acme:read"))
        assert got.status_code == 200, got.text
        PoamModel.model_validate(got.json())
        exported = client.get("/v1/orgs/acme/mappings/oscal", headers=world.auth("acme:read"))
        assert exported.status_code == 200, exported.text
        model = MappingModel.model_validate(exported.json())
        assert model.mapping_collection.back_matter is not None
        assert len(read_oscal_mapping(exported.content)) == 2
