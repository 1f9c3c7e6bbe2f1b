"""Crosswalks, mapping and impact: `tracker crosswalk ...`, `tracker map`, `tracker impact`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, emit_json, table
from tracker.cli.progress import EmbeddingProgress
from tracker.domain.errors import InvalidInputError, NotFoundError
from tracker.mapping.types import Control, Mapping, Provenance
from tracker.storage.controls import ControlStore
from tracker.storage.mappings import MappingStore


def _read_crosswalk(path: Path, source_set: str, target_set: str) -> list[Mapping]:
    from tracker.mapping.crosswalks import files as crosswalk_files

    data = path.read_bytes()
    name = path.name.lower()
    if name.endswith(".csv"):
        return crosswalk_files.read_csv(data, name=path.name, source_set=source_set, target_set=target_set)
    if name.endswith((".yaml", ".yml")):
        found = crosswalk_files.read_framework_yaml(data, name=path.name)
    elif name.endswith(".json"):
        found = crosswalk_files.read_oscal_mapping(data, name=path.name)
    else:
        raise InvalidInputError(
            f"{path}: unknown crosswalk format", "use .csv, framework-library .yaml or OSCAL .json"
        )
    if source_set or target_set:
        found = [
            dataclasses.replace(
                m, source_set=source_set or m.source_set, target_set=target_set or m.target_set
            )
            for m in found
        ]
    return found


@click.group()
def crosswalk() -> None:
    """Published crosswalks between standards, or an organisation's mappings onto its controls."""


@crosswalk.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "source_set", default="", metavar="SOURCE[@VERSION]", help="the standard mapped from")
@click.option("--to", "target_set", default="", metavar="SOURCE[@VERSION]|org:ORG", help="what it maps onto")
@click.option("--org", "org_name", default=None, help="store as this organisation's own mappings")
@FORMAT_OPTION
@click.pass_obj
def crosswalk_import(
    ctx: Context, file: Path, source_set: str, target_set: str, org_name: str | None, fmt: str
) -> None:
    """Import a crosswalk (CSV, framework-library mapping YAML, OSCAL mapping collection), all or nothing."""
    mappings = _read_crosswalk(file, source_set, target_set or (f"org:{org_name}" if org_name else ""))
    written = MappingStore(ctx.engine).add_mappings(org_name, mappings, f"file:{file.name}")
    data = {"file": str(file), "org": org_name, "mappings": written, "from": source_set, "to": target_set}
    emit(fmt, data, lambda: f"imported {written} mapping(s) from {file.name}")


@crosswalk.command("export")
@click.option("--org", "org_name", default=None)
@click.option("--from", "source_set", default=None)
@click.option("--as", "form", type=click.Choice(["csv", "oscal", "json"]), default="csv", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default=None, help="json: same as --as json"
)
@click.pass_obj
def crosswalk_export(
    ctx: Context, org_name: str | None, source_set: str | None, form: str, fmt: str | None
) -> None:
    """Print stored mappings as CSV, as an OSCAL mapping collection or as JSON."""
    from tracker.mapping.crosswalks import files as crosswalk_files

    found = [s.mapping for s in MappingStore(ctx.engine).mappings(org_name, source_set=source_set)]
    if fmt == "json" or form == "json":
        emit_json([{**dataclasses.asdict(m), "source_key": m.source_key} for m in found])
    elif form == "csv":
        click.echo(crosswalk_files.write_csv(found), nl=False)
    else:
        click.echo(crosswalk_files.write_oscal_mapping(found))


def _targets(ctx: Context, target: str) -> tuple[list[Control], str]:
    from tracker.mapping.documents import controls_from_requirements

    if "@" in target:
        slug, label = target.split("@", 1)
        return controls_from_requirements(ctx.archive.requirements(slug, label)), target
    found = ControlStore(ctx.engine).controls(target)
    if not found:
        raise NotFoundError(
            f"{target} has no controls", f"import them with `tracker controls import {target} FILE`"
        )
    return found, f"org:{target}"


def _basis(reason: str) -> str:
    """The table's short word for what ranked a candidate (``--format json`` has the whole reason)."""
    if reason.startswith("learned"):
        return "learned ranker"
    if "reviewer" in reason:
        return "reviewer"
    return "text"


