"""Cross-references a publisher declares: read off its links, stored as its crosswalk, used first."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from tests.support.factories import parsed_version
from tracker.cli.main import cli
from tracker.diff import diff_versions
from tracker.domain.model import Link, Source
from tracker.impact.service import compute_impact
from tracker.mapping.crosswalks.declared import declared_crosswalk, lead_with_declared
from tracker.mapping.types import Candidate, Control, Provenance, Ranking, Relationship
from tracker.sources.ingest import ingest_files
from tracker.sources.parsers.owasp_top10 import PARSER as OWASP
from tracker.sources.parsing.citations import citations, cited
from tracker.storage.archive import Archive
from tracker.storage.controls import ControlStore
from tracker.storage.mappings import MappingStore
from tracker.storage.orgs import OrgStore

LIMIT = 8 * 1024 * 1024

ENTRY = """## LLM01:2025 Prompt Injection

### Description

A prompt injection alters the model's behaviour. See also
[Sensitive Information Disclosure](https://genai.owasp.org/llmrisk/llm022025-sensitive-information-disclosure/).

### Prevention and Mitigation Strategies

1. Constrain model behaviour.

### Reference Links

1. [Adversarial Machine Learning (nist.gov)](https://nvlpubs.nist.gov/nistpubs/ai/NIST.AI.100-2e2023.pdf)

### Related Frameworks and Taxonomies

- [AML.T0051.000 - LLM Prompt Injection: Direct](https://atlas.mitre.org/techniques/AML.T0051.000) **ATLAS**
{extra}
- [MITRE CWE-400](https://cwe.mitre.org/data/definitions/400.html) **MITRE CWE**
- [OWASP ML Top Ten - ML05:2023 Model Theft](https://owasp.org/www-project-machine-learning-security-top-10/docs/ML05_2023-Model_Theft.html)
"""

INDIRECT = (
    "- [LLM Prompt Injection: Indirect](https://atlas.mitre.org/techniques/AML.T0051.001) **MITRE ATLAS**"
)


def _entry(extra: str = "") -> bytes:
    return ENTRY.format(extra=extra).encode()


def test_a_link_target_names_a_requirement_of_a_tracked_publication() -> None:
    assert cited("https://atlas.mitre.org/techniques/AML.T0051.001") == ("mitre-atlas", "AML.T0051.001")
    assert cited("https://atlas.mitre.org/tactics/AML.TA0000/") == ("mitre-atlas", "AML.TA0000")
    assert cited("https://genai.owasp.org/llmrisk/llm01-prompt-injection/") == ("owasp-top10-llm", "LLM01")
    assert cited("https://llmtop10.com/llm04/") == ("owasp-top10-llm", "LLM04")
    # a home page, a PDF and an untracked taxonomy name no requirement: nothing is invented
    assert cited("https://atlas.mitre.org/") is None
    assert cited("https://cwe.mitre.org/data/definitions/400.html") is None
    assert cited("https://nvlpubs.nist.gov/nistpubs/ai/NIST.AI.100-2e2023.pdf") is None


def test_citations_keep_order_drop_duplicates_and_links_into_the_own_publication() -> None:
    text = (
        "[a](https://atlas.mitre.org/techniques/AML.T0010) and again "
        "[b](https://atlas.mitre.org/techniques/AML.T0010/), "
        "[own](https://genai.owasp.org/llmrisk/llm05-improper-output-handling/), "
        "bare https://atlas.mitre.org/techniques/AML.T0024.002."
    )
    links = citations(text, own_source="owasp-top10-llm")
    assert links == (
        Link("cites", "AML.T0010", "mitre-atlas"),
        Link("cites", "AML.T0024.002", "mitre-atlas"),
    )
    assert citations(text)[1] == Link("cites", "LLM05", "owasp-top10-llm")


def test_an_owasp_entry_cites_what_its_related_frameworks_name() -> None:
    doc = OWASP.parse("LLM01_PromptInjection.md", _entry())
    [entry] = doc.requirements
    assert [(lk.source, lk.target) for lk in entry.links] == [
        ("mitre-atlas", "AML.T0051.000"),
        ("owasp-ml-security-top10", "ML05"),
    ]  # the link to LLM02 stays inside the list; the NIST PDF and CWE name nothing tracked
    # the links do not leak into the text the diff compares
    assert "atlas.mitre.org" not in entry.guidance


def test_a_changed_reference_list_is_a_change_but_not_a_substantive_one() -> None:
    old = OWASP.parse("LLM01_PromptInjection.md", _entry()).requirements
    new = OWASP.parse("LLM01_PromptInjection.md", _entry(INDIRECT)).requirements
    result = diff_versions(parsed_version(*old), parsed_version(*new))
    [change] = [c for c in result.changes if c.kind.value != "unchanged"]
    assert any("+cites mitre-atlas:AML.T0051.001" in reason for reason in change.reasons)
    assert change.substantive is False


def _archive_owasp(engine: Engine, tmp_path: Path, label: str, extra: str = "") -> None:
    folder = tmp_path / label
    folder.mkdir()
    (folder / "LLM01_PromptInjection.md").write_bytes(_entry(extra))
    ingest_files(Archive(engine), Source(slug="owasp-top10-llm"), label, [folder], max_bytes=LIMIT)


def test_archiving_a_version_stores_its_declared_crosswalk_and_export_lists_it(
    db_env: Engine, tmp_path: Path
) -> None:
    _archive_owasp(db_env, tmp_path, "2025-release")
    _archive_owasp(db_env, tmp_path, "2025-maint", INDIRECT)
    result = CliRunner().invoke(
        cli, ["crosswalk", "export", "--from", "owasp-top10-llm@2025-release"], catch_exceptions=False
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["source_id"], r["target_id"], r["provenance"]) for r in rows] == [
        ("LLM01", "AML.T0051.000", "publisher"),
        ("LLM01", "ML05", "publisher"),
    ]
    # each version holds its own list: the later one names the technique the first did not
    later = MappingStore(db_env).mappings(None, source_set="owasp-top10-llm@2025-maint")
    assert {s.mapping.target for s in later} == {"AML.T0051.000", "AML.T0051.001", "ML05"}
    assert {s.origin for s in later} == {"publisher:owasp-top10-llm@2025-maint"}


def test_named_targets_rank_first_and_unknown_ones_are_not_invented() -> None:
    req = OWASP.parse("LLM01_PromptInjection.md", _entry(INDIRECT)).requirements
    declared = declared_crosswalk("owasp-top10-llm", "2025", req)
    assert {m.provenance for m in declared} == {Provenance.PUBLISHER}
    controls = [Control(id="AML.T0051.001"), Control(id="AML.T0054"), Control(id="AML.M0020")]
    machine = Ranking(
        "LLM01",
        "LLM1",
        (
            Candidate("AML.T0054", "AML.T54", 0.6, Relationship.INTERSECTS, 1),
            Candidate("AML.T0051.001", "AML.T51.1", 0.2, Relationship.INTERSECTS, 2),
            Candidate("AML.M0020", "AML.M20", 0.1, Relationship.INTERSECTS, 3),
        ),
    )
    [ranked] = lead_with_declared([machine], declared, controls)
    # AML.T0051.000 and ML05 are named but not among the controls ranked: left out
    assert [(c.control_id, c.rank, c.score) for c in ranked.candidates] == [
        ("AML.T0051.001", 1, 1.0),
        ("AML.T0054", 2, 0.6),
        ("AML.M0020", 3, 0.1),
    ]
    assert dict(ranked.candidates[0].signals) == {"publisher": 1.0}


def test_impact_reaches_the_controls_a_publisher_named(db_env: Engine, tmp_path: Path) -> None:
    """An organisation running ATLAS techniques as controls learns which one an OWASP change touches."""
    _archive_owasp(db_env, tmp_path, "2025-release")
    _archive_owasp(db_env, tmp_path, "2025-maint", INDIRECT)
    OrgStore(db_env).create("acme")
    ControlStore(db_env).import_controls(
        "acme", [Control(id="AML.T0051.000", title="LLM Prompt Injection: Direct")], "catalog"
    )
    report = compute_impact(db_env, "acme", "owasp-top10-llm", "2025-release", "2025-maint", None)
    touched = {c.control_id for item in report.result.items for c in item.controls}
    assert touched == {"AML.T0051.000"}
    payload = json.dumps(report.result.to_json())
    assert "AML.T0051.000" in payload
