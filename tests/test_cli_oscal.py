"""OSCAL through the CLI: a component definition takes the catalog's titles, an SSP keeps
owners set before, mappings export and re-import, and an impact prints as a POA&M; every
document written is validated with compliance-trestle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from trestle.oscal.mapping import Model as MappingModel
from trestle.oscal.poam import Model as PoamModel

from tests.support.api_world import World as ApiWorld
from tests.support.api_world import land_v2, seed_orgs, seed_v1, store_impacts
from tests.test_oscal_trestle import COMPONENT_DEFINITION, SSP
from tracker.cli.main import main
from tracker.storage.controls import ControlStore
from tracker.storage.mappings import MappingStore

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "oscal"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exited.value.code or 0), out.out, out.err


def test_component_definition_then_ssp(
    db_env: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest = ("ingest", str(FIXTURES / "catalog.json"), "--source", "sp53", "--version", "rev5")
    assert _run(capsys, *ingest)[0] == 0
    assert _run(capsys, "org", "create", "acme")[0] == 0
    cd, ssp = tmp_path / "cd.json", tmp_path / "ssp.json"
    cd.write_text(json.dumps(COMPONENT_DEFINITION), encoding="utf-8")
    ssp.write_text(json.dumps(SSP), encoding="utf-8")
    code, _, err = _run(capsys, "controls", "import", "acme", str(cd), "--catalog", "sp53@rev5")
    assert code == 0, err
    [control] = ControlStore(db_env).controls("acme")
    assert control.title == "Automated Account Management" and control.owner == "IAM team"
    assert "Joiners and leavers" in control.description
    code, _, err = _run(capsys, "controls", "import", "acme", str(ssp))
    assert code == 0, err
    [after] = ControlStore(db_env).controls("acme")
    assert after.owner == "IAM team" and after.title == control.title  # not wiped by the SSP
    assert "The SSP says how" in after.description


def test_mappings_and_impact_as_oscal(
    db_env: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = ApiWorld(db_env)
    seed_v1(db_env)
    seed_orgs(db_env, world)
    store_impacts(db_env, land_v2(db_env))
    code, out, err = _run(capsys, "crosswalk", "export", "--org", "acme", "--as", "oscal")
    assert code == 0, err
    collection = MappingModel.model_validate_json(out).mapping_collection
    assert collection.back_matter is not None
    exported = tmp_path / "acme.json"
    exported.write_text(out, encoding="utf-8")
    before = [s.mapping for s in MappingStore(db_env).mappings("acme")]
    code, out, err = _run(capsys, "crosswalk", "import", str(exported), "--org", "acme", "--format", "json")
    assert code == 0 and json.loads(out)["mappings"] == len(before), err
    assert [s.mapping for s in MappingStore(db_env).mappings("acme")] == before  # nothing lost or added
    code, out, err = _run(
        capsys, "impact", "acme", "demo-std", "v1", "v2", "--lexical-only", "--format", "oscal"
    )
    assert code == 0, err
    poam = PoamModel.model_validate_json(out).plan_of_action_and_milestones
    assert poam.poam_items and {
        p.value for i in poam.poam_items for p in i.props or [] if p.name == "control-id"
    } <= {
        "ACME-1",
        "ACME-2",
        "ACME-3",
    }
