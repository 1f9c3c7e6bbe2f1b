"""Archive commands: ingest, ingest-corpus, sources, versions, show."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from tracker.cli.context import Context
from tracker.cli.output import FORMAT_OPTION, emit, progress, table
from tracker.domain.model import Lifecycle, Requirement, Source, Version, VersionRole
from tracker.sources.ingest import CorpusEntry, corpus_entries, ingest_files


def _req_dict(req: Requirement, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": req.ident,
        "key": req.key,
        "kind": req.kind,
        "title": req.title,
        "parent": req.parent,
        "withdrawn": req.withdrawn,
    }
    if req.successors:
        data["successors"] = list(req.successors)
    if full:
        data.update(
            statement=req.statement,
            guidance=req.guidance,
            links=[
                {
                    "relation": link.relation,
                    "target": link.target,
                    **({"source": link.source} if link.source else {}),
                }
                for link in req.links
            ],
            params=[{"id": p, "text": t} for p, t in req.params],
            obligations=[
                {"modal": o.modal, "strength": o.strength.name.lower(), "negated": o.negated}
                for o in req.obligations
            ],
            properties=dict(req.properties),
        )
    return data


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", "slug", required=True, help="source slug, e.g. nist-sp-800-53")
@click.option("--version", "label", required=True, help="version label, e.g. rev5")
@click.option("--title", default="", help="source title (kept from earlier ingests if omitted)")
@click.option(
    "--status",
    type=click.Choice([s.value for s in Lifecycle]),
    default=None,
    help="lifecycle status (guessed from the label if omitted)",
)
@click.option("--published", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option(
    "--parser",
    "parser_name",
    default=None,
    help="read the files with this parser (e.g. html-outline, eurlex-html) instead of detecting it",
)
@FORMAT_OPTION
@click.pass_obj
def ingest(
    ctx: Context,
    paths: tuple[Path, ...],
    slug: str,
    label: str,
    title: str,
    status: str | None,
    published: Any,
    parser_name: str | None,
    fmt: str,
) -> None:
    """Archive the files (or folders of files) of one version of a source."""
    result = ingest_files(
        ctx.archive,
        Source(slug=slug, title=title),
        label,
        list(paths),
        max_bytes=ctx.settings.max_document_bytes,
        status=Lifecycle(status) if status else None,
        published=published.date() if published else None,
        parser=parser_name,
    )
    data = result.to_dict()
    emit(
        fmt,
        data,
        lambda: (
            f"{'archived' if result.created else 'already archived'}: {slug} {label} "
            f"({data['requirements']} requirements, parser {data['parser']})"
        ),
    )


@click.command("ingest-corpus")
@click.argument("root", required=False, type=click.Path(path_type=Path))
@click.option("--no-diff", is_flag=True, help="archive only; leave the timelines' diffs for later")
@click.option("--lexical-only", is_flag=True, help="diff without the embedding model (faster)")
@FORMAT_OPTION
@click.pass_obj
def ingest_corpus(ctx: Context, root: Path | None, no_diff: bool, lexical_only: bool, fmt: str) -> None:
    """Archive every <source>/<version>/ folder under ROOT (default: TRACKER_CORPUS_DIR), then
    diff each source's consecutive editions not diffed yet, so every timeline is filled in."""
    started = time.perf_counter()
    root = root or ctx.settings.corpus_dir
    entries = corpus_entries(root)
    results = []

    def show(entry: CorpusEntry | None) -> str:
        return f"{entry.source.slug} {entry.label}" if entry else ""

    with progress(fmt, entries, "ingesting", show) as bar:
        for entry in bar:
            results.append(
                ingest_files(
                    ctx.archive,
                    entry.source,
                    entry.label,
                    [entry.folder],
                    max_bytes=ctx.settings.max_document_bytes,
                    published=entry.published,
                    ordinal=entry.ordinal,
                ).to_dict()
            )
    created = sum(1 for r in results if r["created"])
    diffed = 0 if no_diff else _fill_timelines(ctx, [r["source"] for r in results], lexical_only)
    seconds = round(time.perf_counter() - started, 1)
    data = {
        "root": str(root),
        "versions": len(results),
        "created": created,
        "diffed": diffed,
        "seconds": seconds,
        "results": results,
    }
    emit(
        fmt,
        data,
        lambda: (
            table(
                [
                    (
                        r["source"],
                        r["version"],
                        _place(r),
                        r["requirements"],
                        "new" if r["created"] else "unchanged",
                    )
                    for r in results
                ],
                ["source", "version", "role", "requirements", "result"],
            )
            + f"\n{created} new version(s), {len(results) - created} already archived, "
            f"{diffed} timeline step(s) diffed, in {seconds} s"
        ),
    )


def _place(r: dict[str, Any]) -> str:
    if r["role"] == "rendition":
        return f"rendition of {r['rendition_of']}"
    return str(r["role"]) + (" (partial)" if r["partial"] else "")


def _fill_timelines(ctx: Context, slugs: list[str], lexical_only: bool) -> int:
    """Diff the consecutive editions of ``slugs`` that have no stored diff, one progress line
    (on stderr) per step."""
    from tracker.pipeline import diff_steps, undiffed_steps
    from tracker.wiring import make_embedder

    use_model = ctx.settings.use_model and not lexical_only
    embedder = make_embedder(ctx.engine, ctx.settings) if use_model else None
    steps = undiffed_steps(ctx.archive, dict.fromkeys(slugs), embedder.model_id if embedder else None)
    counter = iter(range(1, len(steps) + 1))

    def line(step: Any) -> None:
        click.echo(f"diffing {step.source} {step.old} -> {step.new} ({next(counter)}/{len(steps)})", err=True)

    return diff_steps(ctx.archive, steps, embedder, line)


