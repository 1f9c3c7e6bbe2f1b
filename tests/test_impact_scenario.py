"""Scenario: an organisation on 800-53 Rev 5 MODERATE, mapped to CSF 1.1 by NIST's crosswalk, gets CSF 2.0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from tracker.cli.main import cli
from tracker.storage.archive import Archive
from tracker.storage.orgs import OrgStore
from tracker.storage.worklist import WorklistFilter, worklist_page

pytestmark = pytest.mark.slow


def _run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, dict)
    return data


def test_csf_2_arrives(db_env: Engine, corpus_dir: Path) -> None:
    csf, sp = corpus_dir / "nist-csf", corpus_dir / "nist-sp-800-53"
    _run("ingest", str(csf / "1.1"), "--source", "nist-csf", "--version", "1.1")
    _run("ingest", str(sp / "rev5-oscal-5.0.1-2021-06"), "--source", "nist-sp-800-53", "--version", "rev5")
    _run("org", "create", "acme")
    imported = _run("controls", "import", "acme", "--catalog", "nist-sp-800-53@rev5", "--profile", "MODERATE")
    assert imported["created"] == 287
    crosswalk = corpus_dir.parent / "eval" / "csf1.1_to_sp800-53r5.csv"
    _run("crosswalk", "import", str(crosswalk), "--from", "nist-csf@1.1", "--to", "nist-sp-800-53@rev5")

    # CSF 2.0 is published.
    _run("ingest", str(csf / "2.0"), "--source", "nist-csf", "--version", "2.0")
    report = _run("impact", "acme", "nist-csf", "1.1", "2.0", "--lexical-only")

    items = report["items"]
    assert isinstance(items, list)
    new_subcats = {
        r.ident for r in Archive(db_env).requirements("nist-csf", "2.0") if r.kind == "subcategory"
    }
    touched: dict[str, list[dict[str, object]]] = {}
    for item in items:
        change = item["change"]
        for ident in change["new_ids"]:
            touched.setdefault(ident, []).extend(item["controls"])
        if change["kind"] in ("added", "modified", "moved", "split", "merged") and item["action"] != "none":
            for ident in change["new_ids"]:
                if ident in new_subcats:
                    assert item["controls"], (
                        f"{ident}: a new or changed subcategory with no control to look at"
                    )

    govern = sorted(i for i in new_subcats if i.startswith("GV."))
    assert len(govern) == 31
    for ident in govern:
        assert touched.get(ident), f"{ident} (GOVERN, no 1.1 ancestor) lists no control"
        assert all(c["control_id"] for c in touched[ident])

    actions = {c["action"] for item in items for c in item["controls"]}
    assert {"reassess", "gap", "retire"} <= actions
    retired = [item for item in items if item["action"] == "retire"]
    assert retired and all(item["change"]["kind"] in ("removed", "merged") for item in retired)

    # The worklist is stored: the API and digests read it back, not a recomputation.
    acme = OrgStore(db_env).get("acme").id
    lines = worklist_page(db_env, acme, WorklistFilter(action="retire"), after=0, limit=1000)
    assert len(lines) == sum(1 for item in retired for c in item["controls"] if c["action"] == "retire")
