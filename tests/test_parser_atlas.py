"""MITRE ATLAS.yaml parser: both layouts, links, bad input, and the real releases' counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, Link, ParsedDocument, ParsedVersion
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.atlas import PARSER


def parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(str(path), path.read_bytes()))


def version_of(path: Path) -> ParsedVersion:
    return assemble([(path.name, parse(path))], where=str(path))


def kinds(version: ParsedVersion) -> Counter[str]:
    return Counter(req.kind for req in version.requirements)


# --- small fixtures ---------------------------------------------------------------------------


def test_v5_layout_builds_the_tree(fixtures_dir: Path) -> None:
    path = fixtures_dir / "atlas" / "ATLAS-v5-layout.yaml"
    doc = parse(path)
    assert doc.role is DocumentRole.CATALOG
    assert doc.format == "mitre-atlas"
    assert doc.title == "Adversarial Threat Landscape for AI Systems"
    assert doc.version_hint == "9.9.0"
    version = assemble([(path.name, doc)])
    assert kinds(version) == {"matrix": 1, "tactic": 2, "technique": 2, "subtechnique": 1, "mitigation": 1}
    by_key = version.by_key()

    root = by_key["ATLAS"]
    assert (root.kind, root.parent, root.title) == ("matrix", None, "ATLAS Matrix")

    technique = by_key["AML.T51"]
    assert technique.ident == "AML.T0051"
    assert technique.title == "LLM Prompt Injection"
    assert technique.statement == "An adversary may craft malicious prompts as inputs to an LLM."
    assert technique.parent == "ATLAS"
    assert technique.links == (Link("tactic", "AML.TA5"), Link("tactic", "AML.TA2"))
    assert technique.prop("maturity") == "realized"
    assert technique.prop("created_date") == "2023-10-25"
    assert technique.prop("references") == "https://example.org/prompt-injection"

    sub = by_key["AML.T51.0"]
    assert (sub.ident, sub.kind, sub.parent, sub.depth) == ("AML.T0051.000", "subtechnique", "AML.T51", 2)
    # listed before its parent in the file, placed after it in the tree
    order = [req.key for req in version.requirements]
    assert order.index("AML.T51") < order.index("AML.T51.0")

    tactic = by_key["AML.TA2"]
    assert tactic.prop("attack-id") == "TA0043"
    assert tactic.prop("object-type") == "tactic"
    assert by_key["AML.T0"].prop("attack-url") == "https://attack.mitre.org/techniques/T1596/"

    mitigation = by_key["AML.M0"]
    assert mitigation.links == (Link("mitigates", "AML.T0"), Link("mitigates", "AML.T51"))
    assert "AML.T0051: Restrict release of prompt templates." in mitigation.guidance
    assert mitigation.prop("category") == "Policy"
    assert mitigation.prop("ml-lifecycle") == "Business and Data Understanding"
    # case studies are incidents, not requirements
    assert not any(req.ident.startswith("AML.CS") for req in version.requirements)


def test_v3_layout_without_matrices(fixtures_dir: Path) -> None:
    version = version_of(fixtures_dir / "atlas" / "ATLAS-v3-layout.yaml")
    assert kinds(version) == {"matrix": 1, "tactic": 1, "technique": 1, "subtechnique": 1}
    by_key = version.by_key()
    assert by_key["ATLAS"].title == "ATLAS Machine Learning Threat Matrix"
    assert by_key["AML.T0.0"].parent == "AML.T0"
    assert by_key["AML.T0"].links == (Link("tactic", "AML.TA2"),)
    assert by_key["AML.TA2"].statement.endswith("future operations.")  # trailing newline stripped


def test_sniff(fixtures_dir: Path) -> None:
    v5 = (fixtures_dir / "atlas" / "ATLAS-v5-layout.yaml").read_bytes()
    v3 = (fixtures_dir / "atlas" / "ATLAS-v3-layout.yaml").read_bytes()
    assert PARSER.sniff("ATLAS.yaml", v5) >= 90
    assert PARSER.sniff("x.yaml", v3) >= 90
    assert PARSER.sniff("catalog.yaml", b"catalog:\n  uuid: 1234\n  metadata:\n    title: SP 800-53\n") == 0
    assert PARSER.sniff("lib.yaml", b"urn: urn:intuitem:risk:library:x\nobjects:\n  framework: {}\n") == 0
    assert PARSER.sniff("p.json", b'[{"section_about": "x"}]') == 0
    assert PARSER.sniff("blob.bin", bytes(range(256)) * 10) == 0
    assert PARSER.sniff("empty.yaml", b"") == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id: ATLAS\nmatrices:\n- id: ATLAS\n  tactics: [\n", "invalid YAML at line"),
        (b"- just\n- a list\n", "not a mapping"),
        (b"id: ATLAS\nname: x\n", "no 'matrices'"),
        (b"id: ATLAS\nmatrices:\n- id: ATLAS\n  tactics: []\n", "'techniques' is missing"),
        (
            b"matrices:\n- id: ATLAS\n  tactics:\n  - id: AML.TA0002\n  techniques: []\n",
            "AML.TA0002 has no name",
        ),
        (
            b"matrices:\n- id: ATLAS\n  tactics: []\n  techniques:\n  - id: AML.T0001.000\n"
            b"    name: Orphan\n    subtechnique-of: AML.T0001\n",
            "belongs to technique AML.T0001, which is not listed",
        ),
        (
            b"matrices:\n- id: ATLAS\n  tactics:\n  - {id: AML.TA0002, name: A}\n"
            b"  - {id: AML.TA0002, name: B}\n  techniques: []\n",
            "listed twice",
        ),
    ],
)
def test_bad_input_names_file_and_problem(content: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        PARSER.parse("broken/ATLAS.yaml", content)
    assert "broken/ATLAS.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_truncated_release_is_an_error(corpus_dir: Path) -> None:
    data = (corpus_dir / "mitre-atlas" / "v5.6.0" / "ATLAS.yaml").read_bytes()
    cut = data[: data.index(b"  - id: AML.T0051\n") + len(b"  - id: AML.T0051\n")]
    with pytest.raises(ParseError, match=r"AML\.T0051 has no name"):
        PARSER.parse("ATLAS.yaml", cut)


# --- the real releases ------------------------------------------------------------------------


def _manifest_counts(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((corpus_dir / "MANIFEST.json").read_text())
    source = next(s for s in manifest["sources"] if s["source_slug"] == "mitre-atlas")
    return {v["version"]: v["counts"]["all"] for v in source["versions"]}


def test_v5_6_0_matches_the_readme(corpus_dir: Path) -> None:
    version = version_of(corpus_dir / "mitre-atlas" / "v5.6.0" / "ATLAS.yaml")
    counts = kinds(version)
    assert (counts["tactic"], counts["technique"], counts["subtechnique"], counts["mitigation"]) == (
        16,
        101,
        69,
        35,
    )
    assert version.version_hint == "5.6.0"
    known = set(version.by_key())
    for req in version.requirements:
        assert req.parent is None or req.parent in known
        assert all(link.target in known for link in req.links), req.ident
    injection = version.by_key()["AML.T51"]
    assert injection.ident == "AML.T0051"
    assert {req.ident for req in version.requirements if req.parent == "AML.T51"} >= {
        "AML.T0051.000",
        "AML.T0051.001",
    }


@pytest.mark.parametrize(
    "release", ["v3.0.0", "v4.0.1", "v4.4.0", "v4.5.0", "v4.7.0", "v4.9.0", "v5.0.0", "v5.1.0", "v5.6.0"]
)
def test_release_counts_match_the_manifest(corpus_dir: Path, release: str) -> None:
    expected = _manifest_counts(corpus_dir)[release]
    path = corpus_dir / "mitre-atlas" / release / "ATLAS.yaml"
    assert PARSER.sniff(path.name, path.read_bytes()) >= 90
    version = version_of(path)
    counts = kinds(version)
    assert counts["tactic"] == expected["tactics"]
    assert counts["technique"] == expected["techniques"]
    assert counts["subtechnique"] == expected["subtechniques"]
    assert counts["mitigation"] == expected["mitigations"]
    assert counts["matrix"] == 1
    assert version.version_hint == expected["file_version"]  # v4.0.1's file says 4.0.0


def test_every_release_parses(corpus_dir: Path) -> None:
    expected = _manifest_counts(corpus_dir)
    releases = sorted(p.parent.name for p in (corpus_dir / "mitre-atlas").glob("*/ATLAS.yaml"))
    assert len(releases) == 22
    for release in releases:
        counts = kinds(version_of(corpus_dir / "mitre-atlas" / release / "ATLAS.yaml"))
        assert counts["technique"] + counts["subtechnique"] == (
            expected[release]["techniques"] + expected[release]["subtechniques"]
        ), release


def test_renamed_technique_keeps_its_key(corpus_dir: Path) -> None:
    before = version_of(corpus_dir / "mitre-atlas" / "v4.4.0" / "ATLAS.yaml").by_key()
    after = version_of(corpus_dir / "mitre-atlas" / "v4.5.0" / "ATLAS.yaml").by_key()
    assert before["AML.T48"].title == "System Misuse for External Effect"
    assert after["AML.T48"].title == "External Harms"
    assert "AML.T45" in before and "AML.T45" not in after  # dropped in v4.5.0
