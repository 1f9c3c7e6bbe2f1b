"""OSCAL mapping collections (``mapping-collection``) in and out, as IR 8477 mappings.

Reading validates everything first and names the JSON path of the first problem; writing
is deterministic (UUIDv5 from content) so an export can be diffed and re-imported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
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
from tracker.mapping.crosswalks.oscal_ids import (
    OSCAL_VERSION,
    catalog_id,
    content_uuid,
    is_org_set,
    label_of,
    name_uuid,
    timestamp,
)
from tracker.mapping.types import Mapping, Provenance, Relationship, ReviewState

_NO_SOURCE, _NO_TARGET = "#source", "#target"  # what exports before back-matter wrote for no set
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


def _resources(back_matter: Any) -> dict[str, str]:
    """``#uuid`` -> the set a back-matter resource names (our prop, else its title)."""
    out: dict[str, str] = {}
    found = back_matter.get("resources") if isinstance(back_matter, dict) else None
    for resource in found if isinstance(found, list) else []:
        if isinstance(resource, dict) and isinstance(resource.get("uuid"), str):
            props = resource.get("props")
            named = "" if _prop(props, "mapping-set-unnamed") == "true" else _prop(props, "mapping-set")
            out[f"#{resource['uuid']}"] = named if named is not None else str(resource.get("title") or "")
    return out


def _set_of(reference: Any, resources: dict[str, str], where: str) -> str:
    """The set a resource reference names: a back-matter resource, or the href itself."""
    href = str((reference or {}).get("href", "")) if isinstance(reference, dict) else ""
    if href in (_NO_SOURCE, _NO_TARGET):
        return ""
    if href.startswith("#"):
        if href not in resources:
            raise InvalidInputError(
                f"{where}.href {href} names no back-matter resource",
                "add the resource to back-matter or give the set's URL",
            )
        return resources[href]
    return href


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
    resources = _resources(root.get("back-matter"))
    out: list[Mapping] = []
    for i, group in enumerate(groups):
        gpath = f"{name}: $.mapping-collection.mappings[{i}]"
        if not isinstance(group, dict):
            raise InvalidInputError(f"{gpath} is not an object", "each mapping is an object with maps")
        source_set = _set_of(group.get("source-resource"), resources, f"{gpath}.source-resource")
        target_set = _set_of(group.get("target-resource"), resources, f"{gpath}.target-resource")
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
                            source=label_of(src, source_set),
                            target=label_of(tgt, target_set),
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


def _resource(kind: str, set_name: str) -> dict[str, Any]:
    """The back-matter resource a ``source-resource``/``target-resource`` href points at."""
    resource: dict[str, Any] = {
        "uuid": name_uuid("resource", kind, set_name),
        "title": set_name or f"unnamed {kind} set",
    }
    if set_name:
        resource["props"] = [{"name": "mapping-set", "ns": TRACKER_NS, "value": set_name}]
        if is_org_set(set_name):
            resource["description"] = f"The controls of organisation {set_name[4:]}."
        else:
            resource["description"] = f"Version {set_name} as archived by the tracker."
    else:  # a prop value may not be blank: say "no set" explicitly so it reads back as ""
        resource["props"] = [{"name": "mapping-set-unnamed", "ns": TRACKER_NS, "value": "true"}]
    return resource


def _map_entry(m: Mapping) -> dict[str, Any]:
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
        "uuid": name_uuid("map", m.source_set, m.target_set, m.source, m.target),
        "props": props,
        "relationship": _OSCAL_OUT[m.relationship],
        "sources": [{"type": "control", "id-ref": catalog_id(m.source, m.source_set)}],
        "targets": [{"type": "control", "id-ref": catalog_id(m.target, m.target_set)}],
    }
    if m.note.strip():
        entry["remarks"] = m.note
    return entry


def write_oscal_mapping(
    mappings: Sequence[Mapping],
    *,
    title: str = "Crosswalk",
    version: str = "1.0",
    last_modified: datetime | None = None,
) -> str:
    """Write an OSCAL mapping collection, one ``mappings[]`` entry per (source set, target set).

    Each set becomes a back-matter resource, and the mapping's ``source-resource`` and
    ``target-resource`` point at it (``#uuid``), so every href resolves inside the document.
    Control labels are written as catalog ids (``AC-2(1)`` as ``ac-2.1``). The document UUID
    is derived from the content (see :mod:`oscal_ids`), so unchanged mappings export with the
    same UUID and a revision gets a new one; ``last-modified`` is the export time unless given.
    ``no-relationship`` mappings are left out: OSCAL has no token for them and its rule is that
    nothing may be inferred from what is not mapped.
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
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    body: list[dict[str, Any]] = []
    for (src_set, tgt_set), items in groups.items():
        src = resources.setdefault(("source", src_set), _resource("source", src_set))
        tgt = resources.setdefault(("target", tgt_set), _resource("target", tgt_set))
        body.append(
            {
                "uuid": name_uuid("mapping", src_set, tgt_set),
                "source-resource": {"type": "catalog", "href": f"#{src['uuid']}"},
                "target-resource": {"type": "catalog", "href": f"#{tgt['uuid']}"},
                "maps": [_map_entry(m) for m in items],
            }
        )
    content: dict[str, Any] = {
        "metadata": {"title": title, "version": version, "oscal-version": OSCAL_VERSION},
        "provenance": {
            "method": method,
            "matching-rationale": "semantic",
            "status": "draft" if any(m.needs_review for m in kept) else "complete",
            "mapping-description": "Exported by the living standards tracker.",
        },
        "mappings": body,
        "back-matter": {"resources": list(resources.values())},
    }
    metadata = {
        "title": title,
        "last-modified": timestamp(last_modified),
        "version": version,
        "oscal-version": OSCAL_VERSION,
    }
    doc = {
        "mapping-collection": {
            "uuid": content_uuid("mapping-collection", content),
            "metadata": metadata,
            **{k: v for k, v in content.items() if k != "metadata"},
        }
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
