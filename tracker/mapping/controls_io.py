"""Reading an organisation's controls: CSV, OSCAL component definitions and SSPs.

Every reader validates the whole input before returning, and reports a problem by row
number or by JSON path, so an import is all or nothing.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tracker.domain.errors import InvalidInputError
from tracker.mapping.types import Control
from tracker.sources.parsing.oscal_text import label_from_id

CSV_COLUMNS = ("id", "title", "description", "owner", "tags")


def read_controls(filename: str, data: bytes) -> list[Control]:
    """Controls from a CSV file or an OSCAL component definition / system security plan."""
    text = _decode(filename, data)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return read_oscal_json(filename, text)
    if filename.lower().endswith((".yaml", ".yml")):
        from tracker.sources.parsing.loaders import load_yaml

        return _read_oscal(filename, load_yaml(filename, data))
    return read_csv(filename, text)


def _decode(filename: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{filename}: not UTF-8 text (byte {exc.start})", "save the file as UTF-8"
        ) from exc


def read_csv(filename: str, text: str) -> list[Control]:
    """``id,title,description,owner,tags`` (tags separated by ``;`` or ``|``); only ``id`` is required."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "id" not in header:
        raise InvalidInputError(
            f"{filename}: no 'id' column (found: {', '.join(header) or 'nothing'})",
            f"the first row must name the columns: {','.join(CSV_COLUMNS)}",
        )
    reader.fieldnames = header
    controls: list[Control] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise InvalidInputError(
                f"{filename} row {number}: more cells than columns", "quote cells that contain commas"
            )
        ident = (row.get("id") or "").strip()
        if not ident:
            raise InvalidInputError(f"{filename} row {number}: empty id", "every control needs an identifier")
        tags = tuple(t.strip() for t in (row.get("tags") or "").replace("|", ";").split(";") if t.strip())
        control = Control(
            id=ident,
            title=(row.get("title") or "").strip(),
            description=(row.get("description") or "").strip(),
            owner=(row.get("owner") or "").strip(),
            tags=tags,
        )
        if control.key in seen:
            raise InvalidInputError(
                f"{filename} row {number}: control {ident!r} repeats row {seen[control.key]}",
                "give each control one row",
            )
        seen[control.key] = number
        controls.append(control)
    if not controls:
        raise InvalidInputError(f"{filename}: no controls", "add one row per control under the header")
    return controls


def read_oscal_json(filename: str, text: str) -> list[Control]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{filename}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            "fix or re-export the file",
        ) from exc
    return _read_oscal(filename, doc)


def _read_oscal(filename: str, doc: Any) -> list[Control]:
    if not isinstance(doc, dict):
        raise InvalidInputError(
            f"{filename}: expected an OSCAL document object", "export a component definition or SSP"
        )
    if "component-definition" in doc:
        return _from_component_definition(filename, doc["component-definition"])
    if "system-security-plan" in doc:
        return _from_ssp(filename, doc["system-security-plan"])
    raise InvalidInputError(
        f"{filename}: neither an OSCAL component-definition nor a system-security-plan",
        "import CSV (id,title,description,owner,tags) or one of those OSCAL models",
    )


def _at(obj: Any, key: str, path: str, kind: type = list) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        raise InvalidInputError(
            f"missing or malformed {path}/{key}", "validate the file against the OSCAL schema"
        )
    return value


def _description(req: dict[str, Any]) -> str:
    parts = [str(req.get("description") or "").strip()]
    for stmt in req.get("statements") or ():
        for by in stmt.get("by-components") or ():
            parts.append(str(by.get("description") or "").strip())
    for by in req.get("by-components") or ():
        parts.append(str(by.get("description") or "").strip())
    return "\n".join(p for p in parts if p)


def _merge(controls: dict[str, Control], control: Control) -> None:
    """Several components may implement one control: their descriptions are joined."""
    if control.key in controls:
        old = controls[control.key]
        joined = "\n".join(p for p in (old.description, control.description) if p)
        controls[control.key] = Control(
            id=old.id, title=old.title, description=joined, owner=old.owner or control.owner, tags=old.tags
        )
    else:
        controls[control.key] = control


def _implemented(filename: str, reqs: list[Any], path: str, owner: str, out: dict[str, Control]) -> None:
    for index, req in enumerate(reqs):
        where = f"{path}/implemented-requirements/{index}"
        control_id = req.get("control-id") if isinstance(req, dict) else None
        if not isinstance(control_id, str) or not control_id.strip():
            raise InvalidInputError(
                f"{filename}: {where}/control-id is missing",
                "each implemented requirement names a control-id",
            )
        _merge(out, Control(id=label_from_id(control_id.strip()), description=_description(req), owner=owner))


def _from_component_definition(filename: str, body: Any) -> list[Control]:
    out: dict[str, Control] = {}
    components = _at(body, "components", "/component-definition")
    for c_index, component in enumerate(components):
        c_path = f"/component-definition/components/{c_index}"
        owner = str(component.get("title") or "") if isinstance(component, dict) else ""
        for i_index, impl in enumerate(_at(component, "control-implementations", c_path)):
            i_path = f"{c_path}/control-implementations/{i_index}"
            _implemented(filename, _at(impl, "implemented-requirements", i_path), i_path, owner, out)
    if not out:
        raise InvalidInputError(
            f"{filename}: the component definition implements no controls", "add implemented-requirements"
        )
    return list(out.values())


def _from_ssp(filename: str, body: Any) -> list[Control]:
    out: dict[str, Control] = {}
    impl = _at(body, "control-implementation", "/system-security-plan", dict)
    path = "/system-security-plan/control-implementation"
    _implemented(filename, _at(impl, "implemented-requirements", path), path, "", out)
    if not out:
        raise InvalidInputError(f"{filename}: the SSP implements no controls", "add implemented-requirements")
    return list(out.values())