@click.command("map")
@click.option("--from", "source", required=True, metavar="SOURCE@VERSION", help="requirements to map")
@click.option("--to", "target", required=True, metavar="ORG|SOURCE@VERSION", help="controls to rank")
@click.option("--top-k", default=10, show_default=True, type=click.IntRange(1, 200))
@click.option("--only", multiple=True, help="only these requirement ids (repeatable)")
@click.option("--lexical-only", is_flag=True, help="skip the embedding model")
@click.option(
    "--save", "save_min", type=float, default=None, help="store candidates scoring at least this as proposed"
)
@FORMAT_OPTION
@click.pass_obj
def map_command(
    ctx: Context,
    source: str,
    target: str,
    top_k: int,
    only: tuple[str, ...],
    lexical_only: bool,
    save_min: float | None,
    fmt: str,
) -> None:
    """Rank controls for each requirement (hybrid BM25 + MiniLM + structure, calibrated scores)."""
    from tracker.mapping.documents import queries_from_requirements
    from tracker.review.learning import learned_mapper
    from tracker.wiring import make_embedder

    if "@" not in source:
        raise InvalidInputError(f"--from {source!r} is not SOURCE@VERSION", "e.g. --from nist-csf@2.0")
    slug, label = source.split("@", 1)
    queries = queries_from_requirements(ctx.archive.requirements(slug, label), only=only or None)
    controls, target_set = _targets(ctx, target)
    progress = EmbeddingProgress()
    embedder = None if lexical_only else make_embedder(ctx.engine, ctx.settings, progress)
    org_name = None if "@" in target else target
    mapper = learned_mapper(ctx.engine, org_name, controls, embedder, target_set=target_set, query_set=source)
    rankings = mapper.rank(queries, top_k=top_k)
    progress.close()
    if "@" in target:  # what the publisher itself names in the target publication comes first
        from tracker.mapping.crosswalks.declared import lead_with_declared

        named = [
            s.mapping
            for s in MappingStore(ctx.engine).mappings(
                None, source_set=source, target_set=target.split("@")[0]
            )
            if s.mapping.provenance is Provenance.PUBLISHER
        ]
        rankings = lead_with_declared(rankings, named, controls)
    saved = 0
    if save_min is not None:
        proposals = [
            m
            for r in rankings
            for m in r.as_mappings(min_score=save_min, source_set=source, target_set=target_set)
        ]
        saved = MappingStore(ctx.engine).add_mappings(org_name, proposals, "tracker map")
    data = {"from": source, "to": target, "mappings": [r.to_dict() for r in rankings], "saved": saved}
    if fmt == "json":
        emit_json(data)
        return
    rows = [
        (
            r.requirement_id,
            c.control_id,
            f"{c.score:.2f}",
            c.relationship.value,
            "named by the publisher" if dict(c.signals).get("publisher") else _basis(c.reason),
        )
        for r in rankings
        for c in r.candidates[: min(3, top_k)]
    ]
    click.echo(table(rows, ["requirement", "control", "score", "relationship", "basis"]))
    if saved:
        click.echo(f"{saved} proposed mapping(s) stored for review")


@click.command("impact")
@click.argument("org_name", metavar="ORG")
@click.argument("source")
@click.argument("old")
@click.argument("new")
@click.option("--lexical-only", is_flag=True, help="skip the embedding model")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "oscal"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts, oscal for an OSCAL plan of action and milestones",
)
@click.pass_obj
def impact_command(
    ctx: Context, org_name: str, source: str, old: str, new: str, lexical_only: bool, fmt: str
) -> None:
    """Which of ORG's controls to reassess for the changes from OLD to NEW (stored for API and digests)."""
    from tracker.impact.model import Action
    from tracker.impact.service import compute_impact
    from tracker.wiring import make_embedder

    progress = EmbeddingProgress()
    embedder = None if lexical_only else make_embedder(ctx.engine, ctx.settings, progress)
    report = compute_impact(ctx.engine, org_name, source, old, new, embedder)
    progress.close()
    if fmt == "oscal":
        from tracker.impact.oscal_poam import write_poam

        click.echo(write_poam(report.result), nl=False)
        return
    if fmt == "json":
        emit_json(report.result.to_json())
        return
    lines = [
        f"{org_name}: {source} {old} -> {new}   "
        + ", ".join(f"{k} {v}" for k, v in report.result.summary.items())
    ]
    for item in report.result.items:
        if item.action is Action.NONE and not item.controls:
            continue
        change = item.change
        ids = " + ".join(change.old_ids) or "-"
        new_ids = " + ".join(change.new_ids) or "-"
        lines.append(
            f"\n{item.action.value.upper():9} {change.kind.value:9} {ids} -> {new_ids}: {item.reason}"
        )
        for control in item.controls[:8]:
            lines.append(
                f"    {control.action.value:9} {control.control_id:12} {control.score:.2f}  {control.reason}"
            )
    click.echo("\n".join(lines))


def register(group: click.Group) -> None:
    group.add_command(crosswalk)
    group.add_command(map_command)
    group.add_command(impact_command)
