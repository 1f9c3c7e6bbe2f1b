"""Organisations and their controls: `tracker org ...`, `tracker controls ...`."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, table
from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.mapping.types import Control
from tracker.storage.controls import ControlStore
from tracker.storage.orgs import OrgStore


@click.group()
def org() -> None:
    """Organisations (tenants): each has its own controls, mappings and subscriptions."""


@org.command("create")
@click.argument("name")
@click.option("--title", default="", help="display name")
@FORMAT_OPTION
@click.pass_obj
def org_create(ctx: Context, name: str, title: str, fmt: str) -> None:
    """Create an organisation."""
    created = OrgStore(ctx.engine).create(name, title)
    emit(
        fmt,
        {"org": created.slug, "name": created.name, "created_at": created.created_at},
        lambda: f"created {created.slug}",
    )


@org.command("list")
@FORMAT_OPTION
@click.pass_obj
def org_list(ctx: Context, fmt: str) -> None:
    """List organisations."""
    orgs = OrgStore(ctx.engine).all()
    data = [{"org": o.slug, "name": o.name, "created_at": o.created_at} for o in orgs]
    emit(fmt, data, lambda: table([(o.slug, o.name) for o in orgs], ["org", "name"]))


@click.group()
def controls() -> None:
    """An organisation's controls."""


@controls.command("import")
@click.argument("org_name", metavar="ORG")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--catalog", default=None, metavar="SOURCE@VERSION", help="adopt an archived catalog as the controls"
)
@click.option("--profile", default=None, help="with --catalog: only this profile's selection (e.g. MODERATE)")
@click.option(
    "--replace", is_flag=True, help="deactivate controls of the same origin missing from this import"
)
@FORMAT_OPTION
@click.pass_obj
def controls_import(
    ctx: Context,
    org_name: str,
    file: Path | None,
    catalog: str | None,
    profile: str | None,
    replace: bool,
    fmt: str,
) -> None:
    """Import controls from CSV / OSCAL component definition / SSP, or adopt a catalog (all or nothing)."""
    from tracker.mapping.controls_io import is_oscal, keep_known, read_controls
    from tracker.mapping.documents import controls_from_requirements

    if file is None and catalog is None:
        raise InvalidInputError(
            "give FILE or --catalog SOURCE@VERSION (or both: an OSCAL FILE takes titles from the catalog)",
            "see `tracker controls import --help`",
        )
    if file is not None and profile:
        raise InvalidInputError("--profile selects from a catalog, not from FILE", "drop --profile")
    if file is not None:
        raw = file.read_bytes()
        items, origin = read_controls(str(file), raw), f"file:{file.name}"
        if is_oscal(file.name, raw):  # fields the document does not carry keep what is known
            known = ControlStore(ctx.engine).controls(org_name, include_inactive=True)
            catalog_controls: list[Control] = []
            if catalog is not None:
                slug, _, label = catalog.partition("@")
                catalog_controls = controls_from_requirements(ctx.archive.requirements(slug, label))
            items = keep_known(items, known, catalog_controls)
    else:
        assert catalog is not None
        if "@" not in catalog:
            raise InvalidInputError(
                f"--catalog {catalog!r} is not SOURCE@VERSION", "e.g. --catalog nist-sp-800-53@rev5"
            )
        slug, label = catalog.split("@", 1)
        reqs = ctx.archive.requirements(slug, label)
        if profile:
            chosen = next(
                (p for p in ctx.archive.profiles(slug, label) if p.name.lower() == profile.lower()), None
            )
            if chosen is None:
                names = ", ".join(p.name for p in ctx.archive.profiles(slug, label)) or "none"
                raise NotFoundError(f"{catalog} has no profile {profile!r}", f"profiles: {names}")
            selected = set(chosen.keys)
            adopted = [c for c in controls_from_requirements(reqs) if c.key in selected]
        else:
            adopted = controls_from_requirements(reqs)
        items, origin = adopted, f"catalog:{catalog}" + (f"#{profile.upper()}" if profile else "")
    report = ControlStore(ctx.engine).import_controls(org_name, items, origin, deactivate_missing=replace)
    data = {"org": org_name, "origin": origin, **report.to_dict()}
    emit(
        fmt,
        data,
        lambda: (
            f"{org_name}: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.deactivated} deactivated ({origin})"
        ),
    )


@controls.command("list")
@click.argument("org_name", metavar="ORG")
@FORMAT_OPTION
@click.pass_obj
def controls_list(ctx: Context, org_name: str, fmt: str) -> None:
    """List an organisation's active controls."""
    found = ControlStore(ctx.engine).controls(org_name)
    data = [
        {"control_id": c.id, "title": c.title, "owner": c.owner, "tags": list(c.tags), "family": c.family}
        for c in found
    ]
    emit(
        fmt,
        data,
        lambda: table([(c.id, c.owner, c.title[:70]) for c in found], ["control", "owner", "title"]),
    )


@controls.command("history")
@click.argument("org_name", metavar="ORG")
@click.argument("control_id")
@FORMAT_OPTION
@click.pass_obj
def controls_history(ctx: Context, org_name: str, control_id: str, fmt: str) -> None:
    """Every earlier state of one control."""
    rows = ControlStore(ctx.engine).control_history(org_name, control_id)
    emit(
        fmt,
        rows,
        lambda: table(
            [(r["at"], r["change"], r["snapshot"].get("title", "")) for r in rows], ["at", "change", "title"]
        ),
    )


def register(group: click.Group) -> None:
    group.add_command(org)
    group.add_command(controls)
