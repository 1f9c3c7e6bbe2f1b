"""Read and write crosswalks: CSV, framework-library mapping YAML, OSCAL mapping collections.

Every reader validates the whole input before returning anything: the first problem raises
:class:`tracker.errors.InvalidInputError` naming the CSV row (as a spreadsheet numbers it,
header = row 1) or the JSON/YAML path, and saying how to fix it. A caller therefore either
gets every mapping of the file or none, which is what "nothing partially imported" needs.

Relationship vocabularies are folded onto IR 8477 by
:func:`tracker.mapping.relationships.parse_relationship`; in particular NIST's untyped
``related`` becomes ``intersects`` (overlap claimed, containment not).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from tracker.errors import InvalidInputError
from tracker.mapping.relationships import parse_relationship
from tracker.mapping.types import Mapping, Provenance, Relationship, ReviewState

CSV_COLUMNS = (
    "source_id",
    "target_id",
    "relationship",
    "provenance",
    "confidence",
    "review",
    "versions",
    "note",
)
TRACKER_NS = "urn:ai-standards-tracker:mapping"
_NO_SOURCE, _NO_TARGET = "#source", "#target"
_NAMESPACE_UUID = uuid.UUID("6f1d0d52-2a43-5d0e-9d3a-8f3c1b1c7e11")
_OSCAL_OUT = {
    Relationship.EQUAL: "equivalent-to",
    Relationship.SUBSET: "subset-of",
    Relationship.SUPERSET: "superset-of",
    Relationship.INTERSECTS: "intersects-with",
}
_RELATIONSHIP_HINT = "use one of equal, subset, superset, intersects, no-relationship (or related)"


def _text(data: bytes | str, where: str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"{where}: not UTF-8 text (byte {err.start})", "save the file as UTF-8"
        ) from err


def _relationship(value: Any, where: str) -> Relationship:
    rel = parse_relationship(str(value)) if isinstance(value, str) else None
    if rel is None:
        raise InvalidInputError(f"{where}: unknown relationship {value!r}", _RELATIONSHIP_HINT)
    return rel


def _confidence(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{where}: confidence {value!r} is not a number", "give a number from 0 to 1"
        ) from None
    if not 0.0 <= number <= 1.0:
        raise InvalidInputError(
            f"{where}: confidence {number} is outside [0, 1]", "give a number from 0 to 1"
        )
    return number


def _enum_or_default(cls: type[Provenance] | type[ReviewState], value: str, default: Any) -> Any:
    value = value.strip().lower()
    return cls(value) if value in {m.value for m in cls} else default


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
    reader = csv.DictReader(io.StringIO(_text(data, name), newline=""))
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
        prov = _enum_or_default(Provenance, prov_text, provenance)
        note = cells.get("note", "") or ("" if prov_text.lower() == prov.value else prov_text)
        out.append(
            Mapping(
                source=cells["source_id"],
                target=cells["target_id"],
                relationship=_relationship(rel_text, f"{where} column relationship"),
                provenance=prov,
                confidence=_confidence(cells["confidence"], f"{where} column confidence")
                if cells.get("confidence")
                else (1.0 if prov is not Provenance.MACHINE else 0.5),
                review=_enum_or_default(
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
        doc = yaml.safe_load(_text(data, name))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidInputError(f"{name}{line}: not valid YAML", "fix the YAML syntax") from err
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
            confidence = 1.0
            if strength is not None:
                try:
                    tenths = float(strength)
                except (TypeError, ValueError):
                    raise InvalidInputError(
                        f"{where}.strength_of_relationship {strength!r} is not a number", "give 0 to 10"
                    ) from None
                if not 0 <= tenths <= 10:
                    raise InvalidInputError(
                        f"{where}.strength_of_relationship {tenths} is outside 0-10", "give 0 to 10"
                    )
                confidence = tenths / 10.0
            out.append(
                Mapping(
                    source=urn_ref(src),
                    target=urn_ref(tgt),
                    relationship=_relationship(entry.get("relationship"), f"{where}.relationship"),
                    provenance=Provenance.PUBLISHED,
                    confidence=confidence,
                    source_set=source_set,
                    target_set=target_set,
                    note=str(entry.get("rationale") or entry.get("annotation") or ""),
                )
            )
    return out


# --- OSCAL mapping collection ---------------------------------------------------------------


def _oscal_relationship(value: Any, where: str) -> Relationship:
    if isinstance(value, dict):  # {"type"|"STRVALUE"|"value": "...", "ns": ...}
        value = value.get("type", value.get("STRVALUE", value.get("value")))
    return _relationship(value, where)


def _prop(props: Any, name: str) -> str | None:
    for prop in props if isinstance(props, list) else []:
        if isinstance(prop, dict) and prop.get("name") == name and prop.get("ns", TRACKER_NS) == TRACKER_NS:
            return str(prop.get("value", ""))
    return None


def _items(node: Any, key: str, where: str) -> list[str]:
    items = node.get(key)
    if not isinstance(items, list) or not items:
        raise InvalidInputError(
            f"{where}.{key} is missing or empty", f"a map needs at least one entry in {key}"
        )
    refs: list[str] = []
    for k, item in enumerate(items):
        ref = item.get("id-ref") if isinstance(item, dict) else None
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInputError(
                f"{where}.{key}[{k}].id-ref is missing", "give the control or statement id"
            )
        refs.append(ref)
    return refs


def read_oscal_mapping(data: bytes | str, *, name: str = "mapping.json") -> list[Mapping]:
    """Read an OSCAL ``mapping-collection`` (JSON): every source x target of every map.

    The collection's ``source-resource``/``target-resource`` hrefs become the mapping
    sets. Confidence comes from ``confidence-score.percentage`` or our own ``confidence``
    prop; provenance and review state from our props, else published and accepted.
    """
    try:
        doc = json.loads(_text(data, name))
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"{name} line {err.lineno} column {err.colno}: not valid JSON", "fix the JSON syntax"
        ) from err
    root = doc.get("mapping-collection") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise InvalidInputError(
            f"{name}: $.mapping-collection is missing", "the root object must be mapping-collection"
        )
    groups = root.get("mappings")
    if not isinstance(groups, list) or not groups:
        raise InvalidInputError(
            f"{name}: $.mapping-collection.mappings is missing or empty", "add at least one mapping"
        )
    out: list[Mapping] = []
    for i, group in enumerate(groups):
        gpath = f"{name}: $.mapping-collection.mappings[{i}]"
        if not isinstance(group, dict):
            raise InvalidInputError(f"{gpath} is not an object", "each mapping is an object with maps")
        source_set = str((group.get("source-resource") or {}).get("href", ""))
        target_set = str((group.get("target-resource") or {}).get("href", ""))
        # the placeholders write_oscal_mapping uses when a mapping names no set
        source_set = "" if source_set == _NO_SOURCE else source_set
        target_set = "" if target_set == _NO_TARGET else target_set
        maps = group.get("maps")
        if not isinstance(maps, list) or not maps:
            raise InvalidInputError(f"{gpath}.maps is missing or empty", "each mapping lists its maps")
        for j, entry in enumerate(maps):
            where = f"{gpath}.maps[{j}]"
            if not isinstance(entry, dict):
                raise InvalidInputError(
                    f"{where} is not an object", "a map has relationship, sources and targets"
                )
            if "relationship" not in entry:
                raise InvalidInputError(f"{where}.relationship is missing", _RELATIONSHIP_HINT)
            rel = _oscal_relationship(entry["relationship"], f"{where}.relationship")
            sources = _items(entry, "sources", where)
            targets = _items(entry, "targets", where)
            props = entry.get("props")
            score = entry.get("confidence-score")
            conf_text = _prop(props, "confidence")
            if isinstance(score, dict) and "percentage" in score:
                confidence = _confidence(score["percentage"], f"{where}.confidence-score.percentage")
            elif conf_text is not None:
                confidence = _confidence(conf_text, f"{where}.props[confidence]")
            else:
                confidence = 1.0
            prov = _enum_or_default(Provenance, _prop(props, "provenance") or "", Provenance.PUBLISHED)
            review = _enum_or_default(ReviewState, _prop(props, "review-state") or "", ReviewState.ACCEPTED)
            versions = tuple(v for v in (_prop(props, "versions") or "").split(";") if v)
            via = tuple(v for v in (_prop(props, "via") or "").split(";") if v)
            note = str(entry.get("remarks") or "")
            for src in sources:
                for tgt in targets:
                    out.append(
                        Mapping(
                            source=src,
                            target=tgt,
                            relationship=rel,
                            provenance=prov,
                            confidence=confidence,
                            review=review,
                            versions=versions,
                            source_set=source_set,
                            target_set=target_set,
                            note=note,
                            via=via,
                        )
                    )
    return out


def write_oscal_mapping(
    mappings: Sequence[Mapping],
    *,
    title: str = "Crosswalk",
    version: str = "1.0",
    last_modified: str = "1970-01-01T00:00:00Z",
    oscal_version: str = "1.1.3",
) -> str:
    """Write an OSCAL mapping collection, one ``mappings[]`` entry per (source set, target set).

    UUIDs are derived from the content (UUIDv5), so the same mappings always serialise to
    the same bytes. ``no-relationship`` mappings are left out: OSCAL has no token for them
    and its rule is that nothing may be inferred from what is not mapped.
    """
    kept = [m for m in mappings if m.relationship is not Relationship.NO_RELATIONSHIP]
    groups: dict[tuple[str, str], list[Mapping]] = {}
    for m in kept:
        groups.setdefault((m.source_set, m.target_set), []).append(m)
    methods = {m.provenance for m in kept}
    method = (
        "automation"
        if methods == {Provenance.MACHINE}
        else ("human" if Provenance.MACHINE not in methods else "hybrid")
    )
    body: list[dict[str, Any]] = []
    for (src_set, tgt_set), items in groups.items():
        maps = []
        for m in items:
            props = [
                {"name": "provenance", "ns": TRACKER_NS, "value": m.provenance.value},
                {"name": "review-state", "ns": TRACKER_NS, "value": m.review.value},
                {"name": "confidence", "ns": TRACKER_NS, "value": f"{m.confidence:.6g}"},
            ]
            if m.versions:
                props.append({"name": "versions", "ns": TRACKER_NS, "value": ";".join(m.versions)})
            if m.via:
                props.append({"name": "via", "ns": TRACKER_NS, "value": ";".join(m.via)})
            entry: dict[str, Any] = {
                "uuid": str(uuid.uuid5(_NAMESPACE_UUID, f"map|{src_set}|{tgt_set}|{m.source}|{m.target}")),
                "props": props,
                "relationship": _OSCAL_OUT[m.relationship],
                "sources": [{"type": "control", "id-ref": m.source}],
                "targets": [{"type": "control", "id-ref": m.target}],
            }
            if m.note:
                entry["remarks"] = m.note
            maps.append(entry)
        body.append(
            {
                "uuid": str(uuid.uuid5(_NAMESPACE_UUID, f"mapping|{src_set}|{tgt_set}")),
                "source-resource": {"type": "catalog", "href": src_set or _NO_SOURCE},
                "target-resource": {"type": "catalog", "href": tgt_set or _NO_TARGET},
                "maps": maps,
            }
        )
    doc = {
        "mapping-collection": {
            "uuid": str(uuid.uuid5(_NAMESPACE_UUID, "collection|" + "|".join(f"{s}>{t}" for s, t in groups))),
            "metadata": {
                "title": title,
                "last-modified": last_modified,
                "version": version,
                "oscal-version": oscal_version,
            },
            "provenance": {
                "method": method,
                "matching-rationale": "semantic",
                "status": "draft" if any(m.needs_review for m in kept) else "complete",
                "mapping-description": "Exported by the living standards tracker.",
            },
            "mappings": body,
        }
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
