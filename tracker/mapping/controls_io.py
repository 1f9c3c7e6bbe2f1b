"""Reading an organisation's controls: CSV, OSCAL component definitions and SSPs.

Every reader validates the whole input before returning, and reports a problem by row
number or by JSON path, so an import is all or nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from tracker.domain.errors import InvalidInputError, InvalidRowsError, RowProblem
from tracker.domain.keys import normalise_key
from tracker.mapping.types import Control
from tracker.sources.parsing.oscal_text import label_from_id

CSV_COLUMNS = ("id", "title", "description", "owner", "tags", "family", "parent")


def is_oscal(filename: str, data: bytes, content_type: str = "") -> bool:
    """True for an OSCAL document (JSON or YAML) rather than CSV: by media type, name or content."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith(("json", "yaml")) or kind in ("application/x-yaml", "text/yaml"):
        return True
    if filename.lower().endswith((".json", ".yaml", ".yml")):
        return True
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") or head.startswith((b"component-definition:", b"system-security-plan:"))


def read_controls(filename: str, data: bytes) -> list[Control]:
    """Controls from a CSV file or an OSCAL component definition / system security plan."""
    text = _decode(filename, data)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return read_oscal_json(filename, text)
    if filename.lower().endswith((".yaml", ".yml")) or is_oscal(filename, data):
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


