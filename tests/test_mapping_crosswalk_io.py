"""Crosswalk readers and writers: round trips, vocabularies, and malformed input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker.domain.errors import InvalidInputError
from tracker.mapping.crosswalks.files import (
    read_csv,
    read_framework_yaml,
    read_oscal_mapping,
    write_csv,
    write_oscal_mapping,
)
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.mapping.types import Relationship as R


@pytest.fixture
def mapping_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "mapping"


def sample() -> list[Mapping]:
    return [
        Mapping("ID.AM-1", "CM-8", R.INTERSECTS, note="NIST", source_set="csf@1.1", target_set="sp53@rev5"),
        Mapping(
            "GV.OC-01",
            "PM-11",
            R.SUBSET,
            provenance=Provenance.MACHINE,
            confidence=0.42,
            review=ReviewState.PROPOSED,
            versions=("csf@2.0", "sp53@rev5"),
            source_set="csf@2.0",
            target_set="sp53@rev5",
            note='suggested, "quoted", with, commas',
            via=("csf@1.1:ID.BE-3",),
        ),
        Mapping("AC-2(1)", "ACME-IAM-02", R.SUPERSET, provenance=Provenance.REVIEWER, source_set="sp53@rev5"),
        Mapping("PR.DS-7", "CM-2", R.EQUAL, source_set="csf@1.1", target_set="sp53@rev5"),
    ]


def test_csv_reads_the_nist_layout(mapping_dir: Path) -> None:
    rows = read_csv((mapping_dir / "crosswalk.csv").read_bytes())
    assert [(r.source, r.target, r.relationship) for r in rows] == [
        ("ID.AM-1", "CM-8", R.INTERSECTS),
        ("ID.AM-1", "PM-5", R.INTERSECTS),
        ("ID.GV-1", "AC-1", R.INTERSECTS),
        ("PR.DS-7", "CM-2", R.SUBSET),
    ]
    assert rows[0].provenance is Provenance.PUBLISHED and rows[0].review is ReviewState.ACCEPTED
    assert rows[0].note == "NIST CSF 1.1 to SP 800-53 Rev 5 mapping (NIST)"
    assert rows[3].note == ""


def test_csv_round_trip() -> None:
    ms = sample()
    back = read_csv(write_csv(ms))
    strip = [Mapping(**{**m.__dict__, "source_set": "", "target_set": "", "via": ()}) for m in ms]
    assert back == strip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("source,target\nA,B\n", "row 1: missing column(s) source_id, target_id"),
        (
            "source_id,target_id,relationship\nA,B,equal\nC,D,sort of\n",
            "row 3 column relationship: unknown relationship",
        ),
        (
            "source_id,target_id,confidence\nA,B,high\n",
            "row 2 column confidence: confidence 'high' is not a number",
        ),
        ("source_id,target_id,confidence\nA,B,1.5\n", "row 2 column confidence: confidence 1.5 is outside"),
        ("source_id,target_id\nA,B\n,D\n", "row 3: empty source_id or target_id"),
        ("source_id,target_id\nA,B,C\n", "row 2: more cells than header columns"),
    ],
)
def test_malformed_csv_names_the_row_and_returns_nothing(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        read_csv(text, name="x.csv")
    assert message in str(info.value)
    assert info.value.hint


def test_csv_skips_blank_rows_and_rejects_non_utf8() -> None:
    assert len(read_csv("source_id,target_id\nA,B\n,\nC,D\n")) == 2
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        read_csv(b"source_id,target_id\n\xff,B\n")


def test_framework_yaml(mapping_dir: Path) -> None:
    rows = read_framework_yaml((mapping_dir / "mapping.yaml").read_bytes())
    assert [(r.source, r.target, r.relationship, r.confidence) for r in rows] == [
        ("ID.AM-1", "ID.AM-01", R.EQUAL, 1.0),
        ("ID.BE-1", "GV.OC-05", R.SUBSET, 1.0),
        ("ID.GV-1", "GV.PO-01", R.INTERSECTS, 0.6),
    ]
    assert rows[0].source_set == "urn:intuitem:risk:framework:nist-csf-1.1"
    assert rows[0].target_key == "ID.AM-1"  # zero padding is cosmetic
    assert rows[1].note == "syntactic"


def test_framework_yaml_singular_set() -> None:
    text = """
objects:
  requirement_mapping_set:
    source_framework_urn: urn:a
    target_framework_urn: urn:b
    requirement_mappings:
      - {source_requirement_urn: "urn:x:a:1", target_requirement_urn: "urn:x:b:2", relationship: superset}
