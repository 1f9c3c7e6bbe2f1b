"""OSCAL parser: tiny fixtures in every serialisation, then the real 800-53 and CSF files."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
import yaml

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, Link, ParsedDocument, Requirement
from tracker.sources.formats import assemble
from tracker.sources.parsers.oscal import PARSER
from tracker.sources.parsing.oscal_text import label_from_id

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "oscal"
SP80053 = "nist-sp-800-53"


def _parse(path: Path, data: bytes | None = None) -> ParsedDocument:
    return PARSER.parse(str(path), path.read_bytes() if data is None else data)


@cache
def _corpus_doc(path: Path) -> ParsedDocument:
    return _parse(path)


def _by_key(doc: ParsedDocument) -> dict[str, Requirement]:
    return {r.key: r for r in doc.requirements}


def _counts(doc: ParsedDocument) -> tuple[int, int, int, int]:
    kinds = Counter(r.kind for r in doc.requirements)
    withdrawn = sum(1 for r in doc.requirements if r.withdrawn)
    return kinds["family"], kinds["control"], kinds["enhancement"], withdrawn


# --- tiny fixtures ------------------------------------------------------------------------------


def test_fixture_tree_statement_guidance_and_links() -> None:
    doc = _parse(FIXTURES / "catalog.json")
    assert (doc.role, doc.title, doc.version_hint, str(doc.published)) == (
        DocumentRole.CATALOG,
        "Tiny Control Catalog",
        "1.0",
        "2024-05-01",
    )
    reqs = _by_key(doc)
    assert [(r.key, r.kind, r.parent, r.depth) for r in doc.requirements] == [
        ("AC", "family", None, 0),
        ("AC-1", "control", "AC", 1),
        ("AC-2", "control", "AC", 1),
        ("AC-2.1", "enhancement", "AC-2", 2),
        ("AC-2.2", "enhancement", "AC-2", 2),
        ("AC-3", "control", "AC", 1),
        ("AU", "family", None, 0),
        ("AU-2", "control", "AU", 1),
    ]
    assert reqs["AC"].title == "Access Control"
    assert reqs["AC-2.1"].ident == "AC-2(1)"
    assert reqs["AC-1"].statement == (
        "a. Develop, document, and disseminate to [Assignment: organization-defined personnel or roles]:\n"
        "  1. [Selection (one or more): organization-level; system-level] access control policy; and\n"
        "  2. Procedures to implement the policy;\n"
        "b. Review and update the policy [Assignment: organization-defined frequency]."
    )
    assert reqs["AC-1"].params == (
        ("ac-1_prm_1", "[Assignment: organization-defined personnel or roles]"),
        ("ac-1_prm_2", "[Selection (one or more): organization-level; system-level]"),
        ("ac-1_prm_3", "[Assignment: organization-defined frequency]"),
    )
    assert reqs["AC-1"].guidance == (
        "Policy is reviewed against the audit records of AU-2.\n\nProcedures are documented and kept current."
    )
    assert reqs["AC-1"].properties == (("sort-id", "ac-01"), ("family", "AC"))
    # A link to a statement item points at its control; "related" links are kept but are not successors.
    assert reqs["AC-2.2"].withdrawn and reqs["AC-2.2"].successors == ("AC-2",)
    assert reqs["AC-3"].links == (Link("moved-to", "AU-2"), Link("related", "AC-2.1"))
    assert reqs["AC-3"].successors == ("AU-2",)
    assert reqs["AC-3"].prop("status") == "withdrawn"
    assert not reqs["AC-2"].withdrawn and not reqs["AC-2"].links


@pytest.mark.parametrize("name", ["catalog-odp.yaml", "catalog.xml"])
def test_serialisation_is_not_change(name: str) -> None:
    """YAML in the 5.1.1 ODP style and XML give exactly the requirements of the JSON."""
    expected = _parse(FIXTURES / "catalog.json")
    doc = _parse(FIXTURES / name)
    assert doc.requirements == expected.requirements
    assert (doc.title, doc.version_hint, doc.published) == (expected.title, "1.0", expected.published)


def test_rc1_insert_syntax_is_not_change() -> None:
    """OSCAL 1.0.0-rc1 wrote ``{{ ac-1_prm_1 }}`` where 1.0 writes ``{{ insert: param, ac-1_prm_1 }}``."""
    path = FIXTURES / "catalog.json"
    data = path.read_bytes()
    rc1 = data.replace(b"{{ insert: param, ", b"{{ ")
    assert rc1 != data
    assert _parse(path, rc1).requirements == _parse(path).requirements


def test_profiles_select_normalised_keys() -> None:
    low = _parse(FIXTURES / "profile-low.yaml")
    assert low.role is DocumentRole.PROFILE and not low.requirements
    assert [(p.name, p.keys) for p in low.profiles] == [("LOW", ("AC-1", "AC-2", "AU-2"))]
    privacy = _parse(FIXTURES / "profile-privacy.xml")
    assert [(p.name, p.title, p.keys) for p in privacy.profiles] == [
        ("PRIVACY", "Tiny Catalog PRIVACY BASELINE", ("AC-1", "AC-2.1"))
    ]


def test_resolved_catalog_is_a_profile_of_its_controls() -> None:
    data = json.loads((FIXTURES / "catalog.json").read_bytes())
    data["catalog"]["metadata"]["props"] = [{"name": "resolution-tool", "value": "test"}]
    doc = PARSER.parse("TINY_HIGH-baseline.json", json.dumps(data).encode())
    assert doc.role is DocumentRole.RESOLVED
    assert [(p.name, len(p.keys)) for p in doc.profiles] == [("HIGH", 6)]
    version = assemble([("high.json", doc)])
    assert [p.name for p in version.profiles] == ["HIGH"]


def test_catalog_and_profiles_assemble() -> None:
    named = [
        (name, _parse(FIXTURES / name))
        for name in ("catalog.json", "profile-low.yaml", "profile-privacy.xml")
    ]
    version = assemble(named)
    assert len(version.requirements) == 8
    assert {p.name: p.keys for p in version.profiles} == {
        "LOW": ("AC-1", "AC-2", "AU-2"),
        "PRIVACY": ("AC-1", "AC-2.1"),
    }


@pytest.mark.parametrize(
    ("oscal_id", "label"),
    [
        ("ac-2", "AC-2"),
        ("ac-2.1", "AC-2(1)"),
        ("ac-02.01", "AC-2(1)"),
        ("sr", "SR"),
        ("GV.OC-01", "GV.OC-01"),
    ],
)
def test_label_from_id(oscal_id: str, label: str) -> None:
    assert label_from_id(oscal_id) == label
    assert normalise_key(label) == normalise_key(oscal_id)


# --- bad input and sniffing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "problem"),
    [
        ("cut.json", (FIXTURES / "catalog.json").read_bytes()[:900], "invalid JSON"),
        ("bad.yaml", b"catalog:\n  metadata: [unclosed\n  groups: x\n", "invalid YAML"),
        ("page.xml", b"<html><body><p>hello</p></body></html>", "no top-level"),
        ("broken.xml", b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0"><metadata>', "invalid XML"),
        ("dtd.xml", b'<!DOCTYPE catalog [<!ENTITY x "y">]><catalog/>', "DTD"),
        ("other.yaml", b"id: ATLAS\nname: Adversarial Threat Landscape\n", "no top-level"),
        ("list.json", b"[1, 2, 3]", "no top-level"),
        (
            "shape.json",
            b'{"catalog": {"metadata": {}, "groups": [{"controls": 3}]}}',
            "malformed OSCAL catalog",
        ),
    ],
)
def test_bad_input_names_the_file(filename: str, data: bytes, problem: str) -> None:
    with pytest.raises(ParseError) as caught:
        PARSER.parse(filename, data)
    assert caught.value.path == filename
    assert str(caught.value).startswith(f"{filename}: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        (
            "ATLAS.yaml",
            b"---\nid: ATLAS\nname: Adversarial Threat Landscape for AI Systems\nversion: 5.6.0\nmatrices:\n",
        ),
        (
            "nist-csf-2.0.yaml",
            b"urn: urn:intuitem:risk:library:nist-csf-2.0\nobjects:\n  framework:\n    requirement_nodes:\n"
            b"    - urn: x\n      catalog: nope\n",
        ),
        ("README.md", b"# OSCAL\n\ncatalog:\n\nA catalog has metadata and an oscal-version.\n"),
        ("other.json", b'{"title": "catalog", "metadata": {}}'),
        ("page.html", b"<html><body>catalog metadata</body></html>"),
        ("empty.json", b""),
        ("noise.bin", bytes(range(256)) * 4),
    ],
)
def test_sniff_refuses_other_formats(filename: str, data: bytes) -> None:
    assert PARSER.sniff(filename, data) == 0


def test_sniff_accepts_every_serialisation() -> None:
    for path in FIXTURES.iterdir():
        assert PARSER.sniff(path.name, path.read_bytes()) >= 90, path.name


def test_detect_picks_oscal() -> None:
    """Every format module imports (an import error fails here, never skips), and detection
    prefers the OSCAL parser for OSCAL files over every other format."""
    from tracker.sources import formats

    for name in formats._MODULES:
        importlib.import_module(f"tracker.sources.parsers.{name}")
    for path in FIXTURES.iterdir():
        assert formats.detect(path.name, path.read_bytes()) is PARSER, path.name
    doc = formats.parse_document("catalog.json", (FIXTURES / "catalog.json").read_bytes())
    assert _by_key(doc)["AC-2"].obligations[0].modal == "must"


# --- the real corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "filename", "counts"),
    [
        ("rev4", "NIST_SP-800-53_rev4_catalog.yaml", (18, 256, 666, 96)),
        ("rev5-fpd-2020-03", "NIST_SP-800-53_rev5-FPD_catalog.json", (20, 321, 856, 169)),
        ("rev5.0.0-2020-09", "NIST_SP-800-53_rev5_catalog.json", (20, 322, 867, 182)),
        ("rev5.1-2020-12-errata", "NIST_SP-800-53_rev5_catalog.json", (20, 322, 867, 182)),
        ("rev5-oscal-5.0.1-2021-06", "NIST_SP-800-53_rev5_catalog.json", (20, 322, 867, 182)),
    ],
)
def test_800_53_catalog_counts(corpus_dir: Path, folder: str, filename: str, counts: tuple[int, ...]) -> None:
    doc = _corpus_doc(corpus_dir / SP80053 / folder / filename)
    assert doc.role is DocumentRole.CATALOG
    assert _counts(doc) == counts
    keys = [r.key for r in doc.requirements]
    assert len(keys) == len(set(keys))
    assert all(link.target in set(keys) for r in doc.requirements for link in r.links)
    for req in doc.requirements:
        assert "{{" not in req.statement and "{{" not in req.guidance, req.key
        assert req.withdrawn or req.kind == "family" or req.statement, req.key


def test_800_53_rev5_withdrawn_successors(corpus_dir: Path) -> None:
    final = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5.0.0-2020-09" / "NIST_SP-800-53_rev5_catalog.json")
    )
    assert final["AC-2.10"].withdrawn and final["AC-2.10"].links == (Link("incorporated-into", "AC-2"),)
    assert final["AC-13"].successors == ("AC-2", "AU-6")
    assert final["SA-12"].successors == ("SR",)  # into the new supply chain family
    # Only the two NIST withdrew without a successor ("addressed through tailoring", "technology-specific").
    assert sorted(r.key for r in final.values() if r.withdrawn and not r.successors) == ["CP-10.3", "SC-19"]
    oscal_101 = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5-oscal-5.0.1-2021-06" / "NIST_SP-800-53_rev5_catalog.json")
    )
    assert oscal_101["AT-3.4"].links == (Link("moved-to", "AT-2.4"),)
    assert oscal_101["CA-3.1"].links == (Link("moved-to", "SC-7.25"),)  # listed twice in the file


def test_800_53_rev5_related_controls(corpus_dir: Path) -> None:
    """800-53's "Related Controls" become ``related`` links in file order; they are never successors."""
    final = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5.0.0-2020-09" / "NIST_SP-800-53_rev5_catalog.json")
    )
    related = [link.target for link in final["AC-2"].links if link.relation == "related"]
    assert related[:4] == ["AC-3", "AC-5", "AC-6", "AC-17"] and "SC-37" in related
    assert final["AC-2"].successors == ()
    assert not final["AC-2.1"].links  # enhancements without "Related Controls" get none
    links = [link for r in final.values() for link in r.links]
    assert {link.relation for link in links} == {"related", "incorporated-into"}
    assert all(link.target != r.key for r in final.values() for link in r.links)


