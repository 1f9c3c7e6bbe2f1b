"""AI RMF Playbook JSON parser: groups, guidance sections, bad input, and agreement with the core."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, ParsedDocument, ParsedVersion
from tracker.sources.formats import _finish, assemble
from tracker.sources.parsers import framework_yaml
from tracker.sources.parsers.playbook import PARSER


def parse(path: Path) -> ParsedDocument:
    return _finish(PARSER.parse(str(path), path.read_bytes()))


def version_of(path: Path) -> ParsedVersion:
    return assemble([(path.name, parse(path))], where=str(path))


def test_records_become_a_tree(fixtures_dir: Path) -> None:
    path = fixtures_dir / "playbook" / "playbook-mini.json"
    doc = parse(path)
    assert doc.role is DocumentRole.CATALOG
    assert doc.title == "NIST AI RMF Playbook"
    version = assemble([(path.name, doc)])
    # framework order (GOVERN before MAP), numeric within a category, groups before members
    assert [req.ident for req in version.requirements] == [
        "GOVERN",
        "GOVERN 1",
        "GOVERN 1.1",
        "GOVERN 1.2",
        "MAP",
        "MAP 1",
        "MAP 1.1",
    ]
    by_key = version.by_key()
    assert (by_key["GOVERN"].kind, by_key["GOVERN"].title, by_key["GOVERN"].parent) == (
        "function",
        "Govern",
        None,
    )
    assert (by_key["GOVERN1"].kind, by_key["GOVERN1"].parent) == ("category", "GOVERN")
    outcome = by_key["MAP1.1"]
    assert (outcome.kind, outcome.parent, outcome.depth) == ("subcategory", "MAP1", 2)
    assert outcome.statement == "Intended purposes are understood and documented."
    assert outcome.guidance == (
        "About:\nContext matters.\n\nMore about context.\n\n"
        "Suggested actions:\n* Document intended purposes.\n* Review them.\n\n"
        "Transparency and documentation:\n### Organizations can document the following\n"
        "- Is the purpose documented?"
    )
    assert outcome.prop("references") == "A reference. [URL](https://example.org/ref)"
    assert outcome.prop("ai-actors") == "AI Design"
    assert outcome.prop("topics") == "Context; Documentation"
    assert by_key["GOVERN1.2"].guidance == "About:\nPolicies are central."  # empty sections left out
    assert by_key["GOVERN1.2"].prop("references") == ""


def test_sniff(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "playbook" / "playbook-mini.json").read_bytes()
    assert PARSER.sniff("playbook.json", data) >= 90
    assert PARSER.sniff("playbook.json", b"\xef\xbb\xbf" + data) >= 90
    assert PARSER.sniff("catalog.json", b'{"catalog": {"uuid": "x"}}') == 0
    assert PARSER.sniff("list.json", b'[{"title": "x"}]') == 0
    assert PARSER.sniff("lib.yaml", b"urn: urn:intuitem:risk:library:x\n") == 0
    assert PARSER.sniff("blob.bin", bytes(range(256)) * 10) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"title": "GOVERN 1.1", "description": "x", "section_about": "tru', "invalid JSON at line 1"),
        (b"\xff\xfe[]", "not UTF-8"),
        (b'{"title": "GOVERN 1.1"}', "not a non-empty array"),
        (b"[]", "not a non-empty array"),
        (b'["GOVERN 1.1"]', "record #1 is not an object"),
        (b'[{"description": "x", "section_about": ""}]', "record #1 has no title"),
        (b'[{"title": "Introduction", "description": "x"}]', "title 'Introduction'"),
        (b'[{"title": "GOVERN 1.1", "section_about": "x"}]', "GOVERN 1.1 has no description"),
        (
            b'[{"title": "GOVERN 1.1", "description": "x"}, {"title": "GOVERN 1.1", "description": "y"}]',
            "two records are titled GOVERN 1.1",
        ),
    ],
)
def test_bad_input_names_file_and_problem(content: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        PARSER.parse("rmf/playbook.json", content)
    assert "rmf/playbook.json" in str(caught.value)
    assert message in str(caught.value)


def test_real_playbook(corpus_dir: Path) -> None:
    path = corpus_dir / "nist-ai-rmf" / "playbook-json-2026-05" / "nist_ai_rmf_playbook.json"
    assert PARSER.sniff(path.name, path.read_bytes()) >= 90
    version = version_of(path)
    assert Counter(req.kind for req in version.requirements) == {
        "function": 4,
        "category": 19,
        "subcategory": 72,
    }
    by_function = Counter(req.ident.split()[0] for req in version.requirements if req.kind == "subcategory")
    assert by_function == {"GOVERN": 19, "MAP": 18, "MEASURE": 22, "MANAGE": 13}  # as in MANIFEST.json
    outcome = version.by_key()["GOVERN1.1"]
    assert (
        outcome.statement
        == "Legal and regulatory requirements involving AI are understood, managed, and documented."
    )
    assert outcome.guidance.startswith("About:\nAI systems may be subject to specific applicable legal")
    assert "Suggested actions:\n" in outcome.guidance
    assert "Transparency and documentation:\n" in outcome.guidance
    assert "ftc.gov" in outcome.prop("references")


def test_playbook_and_core_share_keys(corpus_dir: Path) -> None:
    """Two views of the same requirements: every key, parent and kind agree with the AI RMF core."""
    playbook = version_of(corpus_dir / "nist-ai-rmf" / "playbook-json-2026-05" / "nist_ai_rmf_playbook.json")
    core_path = corpus_dir / "nist-ai-rmf" / "1.0" / "nist-ai-rmf-1.0.yaml"
    core = _finish(framework_yaml.PARSER.parse(str(core_path), core_path.read_bytes()))
    shape = {(r.key, r.parent, r.kind) for r in core.requirements}
    assert {(r.key, r.parent, r.kind) for r in playbook.requirements} == shape
    assert [r.key for r in playbook.requirements] == [r.key for r in core.requirements]
