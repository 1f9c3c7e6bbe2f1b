"""Text and HTML renderings of a :class:`~tracker.diff.types.DiffResult` for people."""

from __future__ import annotations

import html

from tracker.diff.types import KIND_ORDER, Change, DiffResult, Kind, Tag
from tracker.domain.redline import render_html as redline_html
from tracker.domain.redline import render_text as redline_text

_ARROW = " -> "


def _ids(change: Change) -> str:
    old = ", ".join(change.old_ids)
    new = ", ".join(change.new_ids)
    if old and new:
        return new if old == new else f"{old}{_ARROW}{new}"
    return old or new


def _verdict(change: Change) -> str:
    if change.substantive is None:
        return ""
    return "substantive" if change.substantive else "editorial"


def render_text(result: DiffResult, *, include_unchanged: bool = False) -> str:
    """A plain-text report: header, summary, then one block per change (unchanged hidden by default)."""
    versions = f"{result.old_version or '(old)'}{_ARROW}{result.new_version or '(new)'}"
    lines = [
        f"{result.source or '(source)'}: {versions}",
        f"engine {result.engine_version}, model {result.model_id or 'none (lexical only)'}",
        "summary: " + ", ".join(f"{k} {v}" for k, v in result.summary.items()),
        *([f"scope: {result.scope}"] if result.scope else []),
        "",
    ]
    for change in result.changes:
        if change.kind is Kind.UNCHANGED and not include_unchanged:
            continue
        head = f"{change.kind.value.upper():9} {_ids(change)}"
        extra = [x for x in (_verdict(change), ", ".join(t.value for t in change.tags)) if x]
        if extra:
            head += "  [" + "; ".join(extra) + "]"
        head += f"  (confidence {change.confidence:.2f})"
        lines.append(head)
        lines.extend(f"    - {reason}" for reason in change.reasons)
        lines.extend(
            f"    ? {s.old_id} -> {s.new_id} (suggested successor, score {s.score:.2f}: {s.reason})"
            for s in change.suggestions
        )
        for name, red in change.redlines:
            lines.append(f"    {name}: {redline_text(red)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:auto}"
    "del{background:#fdd;text-decoration:line-through}ins{background:#dfd;text-decoration:none}"
    ".change{border-top:1px solid #ccc;padding:.5rem 0}.group{opacity:.7}"
    ".kind{font-weight:bold;text-transform:uppercase}.redline{white-space:pre-wrap}"
)


def render_html(result: DiffResult, *, include_unchanged: bool = False) -> str:
    """A self-contained HTML page; every text from the documents is escaped."""
    e = html.escape
    title = f"{result.source} {result.old_version} -> {result.new_version}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>engine {e(result.engine_version)}, model {e(result.model_id or 'none (lexical only)')}</p>",
        "<table><tr>" + "".join(f"<th>{e(k.value)}</th>" for k in KIND_ORDER) + "</tr><tr>",
        "".join(f"<td>{result.summary[k.value]}</td>" for k in KIND_ORDER) + "</tr></table>",
        *([f'<p class="scope">{e(result.scope)}</p>'] if result.scope else []),
    ]
    for change in result.changes:
        if change.kind is Kind.UNCHANGED and not include_unchanged:
            continue
        css = "change group" if Tag.GROUP in change.tags else "change"
        out.append(f'<section class="{css}" data-kind="{e(change.kind.value)}">')
        verdict = _verdict(change)
        tags = " ".join(f'<span class="tag">{e(t.value)}</span>' for t in change.tags)
        out.append(
            f'<p><span class="kind">{e(change.kind.value)}</span> {e(_ids(change))}'
            + (f" <em>{e(verdict)}</em>" if verdict else "")
            + (f" {tags}" if tags else "")
            + f" <small>confidence {change.confidence:.2f}</small></p>"
        )
        if change.reasons:
            out.append("<ul>" + "".join(f"<li>{e(r)}</li>" for r in change.reasons) + "</ul>")
        if change.suggestions:
            items = "".join(
                f"<li>{e(s.old_id)} &rarr; {e(s.new_id)} "
                f"<small>score {s.score:.2f}: {e(s.reason)}</small></li>"
                for s in change.suggestions
            )
            out.append(f'<p>Suggested successors, to confirm:</p><ul class="suggestions">{items}</ul>')
        for name, red in change.redlines:
            out.append(f'<p class="redline"><b>{e(name)}</b>: {redline_html(red)}</p>')
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