def read_controls_csv(filename: str, data: bytes) -> list[Control]:
    """Controls from CSV bytes (the API's upload); every problem is an :class:`InvalidRowsError`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = RowProblem(None, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        raise InvalidRowsError(filename, [problem], "save the file as UTF-8") from exc
    return read_csv(filename, text)


def read_csv(filename: str, text: str) -> list[Control]:
    """``id,title,description,owner,tags,family,parent``; only ``id`` is required.

    Tags are separated by ``;`` or ``|``; ``parent`` is the id of the base control an
    enhancement extends. Every row is checked before anything is returned, and every bad row
    is reported by number (the header is row 1): an import is all or nothing, and one pass
    shows the user everything to fix. Quoting is read strictly, because a lenient reader
    turns a quote left open into one control that swallows the rows after it.
    """
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[RowProblem] = []
    header = _header(records, problems)
    controls: list[Control] = []
    seen: dict[str, int] = {}
    number = 1
    while header is not None:
        number += 1
        first_line = records.line_num + 1
        try:
            cells = next(records)
        except StopIteration:
            break
        except csv.Error as exc:
            # the reader cannot find the next row's start again: report, and read no further
            problems.append(RowProblem(number, _structural(exc, first_line)))
            break
        if cells:  # a blank line is no control
            control = _row_control(header, cells, number, seen, problems)
            if control is not None:
                controls.append(control)
    if header is not None and not controls and not problems:
        problems.append(RowProblem(None, "no data rows under the header"))
    if problems:
        raise InvalidRowsError(
            filename, problems, f"fix the rows named; the columns are {','.join(CSV_COLUMNS)}"
        )
    return controls


def _header(records: Iterator[list[str]], problems: list[RowProblem]) -> list[str] | None:
    try:
        header = [h.strip().lower() for h in next(records, [])]
    except csv.Error as exc:
        problems.append(RowProblem(1, _structural(exc, 1)))
        return None
    if "id" not in header:
        found = ", ".join(h for h in header if h) or "nothing"
        problems.append(RowProblem(1, f"the header row needs an `id` column (found: {found})"))
        return None
    unknown = [h for h in header if h and h not in CSV_COLUMNS]  # a nameless column must stay empty
    if unknown:
        problems.append(
            RowProblem(1, f"unknown column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}")
        )
        return None
    return header


def _structural(exc: csv.Error, first_line: int) -> str:
    """What a csv.Error means for someone fixing the file in a spreadsheet or an editor."""
    text = str(exc)
    if "unexpected end of data" in text:
        return (
            f"a quoted cell starting on line {first_line} is never closed; close the quote "
            '(a quote inside a quoted cell is written twice: "")'
        )
    if "field larger than field limit" in text:
        return (
            f"a cell starting on line {first_line} is longer than {csv.field_size_limit()} characters "
            "(the CSV field limit): shorten it, or close the quote that runs on into the next rows"
        )
    return f"malformed CSV on line {first_line}: {text}"


def _row_control(
    header: list[str], cells: list[str], number: int, seen: dict[str, int], problems: list[RowProblem]
) -> Control | None:
    if len(cells) > len(header):
        problems.append(RowProblem(number, "more cells than header columns; quote cells that contain commas"))
        return None
    pairs = [(h, c.strip()) for h, c in zip(header, cells, strict=False)]
    row = {h: c for h, c in pairs if h}
    if any(c for h, c in pairs if not h):
        problems.append(RowProblem(number, "a cell under a column with no name; name the column or empty it"))
        return None
    ident = row.get("id", "")
    if not ident:
        problems.append(RowProblem(number, "empty id; every control needs an identifier", column="id"))
        return None
    key = normalise_key(ident)
    if key in seen:
        problems.append(RowProblem(number, f"duplicate of row {seen[key]} ({ident!r})", column="id"))
        return None
    seen[key] = number
    tags = tuple(t.strip() for t in row.get("tags", "").replace("|", ";").split(";") if t.strip())
    parent = row.get("parent") or None
    return Control(
        id=ident,
        title=row.get("title", ""),
        description=row.get("description", ""),
        owner=row.get("owner", ""),
        tags=tags,
        family=row.get("family", ""),
        parent=normalise_key(parent) if parent else None,
        key=key,
    )


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
        f"import CSV ({','.join(CSV_COLUMNS)}) or one of those OSCAL models",
    )


def _at(obj: Any, key: str, path: str, kind: type = list) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        raise InvalidInputError(
            f"missing or malformed {path}/{key}", "validate the file against the OSCAL schema"
        )
    return value


def _description(req: dict[str, Any]) -> str:
    """The requirement's description, then each statement's (component definitions put it on
    the statement, SSPs under the statement's ``by-components``), named by its statement id."""
    parts = [str(req.get("description") or "").strip()]
    for by in req.get("by-components") or ():
        parts.append(str(by.get("description") or "").strip() if isinstance(by, dict) else "")
    for stmt in req.get("statements") or ():
        if not isinstance(stmt, dict):
            continue
        said = [str(stmt.get("description") or "").strip()]
        said += [str(by.get("description") or "").strip() for by in stmt.get("by-components") or ()]
        text = "\n".join(p for p in said if p)
        if text:
            ident = str(stmt.get("statement-id") or "").strip()
            parts.append(f"{ident}: {text}" if ident else text)
    return "\n".join(p for p in parts if p)


def keep_known(imported: Sequence[Control], *known: Iterable[Control]) -> list[Control]:
    """Imported controls with what the document does not say taken from what is known.

    An OSCAL component definition or SSP says how a control is implemented, not what it is
    called or who owns it (an SSP names no owner at all). Each field an imported control
    leaves empty is filled from the first of ``known`` (the organisation's stored controls,
    then the catalog's) that has it, so an import never wipes a title or an owner set before.
    """
    sources = [{c.key: c for c in group} for group in known]
    out: list[Control] = []
    for control in imported:
        found = [s[control.key] for s in sources if control.key in s]

        def first(name: str, control: Control = control, found: list[Control] = found) -> Any:
            value = getattr(control, name)
            return value or next((getattr(f, name) for f in found if getattr(f, name)), value)

        out.append(
            dataclasses.replace(
                control,
                title=first("title"),
                description=first("description"),
                owner=first("owner"),
                tags=first("tags"),
                family=first("family"),
                parent=first("parent"),
            )
        )
    return out


def _merge(controls: dict[str, Control], control: Control) -> None:
    """Several components may implement one control: their descriptions are joined."""
    if control.key in controls:
        old = controls[control.key]
        joined = "\n".join(p for p in (old.description, control.description) if p)
        controls[control.key] = dataclasses.replace(old, description=joined, owner=old.owner or control.owner)
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