def test_800_53_parameters_substituted(corpus_dir: Path) -> None:
    final = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5.0.0-2020-09" / "NIST_SP-800-53_rev5_catalog.json")
    )
    ac1 = final["AC-1"]
    assert ac1.statement.startswith(
        "a. Develop, document, and disseminate to [Assignment: organization-defined personnel"
    )
    assert (
        "  1. [Selection (one or more): organization-level; mission/business process-level; system-level]"
        in (ac1.statement)
    )
    assert ac1.params[0] == ("ac-1_prm_1", "[Assignment: organization-defined personnel or roles]")
    # Markdown links keep their text: "[AU-2](#au-2)" reads "AU-2".
    assert final["AC-2.4"].guidance == (
        "Account management audit records are defined in accordance with AU-2 and reviewed, analyzed, "
        "and reported in accordance with AU-6."
    )


def test_800_53_keys_agree_across_revisions(corpus_dir: Path) -> None:
    rev4 = _by_key(_corpus_doc(corpus_dir / SP80053 / "rev4" / "NIST_SP-800-53_rev4_catalog.yaml"))
    rev5 = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5.0.0-2020-09" / "NIST_SP-800-53_rev5_catalog.json")
    )
    assert set(rev4) <= set(rev5)
    assert rev4["AC-2.1"].title == rev5["AC-2.1"].title == "Automated System Account Management"
    assert rev4["AC-13"].successors == ("AC-2", "AU-6")
    fpd = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5-fpd-2020-03" / "NIST_SP-800-53_rev5-FPD_catalog.json")
    )
    assert (len(set(fpd) - set(rev5)), len(set(rev5) - set(fpd))) == (10, 22)  # as the corpus README says


