"""Read and write crosswalks: CSV, framework-library mapping YAML, OSCAL mapping collections.

Every reader validates the whole input before returning anything: the first problem raises
:class:`tracker.domain.errors.InvalidInputError` naming the CSV row (as a spreadsheet numbers it,
header = row 1) or the JSON/YAML path, and saying how to fix it. A caller therefore either
gets every mapping of the file or none, which is what "nothing partially imported" needs.

Relationship vocabularies are folded onto IR 8477 by
:func:`tracker.mapping.relationships.parse_relationship`; in particular NIST's untyped
``related`` becomes ``intersects`` (overlap claimed, containment not).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from tracker.domain.errors import InvalidInputError, ParseError
from tracker.mapping.crosswalks.common import (
    CSV_COLUMNS,
    confidence_of,
    enum_or_default,
    relationship_of,
    text_of,
)
from tracker.mapping.crosswalks.oscal import read_oscal_mapping, write_oscal_mapping
from tracker.mapping.types import Mapping, Provenance, ReviewState
from tracker.sources.parsing.loaders import load_yaml

__all__ = [
    "CSV_COLUMNS",
    "read_csv",
    "read_framework_yaml",
    "read_oscal_mapping",
    "urn_ref",
    "write_csv",
    "write_oscal_mapping",
]


# --- CSV ---------------------------------------------------------------------------------


def read_csv(
    data: bytes | str,
    *,
    name: str = "crosswalk.csv",
    source_set: str = "",
    target_set: str = "",
    provenance: Provenance = Provenance.PUBLISHED,
) -> list[Mapping]:
    """Read ``source_id,target_id[,relationship,provenance,confidence,review,versions,note]``.

    A missing relationship means ``intersects``. The ``provenance`` column may hold either a
    provenance word (published/machine/reviewer) or free text naming the publication, which
    is kept as the mapping's note. ``versions`` is ``;``-separated.
    """
    reader = csv.DictReader(io.StringIO(text_of(data, name), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("source_id", "target_id") if c not in header]
    if missing:
        raise InvalidInputError(
            f"{name} row 1: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'nothing'})",
            "the header must name at least source_id and target_id",
        )
    reader.fieldnames = header
    out: list[Mapping] = []
    for index, row in enumerate(reader, start=2):
        where = f"{name} row {index}"
        if None in row:
            raise InvalidInputError(
                f"{where}: more cells than header columns", "quote cells that contain commas"
            )
        cells = {k: (v or "").strip() for k, v in row.items()}
        if not any(cells.values()):
            continue
        if not cells.get("source_id") or not cells.get("target_id"):
            raise InvalidInputError(
                f"{where}: empty source_id or target_id", "every row needs both identifiers"
            )
        rel_text = cells.get("relationship") or "intersects"
        prov_text = cells.get("provenance", "")
        prov = enum_or_default(Provenance, prov_text, provenance)
        note = cells.get("note", "") or ("" if prov_text.lower() == prov.value else prov_text)
        out.append(
            Mapping(
                source=cells["source_id"],
                target=cells["target_id"],
                relationship=relationship_of(rel_text, f"{where} column relationship"),
                provenance=prov,
                confidence=confidence_of(cells["confidence"], f"{where} column confidence")
                if cells.get("confidence")
                else (1.0 if prov is not Provenance.MACHINE else 0.5),
                review=enum_or_default(
                    ReviewState,
                    cells.get("review", ""),
                    ReviewState.PROPOSED if prov is Provenance.MACHINE else ReviewState.ACCEPTED,
                ),
                versions=tuple(v.strip() for v in cells.get("versions", "").split(";") if v.strip()),
                source_set=source_set,
                target_set=target_set,
                note=note,
            )
        )
    return out


def write_csv(mappings: Iterable[Mapping]) -> str:
    """Write the columns of :data:`CSV_COLUMNS`; :func:`read_csv` reads it back unchanged."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in mappings:
        writer.writerow(
            [
                m.source,
                m.target,
                m.relationship.value,
                m.provenance.value,
                f"{m.confidence:.6g}",
                m.review.value,
                ";".join(m.versions),
                m.note,
            ]
        )
    return buffer.getvalue()


