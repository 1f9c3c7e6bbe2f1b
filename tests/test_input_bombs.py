"""Hostile standards files: alias bombs, deep nesting and XML entities give a ParseError naming the file.

Publishers are untrusted input: a few hundred bytes must not cost gigabytes or an unexplained crash.
"""

from __future__ import annotations

import time

import pytest

from tracker.domain.errors import ParseError
from tracker.sources.formats import parse_document
from tracker.sources.parsers.oscal import PARSER as OSCAL
from tracker.sources.parsing.loaders import load_json, load_yaml


def _alias_bomb(levels: int, fan: int = 9) -> bytes:
    """The classic "billion laughs" in YAML: each level lists the previous one ``fan`` times."""
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        refs = ",".join(f"*l{i - 1}" for _ in range(fan))
        lines.append(f"l{i}: &l{i} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def test_yaml_alias_bomb_is_refused_quickly_naming_the_file() -> None:
    bomb = _alias_bomb(9)  # 9**9 = 387 million strings once expanded; ~500 bytes on disk
    assert len(bomb) < 600
    started = time.monotonic()
    with pytest.raises(ParseError) as caught:
        load_yaml("evil/ATLAS.yaml", bomb)
    assert time.monotonic() - started < 5
    assert "evil/ATLAS.yaml" in str(caught.value)
    assert "alias" in str(caught.value)


def test_yaml_alias_bomb_through_format_detection() -> None:
    with pytest.raises(ParseError) as caught:
        parse_document("bomb.yaml", b"catalog:\n  metadata: {title: x}\n" + _alias_bomb(9))
    assert "bomb.yaml" in str(caught.value)


def test_yaml_modest_aliases_still_load() -> None:
    """Real documents (OSCAL resolved profiles, ATLAS) do use a few anchors: they still load."""
    doc = load_yaml("ok.yaml", _alias_bomb(3, fan=3))
    assert doc["l3"][0][0][0] == ["lol"]
    assert len(doc["l3"]) == 3


@pytest.mark.parametrize("loader", [load_json, load_yaml])
def test_deep_nesting_names_the_file(loader: object) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(ParseError) as caught:
        loader("deep/doc.json", deep)  # type: ignore[operator]
    assert "deep/doc.json" in str(caught.value)
    assert "nest" in str(caught.value)


def test_deep_xml_names_the_file() -> None:
    deep = b"<catalog>" + b"<part>" * 50_000 + b"</part>" * 50_000 + b"</catalog>"
    with pytest.raises(ParseError) as caught:
        OSCAL.parse("deep.xml", deep)
    assert "deep.xml" in str(caught.value)


def test_xml_entities_after_a_long_comment_are_refused() -> None:
    """The DTD sits beyond the first 8 kB the sniffer reads: the parser itself must refuse it."""
    laughs = (
        b'<?xml version="1.0"?>\n<!--' + b"x" * 20_000 + b"-->\n"
        b'<!DOCTYPE catalog [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
        b'<catalog xmlns="http://csrc.nist.gov/ns/oscal/1.0"><metadata><title>&c;</title></metadata></catalog>'
    )
    with pytest.raises(ParseError) as caught:
        OSCAL.parse("laughs.xml", laughs)
    assert "laughs.xml" in str(caught.value)
    assert "DTD" in str(caught.value)


def test_crosswalk_yaml_alias_bomb_is_refused() -> None:
    """Crosswalk files come from outside too (framework-library mappings): same loader, same bound."""
    from tracker.domain.errors import InvalidInputError
    from tracker.mapping.crosswalks.files import read_framework_yaml

    started = time.monotonic()
    with pytest.raises(InvalidInputError) as caught:
        read_framework_yaml(_alias_bomb(9), name="crosswalk.yaml")
    assert time.monotonic() - started < 5
    assert "crosswalk.yaml" in str(caught.value) and "alias" in str(caught.value)