def test_800_53_insert_syntax_change_is_not_change(corpus_dir: Path) -> None:
    """5.1 (``{{ id }}``) to 5.0.1 (``{{ insert: param, id }}``): only NIST's data-capture fixes differ."""
    old = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5.1-2020-12-errata" / "NIST_SP-800-53_rev5_catalog.json")
    )
    new = _by_key(
        _corpus_doc(corpus_dir / SP80053 / "rev5-oscal-5.0.1-2021-06" / "NIST_SP-800-53_rev5_catalog.json")
    )
    assert old.keys() == new.keys()
    changed = {k for k in old if old[k].statement != new[k].statement}
    # AC-4(25) loses a stray "]", PM-30 gets its item labels, SI-14(2) a space between two
    # assignments; CP-10(3) and SC-19 gain their withdrawal notes.
    assert changed == {"AC-4.25", "CP-10.3", "PM-30", "SC-19", "SI-14.2"}
    assert all(old[k].guidance == new[k].guidance for k in old)
    # SA-4(3) in 5.1 nests an assignment with NIST's internal "<assign:#>" markup, which ends
    # inside a choice: the statement comes out right, the recorded parameter text cannot.
    assert all(old[k].params == new[k].params for k in old if k not in changed | {"SA-4.3"})


@pytest.mark.parametrize(
    ("folder", "sizes"),
    [
        ("rev4", {"LOW": 124, "MODERATE": 261, "HIGH": 343}),
        ("rev5-oscal-5.0.1-2021-06", {"LOW": 149, "MODERATE": 287, "HIGH": 370, "PRIVACY": 96}),
        ("rev5.1.1-2024-02", {"LOW": 149, "MODERATE": 287, "HIGH": 370, "PRIVACY": 96}),
        ("rev5.2.0-2025-08", {"LOW": 149, "MODERATE": 287, "HIGH": 370, "PRIVACY": 96}),
    ],
)
def test_800_53_baseline_profiles(corpus_dir: Path, folder: str, sizes: dict[str, int]) -> None:
    found: dict[str, int] = {}
    for path in sorted((corpus_dir / SP80053 / folder).glob("*-baseline_profile.yaml")):
        doc = _corpus_doc(path)
        assert doc.role is DocumentRole.PROFILE
        found.update((p.name, len(set(p.keys))) for p in doc.profiles)
    assert found == sizes