"""
    (row,) = read_framework_yaml(text)
    assert (row.source, row.target, row.relationship) == ("1", "2", R.SUPERSET)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("objects: [1, 2", "not valid YAML"),
        ("name: x\n", "$.objects is missing"),
        ("objects: {}\n", "$.objects.requirement_mapping_sets is missing"),
        (
            "objects:\n  requirement_mapping_sets:\n    - requirement_mappings:\n"
            "        - {source_requirement_urn: 'urn:a:1', relationship: equal}\n",
            "$.objects.requirement_mapping_sets[0].requirement_mappings[0].target_requirement_urn is missing",
        ),
        (
            "objects:\n  requirement_mapping_sets:\n    - requirement_mappings:\n"
            "        - {source_requirement_urn: a:1, target_requirement_urn: b:1, relationship: equal}\n"
            "        - {source_requirement_urn: a:2, target_requirement_urn: b:2, relationship: maybe}\n",
            "requirement_mappings[1].relationship: unknown relationship 'maybe'",
        ),
        (
            "objects:\n  requirement_mapping_sets:\n    - requirement_mappings:\n"
            "        - {source_requirement_urn: 'u:a:1', target_requirement_urn: 'u:b:1',"
            " relationship: equal, strength_of_relationship: 11}\n",
            "strength_of_relationship 11 is outside 0 to 10",
        ),
    ],
)
def test_malformed_framework_yaml_names_the_path(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        read_framework_yaml(text, name="m.yaml")
    assert message in str(info.value)


def test_oscal_mapping_collection(mapping_dir: Path) -> None:
    rows = read_oscal_mapping((mapping_dir / "mapping-collection.json").read_bytes())
    assert [(r.source, r.target, r.relationship, r.confidence) for r in rows] == [
        ("CP-9", "ACME-BK-01", R.EQUAL, 1.0),  # catalog ids read as the labels NIST prints
        ("AC-2(1)", "ACME-IAM-02", R.SUBSET, 0.8),
        ("ac-2_smt.a", "ACME-IAM-02", R.SUBSET, 0.8),
    ]
    assert rows[1].source_key == "AC-2.1"  # same key as the printed AC-2(1)
    assert rows[0].source_set == "sp800-53@rev5" and rows[0].target_set == "org:acme"
    assert rows[1].note == "account management is automated by the IAM platform"


def test_oscal_round_trip_is_lossless_and_deterministic() -> None:
    ms = sample()
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = write_oscal_mapping(ms, title="t", last_modified=when)
    assert text == write_oscal_mapping(ms, title="t", last_modified=when)
    doc = json.loads(text)["mapping-collection"]
    assert doc["provenance"]["method"] == "hybrid" and doc["provenance"]["status"] == "draft"
    assert {m["relationship"] for g in doc["mappings"] for m in g["maps"]} == {
        "intersects-with",
        "subset-of",
        "superset-of",
        "equivalent-to",
    }
    order = sorted(ms, key=lambda m: (m.source_set, m.target_set, m.source))
    assert sorted(read_oscal_mapping(text), key=lambda m: (m.source_set, m.target_set, m.source)) == order


def test_oscal_export_leaves_out_no_relationship() -> None:
    ms = [Mapping("A", "B", R.NO_RELATIONSHIP), Mapping("A", "C", R.EQUAL)]
    assert [m.target for m in read_oscal_mapping(write_oscal_mapping(ms))] == ["C"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{", "line 1 column 2: not valid JSON"),
        ({"catalog": {}}, "$.mapping-collection is missing"),
        ({"mapping-collection": {"mappings": []}}, "$.mapping-collection.mappings is missing or empty"),
        (
            {
                "mapping-collection": {
                    "mappings": [{"maps": [{"sources": [{"id-ref": "a"}], "targets": [{"id-ref": "b"}]}]}]
                }
            },
            "$.mapping-collection.mappings[0].maps[0].relationship is missing",
        ),
        (
            {
                "mapping-collection": {
                    "mappings": [
                        {
                            "maps": [
                                {
                                    "relationship": "equal-to",
                                    "sources": [{"id-ref": "a"}],
                                    "targets": [{"type": "control"}],
                                }
                            ]
                        }
                    ]
                }
            },
            "$.mapping-collection.mappings[0].maps[0].targets[0].id-ref is missing",
        ),
        (
            {
                "mapping-collection": {
                    "mappings": [
                        {
                            "maps": [
                                {
                                    "relationship": "equal-to",
                                    "sources": [{"id-ref": "a"}],
                                    "targets": [{"id-ref": "b"}],
                                },
                                {
                                    "relationship": "kinda",
                                    "sources": [{"id-ref": "a"}],
                                    "targets": [{"id-ref": "b"}],
                                },
                            ]
                        }
                    ]
                }
            },
            "$.mapping-collection.mappings[0].maps[1].relationship: unknown relationship 'kinda'",
        ),
    ],
)
def test_malformed_oscal_names_the_json_path(doc: object, message: str) -> None:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(InvalidInputError) as info:
        read_oscal_mapping(text, name="m.json")
    assert message in str(info.value)
