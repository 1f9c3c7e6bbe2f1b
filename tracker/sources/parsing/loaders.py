"""Reading YAML and JSON with errors that name the file, the place and the problem.

Shared by the YAML and JSON parsers. YAML is read first with ``yaml_rs`` (a Rust YAML 1.2
parser, about 15 times faster than PyYAML on the 2 MB OSCAL catalogs, which dominate ingest
time), and only when it refuses a document with PyYAML's safe loader, whose errors carry the
line and column. Neither constructs arbitrary Python objects. Dates and timestamps are turned
back into ISO strings so that both readers hand the parsers the same values.

Publishers are untrusted input. YAML anchors and aliases let a few hundred bytes stand for
billions of values ("billion laughs"); real standards use a handful (OSCAL resolved profiles,
ATLAS), so a document that may hold aliases is composed by PyYAML into its node graph first
(aliases are shared nodes there, so composing costs what the file costs) and refused when
its expanded size would exceed :data:`MAX_EXPANDED_NODES`. ``yaml_rs`` copies aliases as it
reads, so it only sees documents without any. Nesting deeper than Python's recursion limit
is refused with the file named, not left to surface as an unexpected ``RecursionError``.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import yaml

from tracker.domain.errors import ParseError

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REFETCH = "the file may be truncated or corrupted; fetch it again from the publisher"
_HOSTILE = "a standards document does not need this; report the file to its publisher"

# Expanded values allowed per YAML document that uses aliases: the largest real documents
# (2 MB OSCAL catalogs) hold about 300 000 nodes; an alias bomb holds billions.
MAX_EXPANDED_NODES = 2_000_000
# An anchor (``&name``) and an alias (``*name``) both start a node; over-matching (``*bold*``
# text) only sends a document down the slower, bounded path.
_ANCHOR = re.compile(rb"(?:^|[\s\[{,:-])&[^\s\[\]{},]")
_ALIAS = re.compile(rb"(?:^|[\s\[{,:-])\*[^\s\[\]{},]")


class _TooLarge(Exception):
    pass


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """How many nodes ``node`` stands for once every alias is copied out, stopping past ``limit``.

    Iterative with a memo per node: an alias is the same node object, so each is sized once.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if not children_done and id(current) in sizes:
            continue
        if isinstance(current, yaml.ScalarNode):
            sizes[id(current)] = 1
            continue
        children: list[yaml.Node] = []
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [part for pair in current.value for part in pair]
        if not children_done:
            sizes[id(current)] = -1  # in progress: a cycle (recursive alias) reads as 1
            stack.append((current, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        total = 1 + sum(max(sizes.get(id(child), 1), 1) for child in children)
        if total > limit:
            raise _TooLarge
        sizes[id(current)] = total
    return sizes[id(node)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _may_alias(data: bytes) -> bool:
    return _ANCHOR.search(data) is not None and _ALIAS.search(data) is not None


def _load_bounded(filename: str, data: bytes) -> Any:
    """PyYAML's safe loader, refusing a document whose aliases expand past the bound."""
    loader = _YAML_LOADER(data)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            _expanded_size(node, MAX_EXPANDED_NODES)
        except _TooLarge:
            raise ParseError(
                filename,
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES} values (an alias bomb)",
                _HOSTILE,
            ) from None
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(filename: str, data: bytes) -> Any:
    """Parse YAML bytes, raising :class:`ParseError` with the line and column of a syntax error."""
    if not _may_alias(data):
        try:
            import yaml_rs

            return _plain(yaml_rs.loads(data.decode("utf-8-sig")))
        except RecursionError:
            raise _too_deep(filename) from None
        except Exception:
            pass
    try:
        return _plain(_load_bounded(filename, data))  # a safe loader (see the module docstring)
    except RecursionError:
        raise _too_deep(filename) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ParseError(filename, f"invalid YAML{where}: {exc.problem or exc}", _REFETCH) from exc
    except yaml.YAMLError as exc:  # reader errors: bad encoding, control characters
        raise ParseError(filename, f"invalid YAML: {exc}", _REFETCH) from exc


def load_json(filename: str, data: bytes) -> Any:
    """Parse JSON bytes (UTF-8, with or without a byte-order mark)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(filename, f"not UTF-8 text (bad byte at offset {exc.start})", _REFETCH) from exc
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep(filename) from None
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ParseError(filename, problem, _REFETCH) from exc


def _too_deep(filename: str) -> ParseError:
    return ParseError(filename, "values nested too deeply to read", _HOSTILE)


def text(value: object) -> str:
    """A scalar as stripped text: ``None`` is empty, dates are ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def as_date(value: object) -> date | None:
    """A YAML date (already a ``date``) or an ISO date string; anything else is ``None``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None