@pytest.mark.slow
def test_800_53_resolved_baselines_assemble(corpus_dir: Path) -> None:
    """5.1.1 has no full catalog: its requirements are the union of the four resolved baselines.

    The resolver behind 5.1.1 also pulls in the parent of every selected enhancement whose
    parent is not selected (AC-3 for AC-3(14) in PRIVACY), unmarked, so the resolved PRIVACY
    catalog holds 102 controls where the profile selects 96; 5.0.1's resolver dropped those
    6 enhancements instead (90).
    """
    folder = corpus_dir / SP80053 / "rev5.1.1-2024-02"
    named = [(p.name, _corpus_doc(p)) for p in sorted(folder.glob("*resolved-profile_catalog.yaml"))]
    assert all(doc.role is DocumentRole.RESOLVED for _, doc in named)
    version = assemble(named, "rev5.1.1")
    sizes = {p.name: len(p.keys) for p in version.profiles}
    assert sizes == {"LOW": 149, "MODERATE": 287, "HIGH": 370, "PRIVACY": 102}
    privacy_profile = _corpus_doc(folder / "NIST_SP-800-53_rev5_PRIVACY-baseline_profile.yaml").profiles[0]
    resolved = next(p for p in version.profiles if p.name == "PRIVACY")
    extra = set(resolved.keys) - set(privacy_profile.keys)
    assert extra == {"AC-3", "AU-3", "PE-8", "PM-5", "SA-8", "SC-7"}
    # each is the parent of a selected enhancement
    assert all(any(key.startswith(parent + ".") for key in privacy_profile.keys) for parent in extra)
    union = {r.key for r in version.requirements}
    for profile in version.profiles:
        assert set(profile.keys) <= union
    assert len(union) == len(version.requirements) == 444
    # The whole folder: the profile documents state the selections, the resolved ones the text.
    everything = named + [(p.name, _corpus_doc(p)) for p in sorted(folder.glob("*-baseline_profile.yaml"))]
    version = assemble(everything, "rev5.1.1")
    assert {p.name: len(p.keys) for p in version.profiles} == {
        "LOW": 149,
        "MODERATE": 287,
        "HIGH": 370,
        "PRIVACY": 96,
    }
    assert len(version.requirements) == 444