@click.command()
@FORMAT_OPTION
@click.pass_obj
def sources(ctx: Context, fmt: str) -> None:
    """List archived sources."""
    rows = ctx.archive.sources()
    data = [{"slug": s.slug, "title": s.title, "publisher": s.publisher, "versions": n} for s, n in rows]
    emit(
        fmt,
        data,
        lambda: table(
            [(d["slug"], d["versions"], d["title"]) for d in data], ["source", "versions", "title"]
        ),
    )


def _version_dict(v: Version) -> dict[str, Any]:
    return {
        "version": v.label,
        "role": str(v.role),
        "status": str(v.status),
        "published": v.published,
        "observed_at": v.observed_at,
        "requirements": v.requirement_count,
        "content_hash": v.content_hash,
        "parser": v.parser,
        "parser_version": v.parser_version,
        "revision": v.revision or None,
        "partial": v.partial or None,
        "artefacts": [{"filename": a.filename, "sha256": a.sha256, "size": a.size} for a in v.artefacts],
    }


@click.command()
@click.argument("slug")
@FORMAT_OPTION
@click.pass_obj
def versions(ctx: Context, slug: str, fmt: str) -> None:
    """List the versions of a source, oldest first, each with its renditions (the same text in
    other formats); companion documents are listed with their role."""
    found = ctx.archive.versions(slug)
    renditions: dict[str, list[Version]] = {}
    for v in found:
        if v.role is VersionRole.RENDITION:
            renditions.setdefault(v.rendition_of, []).append(v)
    data = []
    for v in found:
        if v.role is VersionRole.RENDITION:
            continue
        entry = _version_dict(v)
        entry["renditions"] = [
            {"label": r.label, "format": r.parser, "requirements": r.requirement_count}
            for r in (v, *renditions.get(v.label, ()))
        ]
        data.append(entry)

    def text() -> str:
        rows = []
        for d in data:
            forms = ", ".join(
                f"{r['format']}" if r["label"] == d["version"] else f"{r['format']} ({r['label']})"
                for r in d["renditions"]
            )
            role = "" if d["role"] == "edition" else d["role"]
            rows.append((d["version"], role, d["status"], d["published"] or "", d["requirements"], forms))
        notes = [f"{d['version']} is partial: {d['partial']}" for d in data if d["partial"]]
        return "\n".join(
            [table(rows, ["version", "role", "status", "published", "requirements", "renditions"]), *notes]
        )

    emit(fmt, data, text)


@click.command()
@click.argument("slug")
@click.argument("label")
@click.argument("ident", required=False)
@click.option("--profile", default=None, help="only the requirements a profile (baseline) selects")
@FORMAT_OPTION
@click.pass_obj
def show(ctx: Context, slug: str, label: str, ident: str | None, profile: str | None, fmt: str) -> None:
    """Show a version's requirements, or one requirement in full."""
    archive = ctx.archive
    if ident:
        req = archive.requirement(slug, label, ident)
        data = _req_dict(req, full=True)

        def text() -> str:
            lines = [f"{req.ident}  {req.title}".rstrip(), f"kind: {req.kind}   key: {req.key}"]
            if req.withdrawn:
                lines.append("withdrawn" + (f" -> {', '.join(req.successors)}" if req.successors else ""))
            if req.statement:
                lines += ["", req.statement]
            if req.guidance:
                lines += ["", "Guidance:", req.guidance]
            return "\n".join(lines)

        emit(fmt, data, text)
        return
    reqs = archive.requirements(slug, label)
    profiles = archive.profiles(slug, label)
    if profile:
        chosen = next((p for p in profiles if p.name.lower() == profile.lower()), None)
        if chosen is None:
            from tracker.domain.errors import NotFoundError

            names = ", ".join(p.name for p in profiles) or "none"
            raise NotFoundError(f"{slug} {label} has no profile {profile!r}", f"profiles: {names}")
        keep = set(chosen.keys)
        reqs = tuple(r for r in reqs if r.key in keep)
    version = archive.version(slug, label)
    data = {
        "source": slug,
        "version": label,
        "status": str(version.status),
        "published": version.published,
        "profiles": [{"name": p.name, "title": p.title, "size": len(p.keys)} for p in profiles],
        "requirements": [_req_dict(r) for r in reqs],
    }
    emit(
        fmt,
        data,
        lambda: table(
            [
                ("  " * r.depth + r.ident, r.kind, ("[withdrawn] " if r.withdrawn else "") + r.title[:70])
                for r in reqs
            ],
            ["id", "kind", "title"],
        ),
    )


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@FORMAT_OPTION
@click.pass_obj
def db_upgrade(ctx: Context, fmt: str) -> None:
    """Create or migrate the schema to the newest version."""
    engine = ctx.engine
    emit(
        fmt,
        {"database": engine.url.render_as_string(hide_password=True), "ok": True},
        lambda: "schema up to date",
    )


@db.command("stats")
@FORMAT_OPTION
@click.pass_obj
def db_stats(ctx: Context, fmt: str) -> None:
    """Counts of what is archived."""
    stats = ctx.archive.stats()
    emit(fmt, stats, lambda: "\n".join(f"{k}: {v}" for k, v in stats.items()))


def register(group: click.Group) -> None:
    for command in (ingest, ingest_corpus, sources, versions, show, db):
        group.add_command(command)
