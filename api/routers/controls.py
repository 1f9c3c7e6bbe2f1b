"""An organisation's controls: create, read, update, delete (deactivate), history, CSV import.

Writes go through :class:`tracker.storage.controls.ControlStore`, which keeps every earlier state
of a control; "delete" deactivates, because mappings and history refer to the control.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile

from api.deps import EngineDep, ReadTenant, Tenant, WriteTenant
from api.headers import created_responses, set_location
from api.pagination import Page, PageParams, page_params
from api.problems import ApiProblem, responses
from api.schemas.orgs import ControlHistoryOut, ControlIn, ControlOut, ControlUpdate, ImportReportOut
from tracker.domain.errors import InvalidInputError, InvalidRowsError, ParseError, RowProblem
from tracker.domain.keys import normalise_key
from tracker.mapping.controls_io import is_oscal, keep_known, read_controls, read_controls_csv
from tracker.mapping.types import Control
from tracker.storage.controls import ControlRecord, ControlStore, check_storable

router = APIRouter(
    prefix="/v1/orgs/{org}/controls", tags=["controls"], responses=responses(401, 403, 404, 422)
)
Paging = Annotated[PageParams, Depends(page_params)]
Ident = Annotated[str, Path(min_length=1, max_length=256, examples=["ACME-AC-01"])]
MAX_CSV_BYTES = 10 * 1024 * 1024


def _out(row: ControlRecord) -> ControlOut:
    return ControlOut(
        id=row.ident,
        key=row.key,
        title=row.title,
        description=row.description,
        owner=row.owner,
        tags=list(row.tags),
        family=row.family,
        parent=row.parent,
        origin=row.origin,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _row(engine: EngineDep, tenant: Tenant, ident: str, *, active_only: bool = True) -> ControlRecord:
    row = ControlStore(engine).record(tenant.org_id, normalise_key(ident))
    if row is None or (active_only and not row.active):
        raise ApiProblem(404, f"{tenant.org} has no control {ident!r}", slug="not-found")
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
    rows = ControlStore(engine).page(
        tenant.org_id, after_id=paging.after, limit=paging.limit + 1, include_inactive=include_inactive
    )
    return paging.page([_out(r) for r in rows], [r.id for r in rows])


@router.post(
    "",
    operation_id="createControl",
    summary="Create a control",
    status_code=201,
    responses=created_responses(responses(409)),
)
def create_control(body: ControlIn, tenant: WriteTenant, engine: EngineDep, response: Response) -> ControlOut:
    control = _control(body.id, body)
    existing = ControlStore(engine).record(tenant.org_id, control.key)
    if existing is not None and existing.active:
        raise ApiProblem(
            409, f"{tenant.org} already has control {body.id!r}; update it with PUT", slug="conflict"
        )
    ControlStore(engine).import_controls(tenant.org, [control], origin="api")
    set_location(response, "v1", "orgs", tenant.org, "controls", control.id)
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
    summary="Import controls from CSV or OSCAL (all or nothing)",
    description=(
        "CSV with a header row; columns `id` (required), `title`, `description`, `owner`, `tags` "
        "(separated by `;` or `|`), `family`, `parent`. Or an OSCAL component definition or "
        "system security plan (JSON or YAML), recognised by the part's media type, its file name "
        "or its content; fields the OSCAL document does not carry (titles, an SSP's owners) keep "
        "their stored values. Existing controls are updated in place, keeping history. Any "
        "invalid row or OSCAL path rejects the whole file with a 422 naming each problem."
    ),
)
def import_controls(
    tenant: WriteTenant,
    engine: EngineDep,
    file: Annotated[UploadFile, File(description="the CSV file, or an OSCAL component definition or SSP")],
    deactivate_missing: Annotated[
        bool, Query(description="deactivate controls from earlier CSV imports absent from this one")
    ] = False,
) -> ImportReportOut:
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ApiProblem(413, f"the file is larger than {MAX_CSV_BYTES} bytes; split it", slug="too-large")
    name = file.filename or "upload"
    if is_oscal(name, data, file.content_type or ""):
        controls, origin = parse_oscal(name, data), "oscal-api"
        known = ControlStore(engine).controls(tenant.org, include_inactive=True)
        controls = keep_known(controls, known)
    else:
        controls, origin = parse_csv(data), "csv-api"
    report = ControlStore(engine).import_controls(
        tenant.org, controls, origin=origin, deactivate_missing=deactivate_missing
    )
    return ImportReportOut(**report.to_dict())


def parse_oscal(name: str, data: bytes) -> list[Control]:
    """The controls of an uploaded OSCAL document; a problem names its JSON path."""
    try:
        return read_controls(name, data)
    except (InvalidInputError, ParseError) as err:
        detail = f"{err}; nothing was imported"
        raise ApiProblem(
            422,
            detail,
            slug="invalid-oscal",
            errors=[{"loc": ["body", "file"], "msg": str(err), "type": "invalid-oscal"}],
        ) from None


def parse_csv(data: bytes) -> list[Control]:
    """The controls of an uploaded CSV, read as ``tracker controls import`` reads a file."""
    try:
        return read_controls_csv("the CSV", data)
    except InvalidRowsError as err:
        raise _csv_problem(err.problems) from None


def _csv_problem(problems: tuple[RowProblem, ...]) -> ApiProblem:
    """A 422 naming each bad row (1 = header) and, where one is at fault, its column."""
    errors: list[dict[str, Any]] = []
    for p in problems[:200]:
        loc: list[str | int] = []
        if p.row is not None:
            loc.append("header" if p.row == 1 else p.row)
        if p.column and p.row != 1:
            loc.append(p.column)
        errors.append({"loc": ["body", "file", *loc], "msg": p.message, "type": "invalid-csv"})
    return ApiProblem(
        422,
        f"the CSV has {len(problems)} problem(s); nothing was imported",
        slug="invalid-csv",
        errors=errors,
    )