@pytest.mark.slow
def test_800_53_odp_renames_are_not_change(corpus_dir: Path) -> None:
    """5.0.1 to 5.1.1 HIGH: parameter ids renamed to ODPs map back and the guidance is unchanged."""
    name = "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog.yaml"
    old = _by_key(_corpus_doc(corpus_dir / SP80053 / "rev5-oscal-5.0.1-2021-06" / name))
    new = _by_key(_corpus_doc(corpus_dir / SP80053 / "rev5.1.1-2024-02" / name))
    latest = _by_key(_corpus_doc(corpus_dir / SP80053 / "rev5.2.0-2025-08" / name))
    assert old.keys() == new.keys() == latest.keys()
    assert all([p for p, _ in old[k].params] == [p for p, _ in new[k].params] for k in old)
    assert all(old[k].guidance == new[k].guidance for k in old)
    assert old["AC-2.2"].statement == new["AC-2.2"].statement  # alt-label keeps the SP 800-53 wording
    # 5.1.1 to 5.2.0: only the discussion of SA-4, SA-5 and SI-2 changes in HIGH.
    assert {k for k in new if new[k] != latest[k]} == {"SA-4", "SA-5", "SI-2"}


def test_csf_2_oscal_xml(corpus_dir: Path) -> None:
    doc = _corpus_doc(corpus_dir / "nist-csf" / "2.0-oscal" / "NIST_CSF_v2.0_catalog.xml")
    assert (doc.title, doc.version_hint, str(doc.published)) == (
        "NIST Cybersecurity Framework 2.0",
        "1.0.0",
        "2025-05-29",
    )
    reqs = _by_key(doc)
    kinds = Counter(r.kind for r in doc.requirements)
    active = Counter(r.kind for r in doc.requirements if not r.withdrawn)
    assert (kinds["function"], kinds["category"], kinds["subcategory"]) == (6, 34, 185)
    assert (active["function"], active["category"], active["subcategory"]) == (6, 22, 106)
    assert [r.ident for r in doc.requirements if r.kind == "function"] == ["GV", "ID", "PR", "DE", "RS", "RC"]
    gv_oc_01 = reqs["GV.OC-1"]
    assert (gv_oc_01.ident, gv_oc_01.parent, reqs["GV.OC"].parent) == ("GV.OC-01", "GV.OC", "GV")
    assert (
        gv_oc_01.statement
        == "The organizational mission is understood and informs cybersecurity risk management"
    )
    assert gv_oc_01.guidance.startswith("Share the organization's mission")
    assert reqs["ID.AM-6"].withdrawn and reqs["ID.BE"].withdrawn and not reqs["ID.AM"].withdrawn
    assert "implementation examples" in reqs["ID.AM-6"].prop("withdrawn-basis")
    # The withdrawn subcategories are inferred; they agree with the CSF 2.0 framework library.
    library = yaml.safe_load((corpus_dir / "nist-csf" / "2.0" / "nist-csf-2.0.yaml").read_bytes())
    nodes = library["objects"]["framework"]["requirement_nodes"]
    assessable = {normalise_key(n["ref_id"]) for n in nodes if n.get("assessable")}
    assert assessable == {r.key for r in doc.requirements if r.kind == "subcategory" and not r.withdrawn}


def test_sniff_whole_corpus(corpus_dir: Path) -> None:
    """Every OSCAL file of the corpus and nothing else."""
    for path in sorted(corpus_dir.glob("*/*/*")):
        expected = path.parts[-3] == SP80053 or path.name == "NIST_CSF_v2.0_catalog.xml"
        score = PARSER.sniff(path.name, path.read_bytes())
        assert (score >= 90) if expected else (score == 0), path
