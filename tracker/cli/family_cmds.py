"""`tracker family SOURCE@VERSION REQ`: the same provision in the documents written from one another."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit_json
from tracker.cli.progress import EmbeddingProgress
from tracker.domain.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:  # the mapper (scipy) loads when the command runs, not when the CLI starts
    from tracker.mapping.family import Counterpart, MemberMatches


def _relation(member: str, asked: str, ancestors: dict[str, set[str]]) -> str:
    if asked in ancestors[member]:
        return "written from it"
    if member in ancestors[asked]:
        return "its source"
    return "related"


def _line(c: Counterpart) -> str:
    text = textwrap.shorten(c.text, 90, placeholder=" ...")
    return f"    {c.requirement_id:10} {c.relationship.value:15} {c.score:.2f}  {text}"


@click.command("family")
@click.argument("source_version", metavar="SOURCE@VERSION")
@click.argument("requirement", metavar="REQ")
@click.option("--lexical-only", is_flag=True, help="skip the embedding model")
@FORMAT_OPTION
@click.pass_obj
def family(ctx: Context, source_version: str, requirement: str, lexical_only: bool, fmt: str) -> None:
    """Where REQ of SOURCE@VERSION stands in the documents of its family (newest version of each).

    The family is what the source registry declares with ``derived_from``: the UK Code of
    Practice, ETSI TS 104 223 written from it, EN 304 223 from the TS, and the NCSC
    guidelines the Code builds on. Counterparts are the calibrated equal/subset/superset matches.
    """
    from tracker.mapping.documents import queries_from_requirements
    from tracker.mapping.family import MemberMatches, counterparts
    from tracker.sources import registry as registry_mod
    from tracker.wiring import make_embedder

    if "@" not in source_version:
        raise InvalidInputError(
            f"{source_version!r} is not SOURCE@VERSION", "e.g. tracker family etsi-ts-104-223@V1.1.1 5.1-1"
        )
    slug, label = source_version.split("@", 1)
    registry = registry_mod.load(settings=ctx.settings)
    members = registry.family(slug)
    if len(members) < 2:
        raise InvalidInputError(
            f"{slug} has no family in {registry.path}",
            "declare derived_from = [SLUG] on the sources written from another one",
        )
    queries = queries_from_requirements(ctx.archive.requirements(slug, label), only=[requirement])
    if not queries:
        raise NotFoundError(
            f"{source_version} has no provision {requirement!r}",
            f"list them with `tracker show {slug} {label}`",
        )
    query = queries[0]
    ancestors: dict[str, set[str]] = {}
    for spec in members:  # ancestors first, so each member's are known when it is reached
        ancestors[spec.slug] = set(spec.derived_from).union(
            *(ancestors.get(p, set()) for p in spec.derived_from)
        )
    progress = EmbeddingProgress()
    embedder = None if lexical_only else make_embedder(ctx.engine, ctx.settings, progress)
    results: list[MemberMatches] = []
    missing: list[str] = []
    archived = {source.slug for source, _ in ctx.archive.sources()}
    for spec in members:
        if spec.slug == slug:
            continue
        versions = ctx.archive.versions(spec.slug) if spec.slug in archived else []
        if not versions:
            missing.append(spec.slug)
            continue
        newest = versions[-1]
        found, nearest = counterparts(query, ctx.archive.requirements(spec.slug, newest.label), embedder)
        results.append(
            MemberMatches(spec.slug, newest.label, _relation(spec.slug, slug, ancestors), found, nearest)
        )
    progress.close()
    if fmt == "json":
        emit_json(
            {
                "source": slug,
                "version": label,
                "requirement": query.id,
                "text": query.text,
                "members": [
                    {
                        "source": m.source,
                        "version": m.version,
                        "relation": m.relation,
                        "counterparts": [_json(c) for c in m.counterparts],
                        "nearest": _json(m.nearest) if m.nearest else None,
                    }
                    for m in results
                ],
                "not_archived": missing,
            }
        )
        return
    lines = [f"{slug} {label} {query.id}: {textwrap.shorten(query.text, 100, placeholder=' ...')}"]
    for m in results:
        lines.append(f"\n{m.source} {m.version} ({m.relation})")
        lines.extend(_line(c) for c in m.counterparts)
        if m.nearest is not None:
            lines.append("    no corresponding provision; nearest:")
            lines.append(_line(m.nearest))
        elif not m.counterparts:
            lines.append("    no provisions to compare (only groupings)")
    for name in missing:
        lines.append(f"\n{name}: no version archived yet")
    click.echo("\n".join(lines))


def _json(c: Counterpart) -> dict[str, object]:
    return {
        "requirement_id": c.requirement_id,
        "text": c.text,
        "score": c.score,
        "relationship": c.relationship.value,
    }


def register(group: click.Group) -> None:
    group.add_command(family)