# --- framework-library YAML (CISO Assistant) ----------------------------------------------


def urn_ref(urn: str) -> str:
    """``urn:intuitem:risk:req_node:nist-csf-1.1:id.am-1`` -> ``ID.AM-1`` (the node's ref)."""
    return urn.rsplit(":", 1)[-1].upper()


def read_framework_yaml(data: bytes | str, *, name: str = "mapping.yaml") -> list[Mapping]:
    """Read ``objects.requirement_mapping_sets`` (or the older singular ``requirement_mapping_set``).

    Each ``requirement_mappings`` entry gives source/target requirement URNs and a
    relationship (``equal``, ``subset``, ``superset``, ``intersect``, ``not_related``);
    ``strength_of_relationship`` (0-10), when present, becomes the confidence.
    """
    try:
        # the shared loader: bounded alias expansion, deep nesting named (a file from outside)
        doc = load_yaml(name, text_of(data, name).encode())
    except ParseError as err:
        raise InvalidInputError(f"{name}: not valid YAML ({err.detail})", "fix the YAML syntax") from err
    objects = doc.get("objects") if isinstance(doc, dict) else None
    if not isinstance(objects, dict):
        raise InvalidInputError(
            f"{name}: $.objects is missing",
            "a framework-library mapping has objects.requirement_mapping_sets",
        )
    sets: list[tuple[str, Any]]
    if "requirement_mapping_sets" in objects:
        raw = objects["requirement_mapping_sets"]
        if not isinstance(raw, list):
            raise InvalidInputError(
                f"{name}: $.objects.requirement_mapping_sets is not a list", "make it a YAML list"
            )
        sets = [(f"$.objects.requirement_mapping_sets[{i}]", s) for i, s in enumerate(raw)]
    elif "requirement_mapping_set" in objects:
        sets = [("$.objects.requirement_mapping_set", objects["requirement_mapping_set"])]
    else:
        raise InvalidInputError(
            f"{name}: $.objects.requirement_mapping_sets is missing",
            "this file holds no mapping set; is it a framework?",
        )
    out: list[Mapping] = []
    for path, mset in sets:
        if not isinstance(mset, dict):
            raise InvalidInputError(
                f"{name}: {path} is not a mapping set object", "each set is a YAML mapping"
            )
        source_set = str(mset.get("source_framework_urn", ""))
        target_set = str(mset.get("target_framework_urn", ""))
        entries = mset.get("requirement_mappings")
        if not isinstance(entries, list):
            raise InvalidInputError(
                f"{name}: {path}.requirement_mappings is missing or not a list", "list the mappings"
            )
        for j, entry in enumerate(entries):
            where = f"{name}: {path}.requirement_mappings[{j}]"
            if not isinstance(entry, dict):
                raise InvalidInputError(f"{where} is not an object", "each mapping has source/target URNs")
            src, tgt = entry.get("source_requirement_urn"), entry.get("target_requirement_urn")
            for field_name, value in (("source_requirement_urn", src), ("target_requirement_urn", tgt)):
                if not isinstance(value, str) or not value.strip():
                    raise InvalidInputError(f"{where}.{field_name} is missing", "give the requirement's URN")
            assert isinstance(src, str) and isinstance(tgt, str)
            strength = entry.get("strength_of_relationship", entry.get("strength"))
            confidence = (
                1.0
                if strength is None
                else confidence_of(strength, where, name="strength_of_relationship", top=10.0)
            )
            out.append(
                Mapping(
                    source=urn_ref(src),
                    target=urn_ref(tgt),
                    relationship=relationship_of(entry.get("relationship"), f"{where}.relationship"),
                    provenance=Provenance.PUBLISHED,
                    confidence=confidence,
                    source_set=source_set,
                    target_set=target_set,
                    note=str(entry.get("rationale") or entry.get("annotation") or ""),
                )
            )
    return out
