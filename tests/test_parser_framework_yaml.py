"""Framework-library YAML parser: folding, derived idents, withdrawals, bad input, corpus counts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.modality import strongest
from tracker.domain.model import DocumentRole, Link, ParsedDocument, ParsedVersion, Requirement, Strength
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers.framework_yaml import PARSER


def parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(str(path), path.read_bytes()))


def version_of(path: Path) -> ParsedVersion:
    return assemble([(path.name, parse(path))], where=str(path))


def kinds(version: ParsedVersion) -> Counter[str]:
    return Counter(req.kind for req in version.requirements)


# --- small fixtures ---------------------------------------------------------------------------


def test_csf_shape(fixtures_dir: Path) -> None:
    path = fixtures_dir / "framework_yaml" / "csf-mini.yaml"
    doc = parse(path)
    assert doc.role is DocumentRole.CATALOG
    assert (doc.title, doc.version_hint, doc.published) == (
        "NIST CSF mini",
        "CSF-MINI-2.0 v3",
        date(2024, 3, 2),
    )
    version = assemble([(path.name, doc)])
    assert kinds(version) == {"function": 1, "category": 1, "subcategory": 4}
    by_key = version.by_key()

    outcome = by_key["GV.OC-1"]
    assert (outcome.ident, outcome.parent, outcome.depth) == ("GV.OC-01", "GV.OC", 2)
    assert (
        outcome.statement
        == "The organizational mission is understood and informs cybersecurity risk management"
    )
    # the example is guidance, not a requirement of its own
    assert outcome.guidance == (
        "Start from the mission statement.\n\nExamples:\n"
        "Ex1: Share the organization's mission to provide a basis for identifying risks"
    )
    assert by_key["GV.OC-3"].guidance == "Typical evidence:\nA register of legal obligations"
    assert by_key["GV"].title == "GOVERN"
    assert by_key["GV.OC"].prop("urn") == "urn:intuitem:risk:req_node:csf-mini:gv.oc"
    assert outcome.prop("assessable") == "true"


def test_withdrawn_nodes_link_to_successors(fixtures_dir: Path) -> None:
    by_key = version_of(fixtures_dir / "framework_yaml" / "csf-mini.yaml").by_key()
    merged = by_key["GV.OC-2"]
    assert merged.withdrawn
    assert merged.statement == ""
    assert merged.links == (Link("incorporated-into", "GV.OC-1"), Link("incorporated-into", "GV.OC-3"))
    assert merged.successors == ("GV.OC-1", "GV.OC-3")
    assert by_key["GV.OC-4"].links == (Link("moved-to", "GV.OC-3"),)
    assert not by_key["GV.OC-3"].withdrawn


def test_regulation_shape_derives_stable_idents(fixtures_dir: Path) -> None:
    version = version_of(fixtures_dir / "framework_yaml" / "act-mini.yaml")
    idents = [req.ident for req in version.requirements]
    assert idents == [
        "Preambule",
        "Recital 1",
        "CHAPTER I",
        "CHAPTER I Section 1",  # "Section 1" is printed in two chapters
        "Article 4",
        "4.1",
        "4.1.a",
        "Article 4 para 1",  # unnumbered subparagraphs
        "Article 4 para 2",
        "CHAPTER II",
        "CHAPTER II Section 1",
        "Article 64",
        "64.1",
    ]
    by_key = version.by_key()
    article = by_key["ARTICLE4"]
    assert (article.title, article.statement, article.kind, article.parent) == (
        "AI literacy",
        "",
        "section",
        "CHAPTERISECTION1",
    )
    paragraph = by_key["ARTICLE4PARA1"]
    assert (paragraph.kind, paragraph.statement, paragraph.parent) == (
        "requirement",
        "Deployers shall do the same.",
        "ARTICLE4",
    )
    assert strongest(paragraph.obligations) is Strength.MUST
    # a non-assessable provision still keeps its legal text as the statement
    assert by_key["64.1"].statement == "The Commission shall develop Union expertise."
    assert by_key["64.1"].kind == "section"
    recital = by_key["RECITAL1"]
    assert (recital.kind, recital.statement) == ("recital", "")
    assert recital.guidance == "Providers should be encouraged to comply early."
    assert recital.obligations == ()
    assert by_key["4.1.A"].parent == "4.1"


def test_sniff(fixtures_dir: Path) -> None:
    csf = (fixtures_dir / "framework_yaml" / "csf-mini.yaml").read_bytes()
    assert PARSER.sniff("csf.yaml", csf) >= 90
    assert PARSER.sniff("catalog.yaml", b"catalog:\n  uuid: 1234\n") == 0
    assert (
        PARSER.sniff("ATLAS.yaml", b"id: ATLAS\nmatrices:\n- id: ATLAS\n  tactics:\n  - id: AML.TA0002\n")
        == 0
    )
    assert PARSER.sniff("p.json", b'[{"section_about": "x"}]') == 0
    assert PARSER.sniff("blob.bin", bytes(range(256)) * 10) == 0


_NODE = b"    - urn: urn:intuitem:risk:req_node:x:a\n      depth: 1\n      ref_id: A\n"
_HEADER = (
    b"urn: urn:intuitem:risk:library:x\nobjects:\n  framework:\n    urn: urn:x\n    requirement_nodes:\n"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_HEADER + b"    - urn: [unclosed\n", "invalid YAML at line"),
        (b"just text\n", "top level is not a mapping"),
        (
            b"urn: urn:intuitem:risk:library:x\nobjects:\n  requirement_mapping_sets: []\n",
            "no 'objects.framework'",
        ),
        (b"urn: urn:intuitem:risk:library:x\nobjects:\n  framework:\n    urn: urn:x\n", "missing or empty"),
        (_HEADER + b"    - depth: 1\n      ref_id: A\n", "node #1 has no urn"),
        (_HEADER + _NODE + _NODE, "share the urn"),
        (
            _HEADER + b"    - urn: urn:b\n      parent_urn: urn:nowhere\n      ref_id: B\n",
            "names parent urn:nowhere",
        ),
        (
            _HEADER
            + b"    - {urn: urn:a, parent_urn: urn:b, ref_id: A}\n    - {urn: urn:b, parent_urn: urn:a}\n",
            "not reachable",
        ),
    ],
)
def test_bad_input_names_file_and_problem(content: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        PARSER.parse("lib/broken.yaml", content)
    assert "lib/broken.yaml" in str(caught.value)
    assert message in str(caught.value)


# --- the real libraries -----------------------------------------------------------------------


def _counts(corpus_dir: Path, slug: str, version: str, filename: str) -> dict[str, int]:
    manifest = json.loads((corpus_dir / "MANIFEST.json").read_text())
    source = next(s for s in manifest["sources"] if s["source_slug"] == slug)
    entry = next(v for v in source["versions"] if v["version"] == version)
    counts: dict[str, int] = entry["counts"][filename]
    return counts


def test_csf_2_0(corpus_dir: Path) -> None:
    path = corpus_dir / "nist-csf" / "2.0" / "nist-csf-2.0.yaml"
    assert PARSER.sniff(path.name, path.read_bytes()) >= 90
    version = version_of(path)
    assert kinds(version) == {"function": 6, "category": 22, "subcategory": 106}
    assert version.title == "NIST CSF v2.0"
    subcategories = [req for req in version.requirements if req.kind == "subcategory"]
    # all 106 "Examples" nodes were folded into their subcategory's guidance
    assert all(req.guidance.startswith("Examples:\n") for req in subcategories)
    assert not any("Examples" in req.statement for req in version.requirements)
    by_key = version.by_key()
    assert by_key["GV.OC-1"].ident == "GV.OC-01"
    assert by_key["GV.OC-1"].parent == "GV.OC"


def test_csf_1_1(corpus_dir: Path) -> None:
    version = version_of(corpus_dir / "nist-csf" / "1.1" / "nist-csf-1.1.yaml")
    assert kinds(version) == {"function": 5, "category": 23, "subcategory": 108}
    assert (
        version.by_key()["ID.AM-1"].statement
        == "Physical devices and systems within the organization are inventoried."
    )


def test_ai_rmf_core(corpus_dir: Path) -> None:
    version = version_of(corpus_dir / "nist-ai-rmf" / "1.0" / "nist-ai-rmf-1.0.yaml")
    assert kinds(version) == {"function": 4, "category": 19, "subcategory": 72}
    by_key = version.by_key()
    assert by_key["GOVERN1.1"].ident == "GOVERN 1.1"
    assert by_key["GOVERN1.1"].parent == "GOVERN1"
    # the function preambles are introductions: guidance of the function
    assert by_key["GOVERN"].guidance.startswith("Preamble:\nThe GOVERN function:")


@pytest.mark.parametrize(("release", "nodes", "indicators"), [("3.2", 241, 184), ("4.0", 284, 225)])
def test_caf(corpus_dir: Path, release: str, nodes: int, indicators: int) -> None:
    filename = f"ncsc-caf-{release}.yaml"
    expected = _counts(corpus_dir, "ncsc-caf", release, filename)
    assert (expected["requirement_nodes"], expected["assessable"]) == (nodes, indicators)
    version = version_of(corpus_dir / "ncsc-caf" / release / filename)
    assert len(version.requirements) == nodes
    assert kinds(version)["requirement"] == indicators
    assert version.by_key()["A1.A.1"].parent == "A1.A"


@pytest.mark.parametrize("folder", ["2024-04-pre-oj-text", "2024-07-oj-regulation-2024-1689"])
def test_eu_ai_act(corpus_dir: Path, folder: str) -> None:
    expected = _counts(corpus_dir, "eu-ai-act", folder, "ai-act.yaml")
    version = version_of(corpus_dir / "eu-ai-act" / folder / "ai-act.yaml")
    assert len(version.requirements) == expected["requirement_nodes"] == 1200
    counts = kinds(version)
    assert counts["recital"] == expected["recitals"] == 180
    assert counts["requirement"] == expected["assessable"] == 347
    by_key = version.by_key()
    assert by_key["ARTICLE4PARA1"].statement.startswith("Providers and deployers of AI systems shall")
    assert by_key["CHAPTERIIISECTION1"].title == "Classification of AI systems as high-risk"
    assert by_key["5.1.A"].parent == "5.1"


def test_eu_ai_act_versions_share_their_keys(corpus_dir: Path) -> None:
    folders = ("2024-04-pre-oj-text", "2024-07-oj-regulation-2024-1689")
    draft, final = (version_of(corpus_dir / "eu-ai-act" / f / "ai-act.yaml").by_key() for f in folders)
    assert draft.keys() == final.keys()

    def texts(req: Requirement) -> tuple[str, str, str]:
        return req.title, req.statement, req.guidance

    changed = [key for key in final if texts(final[key]) != texts(draft[key])]
    assert len(changed) == 31  # as the corpus README says
