"""OSCAL mapping collections (``mapping-collection``) in and out, as IR 8477 mappings.

Reading validates everything first and names the JSON path of the first problem; writing
is deterministic (UUIDv5 from content) so an export can be diffed and re-imported.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from tracker.domain.errors import InvalidInputError
from tracker.mapping.crosswalks.common import (
    RELATIONSHIP_HINT,
    TRACKER_NS,
    confidence_of,
    enum_or_default,
    relationship_of,
    text_of,
)
from tracker.mapping.types import Mapping, Provenance, Relationship, ReviewState

_NO_SOURCE, _NO_TARGET = "#source", "#target"  # hrefs written when a mapping names no set
_NAMESPACE_UUID = uuid.UUID("6f1d0d52-2a43-5d0e-9d3a-8f3c1b1c7e11")
_OSCAL_OUT = {
    Relationship.EQUAL: "equivalent-to",
    Relationship.SUBSET: "subset-of",
    Relationship.SUPERSET: "superset-of",
    Relationship.INTERSECTS: "intersects-with",
}


def _oscal_relationship(value: Any, where: str) -> Relationship:
    if isinstance(value, dict):  # {"type"|"STRVALUE"|"value": "...", "ns": ...}
        value = value.get("type", value.get("STRVALUE", value.get("value")))
    return relationship_of(value, where)


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
        doc = json.loads(text_of(data, name))
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
                raise InvalidInputError(f"{where}.relationship is missing", RELATIONSHIP_HINT)
            rel = _oscal_relationship(entry["relationship"], f"{where}.relationship")
            sources = _items(entry, "sources", where)
            targets = _items(entry, "targets", where)
            props = entry.get("props")
            score = entry.get("confidence-score")
            conf_text = _prop(props, "confidence")
            if isinstance(score, dict) and "percentage" in score:
                confidence = confidence_of(score["percentage"], f"{where}.confidence-score.percentage")
            elif conf_text is not None:
                confidence = confidence_of(conf_text, f"{where}.props[confidence]")
            else:
                confidence = 1.0
            prov = enum_or_default(Provenance, _prop(props, "provenance") or "", Provenance.PUBLISHED)
            review = enum_or_default(ReviewState, _prop(props, "review-state") or "", ReviewState.ACCEPTED)
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
