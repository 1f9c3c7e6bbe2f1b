"""An organisation's controls: create, read, update, delete (deactivate), history, CSV import.

Writes go through :class:`tracker.storage.controls.ControlStore`, which keeps every earlier state
of a control; "delete" deactivates, because mappings and history refer to the control.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import EngineDep, ReadTenant, Tenant, WriteTenant
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import ControlHistoryOut, ControlIn, ControlOut, ControlUpdate, ImportReportOut
from tracker.domain.keys import normalise_key
from tracker.mapping.types import Control
from tracker.storage.controls import ControlStore, check_storable
from tracker.storage.tables.orgs import ControlRow

router = APIRouter(
    prefix="/v1/orgs/{org}/controls", tags=["controls"], responses=responses(401, 403, 404, 422)
)
Paging = Annotated[PageParams, Depends(page_params)]
Ident = Annotated[str, Path(min_length=1, max_length=256, examples=["ACME-AC-01"])]
MAX_CSV_BYTES = 10 * 1024 * 1024
CSV_COLUMNS = ("id", "title", "description", "owner", "tags", "family", "parent")


def _out(row: ControlRow) -> ControlOut:
    return ControlOut(
        id=row.ident,
        key=row.key,
        title=row.title,
        description=row.description,
        owner=row.owner,
        tags=list(row.tags or ()),
        family=row.family,
        parent=row.parent_key,
        origin=row.origin,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(engine: EngineDep, tenant: Tenant, ident: str, *, active_only: bool = True) -> ControlRow:
    key = normalise_key(ident)
    with Session(engine) as session:
        row = session.scalar(
            select(ControlRow).where(ControlRow.org_id == tenant.org_id, ControlRow.key == key)
        )
        if row is None or (active_only and not row.active):
            raise ApiProblem(404, f"{tenant.org} has no control {ident!r}", slug="not-found")
        session.expunge(row)
        return row


def _control(ident: str, body: ControlIn | ControlUpdate) -> Control:
    try:
        control = Control(
            id=ident,
            title=body.title,
            description=body.description,
            owner=body.owner,
            tags=tuple(body.tags),
            family=body.family,
            parent=normalise_key(body.parent) if body.parent else None,
        )
    except ValueError as exc:
        raise ApiProblem(422, str(exc), slug="invalid-input") from None
    check_storable(control)  # before it is looked up: PostgreSQL cannot compare a NUL either
    return control


@router.get("", operation_id="listControls", summary="The organisation's controls")
def list_controls(
    tenant: ReadTenant,
    engine: EngineDep,
    paging: Paging,
    include_inactive: Annotated[bool, Query(description="also list deleted (deactivated) controls")] = False,
) -> Page[ControlOut]:
    query = select(ControlRow).where(ControlRow.org_id == tenant.org_id, ControlRow.id > paging.after)
    if not include_inactive:
        query = query.where(ControlRow.active.is_(True))
    with Session(engine) as session:
        rows = session.scalars(query.order_by(ControlRow.id).limit(paging.limit + 1)).all()
        items = [_out(r) for r in rows]
    return paging.page(items, [r.id for r in rows])


@router.post(
    "", operation_id="createControl", summary="Create a control", status_code=201, responses=responses(409)
)
def create_control(body: ControlIn, tenant: WriteTenant, engine: EngineDep) -> ControlOut:
    control = _control(body.id, body)
    with Session(engine) as session:
        existing = session.scalar(
            select(ControlRow.active).where(ControlRow.org_id == tenant.org_id, ControlRow.key == control.key)
        )
    if existing:
        raise ApiProblem(
            409, f"{tenant.org} already has control {body.id!r}; update it with PUT", slug="conflict"
        )
    ControlStore(engine).import_controls(tenant.org, [control], origin="api")
    return _out(_row(engine, tenant, body.id))


@router.get("/{ident}", operation_id="getControl", summary="One control")
def get_control(ident: Ident, tenant: ReadTenant, engine: EngineDep) -> ControlOut:
    return _out(_row(engine, tenant, ident, active_only=False))


@router.put("/{ident}", operation_id="updateControl", summary="Replace a control's fields (history is kept)")
def update_control(ident: Ident, body: ControlUpdate, tenant: WriteTenant, engine: EngineDep) -> ControlOut:
    row = _row(engine, tenant, ident)
    ControlStore(engine).import_controls(tenant.org, [_control(row.ident, body)], origin="api")
    return _out(_row(engine, tenant, ident))


@router.delete(
    "/{ident}",
    operation_id="deleteControl",
    summary="Delete (deactivate) a control; its history and mappings are kept",
    status_code=204,
    response_class=Response,
)
def delete_control(ident: Ident, tenant: WriteTenant, engine: EngineDep) -> Response:
    row = _row(engine, tenant, ident)
    ControlStore(engine).deactivate_control(tenant.org, row.ident)
    return Response(status_code=204)


@router.get("/{ident}/history", operation_id="getControlHistory", summary="Every earlier state of a control")
def control_history(ident: Ident, tenant: ReadTenant, engine: EngineDep) -> list[ControlHistoryOut]:
    row = _row(engine, tenant, ident, active_only=False)
    return [ControlHistoryOut(**h) for h in ControlStore(engine).control_history(tenant.org, row.ident)]


@router.post(
    "/import",
    operation_id="importControls",
    summary="Import controls from CSV (all or nothing)",
    description=(
        "CSV with a header row; columns `id` (required), `title`, `description`, `owner`, `tags` "
        "(separated by `;` or `|`), `family`, `parent`. Existing controls are updated in place, "
        "keeping history. Any invalid row rejects the whole file with a 422 naming each row."
    ),
)
def import_controls(
    tenant: WriteTenant,
    engine: EngineDep,
    file: Annotated[UploadFile, File(description="the CSV file")],
    deactivate_missing: Annotated[
        bool, Query(description="deactivate controls from earlier CSV imports absent from this one")
    ] = False,
) -> ImportReportOut:
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ApiProblem(413, f"the CSV is larger than {MAX_CSV_BYTES} bytes; split it", slug="too-large")
    controls = parse_csv(data)
    report = ControlStore(engine).import_controls(
        tenant.org, controls, origin="csv-api", deactivate_missing=deactivate_missing
    )
    return ImportReportOut(**report.to_dict())


def parse_csv(data: bytes) -> list[Control]:
    """Every row validated before anything is written; errors name the row (1 = header) and column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _csv_problem([([], f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "id" not in header:
        raise _csv_problem([(["header"], "the header row needs an `id` column")])
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise _csv_problem(
            [(["header"], f"unknown column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}")]
        )
    reader.fieldnames = header
    errors: list[tuple[list[str | int], str]] = []
    controls: list[Control] = []
    seen: dict[str, int] = {}
    try:
        for line, raw in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
            if None in raw:
                errors.append(([line], "more cells than header columns"))
                continue
            ident = row.get("id", "")
            if not ident:
                errors.append(([line, "id"], "empty id"))
                continue
            key = normalise_key(ident)
            if key in seen:
                errors.append(([line, "id"], f"duplicate of row {seen[key]} ({ident!r})"))
                continue
            seen[key] = line
            tags = tuple(t.strip() for t in row.get("tags", "").replace("|", ";").split(";") if t.strip())
            parent = row.get("parent") or None
            controls.append(
                Control(
                    id=ident,
                    title=row.get("title", ""),
                    description=row.get("description", ""),
                    owner=row.get("owner", ""),
                    tags=tags,
                    family=row.get("family", ""),
                    parent=normalise_key(parent) if parent else None,
                )
            )
    except csv.Error as exc:
        errors.append(([reader.line_num], f"malformed CSV: {exc}"))
    if errors:
        raise _csv_problem(errors)
    if not controls:
        raise _csv_problem([([], "the CSV has no data rows")])
    return controls


def _csv_problem(errors: list[tuple[list[Any], str]]) -> ApiProblem:
    return ApiProblem(
        422,
        f"the CSV has {len(errors)} invalid row(s); nothing was imported",
        slug="invalid-csv",
        errors=[
            {"loc": ["body", "file", *loc], "msg": msg, "type": "invalid-csv"} for loc, msg in errors[:200]
        ],
    )
