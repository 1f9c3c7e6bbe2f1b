"""NIST AI RMF Playbook JSON: one record per AI RMF subcategory.

Each record has ``type`` (Govern, Map, ...), ``title`` ("GOVERN 1.1"), ``category``
("GOVERN-1"), ``description`` (the subcategory's outcome: the statement), and the playbook's
suggestions: ``section_about``, ``section_actions``, ``section_doc`` and ``section_ref``.

Domain decisions:

- The playbook and the AI RMF core are two views of the same requirements, so idents are
  spelt as the core prints them ("GOVERN 1.1", category "GOVERN 1", function "GOVERN") and the
  keys match the framework-library YAML's: the record's "GOVERN-1" category becomes "GOVERN 1".
- About, suggested actions and documentation questions are guidance, each under its own
  heading; references are a bibliography and go to the ``references`` property with the
  record's AI actors and topics.
- The playbook has no function or category records; they are added as group nodes so every
  subcategory has a parent. Records are put in the framework's order (GOVERN, MAP, MEASURE,
  MANAGE, then by number); the export lists functions alphabetically.
"""

from __future__ import annotations

import re
from typing import Any

from tracker.domain.errors import ParseError
from tracker.domain.keys import normalise_key
from tracker.domain.model import DocumentRole, ParsedDocument, Requirement
from tracker.sources.parsing.base import Parser
from tracker.sources.parsing.loaders import load_json, text

NAME = "ai-rmf-playbook"
VERSION = "1"

_HEAD = 8192
_HINT = "expected the NIST AI RMF Playbook JSON: an array of records with title, description, section_about"
_FUNCTIONS = ("GOVERN", "MAP", "MEASURE", "MANAGE")
_SUBCATEGORY = re.compile(r"^\s*([A-Za-z]+)\s*[-\s]?\s*(\d+)\s*\.\s*(\d+)\s*$")
_GUIDANCE = (
    ("section_about", "About"),
    ("section_actions", "Suggested actions"),
    ("section_doc", "Transparency and documentation"),
)


class PlaybookParser:
    """Reads the AI RMF Playbook export (``nist_ai_rmf_playbook.json``)."""

    name = NAME
    version = VERSION

    def sniff(self, filename: str, data: bytes) -> int:
        head = data[:_HEAD].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] != b"[":
            return 0
        if b'"section_about"' in head:
            return 95
        return 20 if b'"section_actions"' in head else 0

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        records = load_json(filename, data)
        if not isinstance(records, list) or not records:
            raise ParseError(filename, "the top level is not a non-empty array of records", _HINT)
        entries = [_entry(filename, record, i) for i, record in enumerate(records)]
        entries.sort(key=lambda e: (_rank(e[0]), e[1], e[2]))
        requirements: list[Requirement] = []
        seen: set[str] = set()
        for function, category, number, record in entries:
            category_ident = f"{function} {category}"
            if function not in seen:
                seen.add(function)
                title = text(record.get("type")) or function.title()
                requirements.append(
                    Requirement(ident=function, key=normalise_key(function), title=title, kind="function")
                )
            if category_ident not in seen:
                seen.add(category_ident)
                requirements.append(
                    Requirement(
                        ident=category_ident,
                        key=normalise_key(category_ident),
                        parent=normalise_key(function),
                        depth=1,
                        kind="category",
                    )
                )
            ident = f"{category_ident}.{number}"
            if ident in seen:
                raise ParseError(filename, f"two records are titled {ident}", _HINT)
            seen.add(ident)
            requirements.append(_subcategory(record, ident, parent=normalise_key(category_ident)))
        return ParsedDocument(
            format=NAME,
            parser_version=VERSION,
            role=DocumentRole.CATALOG,
            title="NIST AI RMF Playbook",
            requirements=tuple(requirements),
        )


def _entry(filename: str, record: object, index: int) -> tuple[str, int, int, dict[str, Any]]:
    """(function, category number, subcategory number, record), checking the required fields."""
    if not isinstance(record, dict):
        raise ParseError(filename, f"record #{index + 1} is not an object", _HINT)
    title = text(record.get("title"))
    match = _SUBCATEGORY.match(title)
    if not match:
        found = f"title {title!r}" if title else "no title"
        raise ParseError(
            filename, f"record #{index + 1} has {found}, not a subcategory such as 'GOVERN 1.1'", _HINT
        )
    if not text(record.get("description")):
        raise ParseError(filename, f"record {title} has no description (the subcategory outcome)", _HINT)
    return match.group(1).upper(), int(match.group(2)), int(match.group(3)), record


def _rank(function: str) -> int:
    return _FUNCTIONS.index(function) if function in _FUNCTIONS else len(_FUNCTIONS)


def _subcategory(record: dict[str, Any], ident: str, parent: str) -> Requirement:
    sections = [(heading, _section(record.get(field))) for field, heading in _GUIDANCE]
    guidance = "\n\n".join(f"{heading}:\n{body}" for heading, body in sections if body)
    properties = [
        (name, value)
        for name, value in (
            ("references", _section(record.get("section_ref"))),
            ("ai-actors", _listed(record.get("AI Actors"))),
            ("topics", _listed(record.get("Topic"))),
        )
        if value
    ]
    return Requirement(
        ident=ident,
        key=normalise_key(ident),
        statement=text(record.get("description")),
        guidance=guidance,
        parent=parent,
        depth=2,
        kind="subcategory",
        properties=tuple(properties),
    )


def _section(value: object) -> str:
    """Markdown text with trailing spaces and runs of blank lines removed."""
    if isinstance(value, list):
        value = "\n".join(text(v) for v in value)
    lines = [line.rstrip() for line in text(value).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _listed(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(text(v) for v in value if text(v))
    return text(value)


# The Playbook accompanies the AI RMF (suggested actions per subcategory); it is not an edition
# of the framework, so a version read by this parser never supersedes the framework's text.
COMPANION = True
PARSER: Parser = PlaybookParser()
