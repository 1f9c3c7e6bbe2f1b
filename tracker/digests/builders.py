"""Pure builders: event payloads in, email messages and Atom XML out (webhooks:
:mod:`tracker.digests.webhooks`).

Nothing here touches the database or the network, so every rendering is a function of the
stored snapshot and can be tested (and re-rendered) exactly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tracker.digests.model import FeedMeta
from tracker.domain.redline import DELETE, INSERT, parse_text

Payload = Mapping[str, Any]
DEL_STYLE = "background:#fde2e2;color:#8a1c1c;text-decoration:line-through"
INS_STYLE = "background:#dff5e1;color:#14532d;text-decoration:underline"


# Publisher text (requirement ids and titles) reaches email headers and Atom XML verbatim.
# A header line must not hold CR or LF (a second header could be smuggled in) nor other
# control characters; XML 1.0 cannot carry most C0 controls, lone surrogates or U+FFFE/FFFF
# at all, escaped or not. Such characters are replaced (headers) or dropped (XML).
_NOT_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")
_NOT_IN_XML = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def header_text(text: str) -> str:
    """``text`` made safe for one email header line: control characters become one space."""
    return " ".join(_NOT_IN_HEADER.sub(" ", text).split())


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot represent (escape it afterwards)."""
    return _NOT_IN_XML.sub("", text)


def _x(text: str) -> str:
    return escape(xml_text(text))


def _ids(change: Payload) -> str:
    old, new = list(change.get("old_ids") or ()), list(change.get("new_ids") or ())
    if old and new and old != new:
        return f"{', '.join(old)} → {', '.join(new)}"
    return ", ".join(new or old) or "?"


def verdict(change: Payload) -> str:
    """``modified, substantive (obligation_strengthened)`` and the like."""
    parts = [str(change.get("kind", ""))]
    if change.get("substantive") is True:
        parts[0] += ", substantive"
    elif change.get("substantive") is False:
        parts[0] += ", editorial"
    tags = change.get("tags") or ()
    return parts[0] + (f" ({', '.join(tags)})" if tags else "")


def event_title(event: Payload) -> str:
    """``demo-std v1 → v2: R-1, R-4 changed; 2 controls affected`` (first five ids named)."""
    changes = event.get("changes") or ()
    ids = list(dict.fromkeys(i for c in changes for i in (c.get("new_ids") or c.get("old_ids") or ())))
    named = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
    controls = len(event.get("affected_controls") or ())
    pair = f"{event['source']} {event['old_version']} → {event['new_version']}"
    plural = "s" if controls != 1 else ""
    return f"{pair}: {named or 'requirements'} changed; {controls} control{plural} affected"


def redline_html(text: str) -> str:
    """A ``[-old-]{+new+}`` redline as HTML with inline styles (mail clients drop <style>)."""
    parts = []
    for op, piece in parse_text(text).ops:
        escaped = html.escape(piece)
        if op == DELETE:
            parts.append(f'<del style="{DEL_STYLE}">{escaped}</del>')
        elif op == INSERT:
            parts.append(f'<ins style="{INS_STYLE}">{escaped}</ins>')
        else:
            parts.append(escaped)
    return "".join(parts)


GUIDANCE_GROUP = "Guidance only: what is required did not change"


def _grouped(event: Payload) -> list[tuple[str, list[Payload]]]:
    """Changes in digest order: those that touch what is required first, then, in a group of
    their own, changes confined to guidance (discussion, examples, references)."""
    changes = list(event.get("changes") or ())
    guidance = [c for c in changes if "guidance_only" in (c.get("tags") or ())]
    binding = [c for c in changes if "guidance_only" not in (c.get("tags") or ())]
    return [(group, items) for group, items in (("", binding), (GUIDANCE_GROUP, guidance)) if items]


def event_html(event: Payload) -> str:
    """One event as an HTML fragment: each change with its redline and affected controls."""
    out = [f"<h2>{html.escape(event_title(event))}</h2>"]
    for group, changes in _grouped(event):
        if group:
            out.append(f"<h3>{html.escape(group)}</h3>")
        for change in changes:
            out.extend(_change_html(change))
    return "\n".join(out)


def _change_html(change: Payload) -> list[str]:
    out = []
    title = f" {html.escape(change['title'])}" if change.get("title") else ""
    out.append(f"<h3>{html.escape(_ids(change))}{title}</h3>")
    out.append(f"<p><em>{html.escape(verdict(change))}</em></p>")
    for field, text in (change.get("redline") or {}).items():
        out.append(f"<p><strong>{html.escape(field)}:</strong> {redline_html(text)}</p>")
    controls = change.get("controls") or ()
    if controls:
        out.append("<ul>")
        for c in controls:
            name = html.escape(c.get("control_id") or "(no control)")
            label = f" {html.escape(c['title'])}" if c.get("title") else ""
            reason = f": {html.escape(c['reason'])}" if c.get("reason") else ""
            out.append(f"<li><strong>{html.escape(c['action'])}</strong> {name}{label}{reason}</li>")
        out.append("</ul>")
    return out


def event_text(event: Payload) -> str:
    """The same content as plain text, redlines in wdiff style."""
    lines = [event_title(event), "=" * min(len(event_title(event)), 78)]
    for group, changes in _grouped(event):
        if group:
            lines += ["", f"-- {group} --"]
        for change in changes:
            lines += ["", f"* {_ids(change)} {change.get('title') or ''}".rstrip(), f"  {verdict(change)}"]
            for field, text in (change.get("redline") or {}).items():
                lines.append(f"  {field}: {text}")
            for c in change.get("controls") or ():
                reason = f": {c['reason']}" if c.get("reason") else ""
                lines.append(f"  - {c['action']} {c.get('control_id') or '(no control)'}{reason}")
    return "\n".join(lines)


def build_email(
    events: Sequence[Payload],
    *,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
    links: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative digest: plain text first, then HTML with inline redlines."""
    if not events:
        raise ValueError("a digest needs at least one event")
    org = events[0].get("organisation", "")
    subject = event_title(events[0]) if len(events) == 1 else f"{len(events)} standards changed for {org}"
    msg = EmailMessage()
    msg["Subject"] = header_text(f"[tracker] {subject}")
    msg["From"] = header_text(sender)
    msg["To"] = header_text(", ".join(recipients))
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    footer = "".join(f"\n{k}: {v}" for k, v in (links or {}).items())
    msg.set_content("\n\n".join(event_text(e) for e in events) + ("\n\n--" + footer if footer else "") + "\n")
    html_footer = "".join(
        f'<p><a href="{html.escape(v, quote=True)}">{html.escape(k)}</a></p>'
        for k, v in (links or {}).items()
    )
    body = "\n<hr>\n".join(event_html(e) for e in events)
    msg.add_alternative(
        f'<!doctype html><html><body style="font-family:sans-serif">{body}{html_footer}</body></html>\n',
        subtype="html",
    )
    return msg


# -- Atom ------------------------------------------------------------------------------------
def tag_uri(authority: str, day: datetime, specific: str) -> str:
    """An RFC 4151 tag: URI; stable for as long as authority, date and specific part are."""
    return f"tag:{authority},{day.date().isoformat()}:{specific}"


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def atom_entry(
    entry_id: str,
    title: str,
    updated: datetime,
    published: datetime,
    link: str,
    content_html: str,
    summary: str,
) -> str:
    return (
        "<entry>"
        f"<id>{_x(entry_id)}</id>"
        f"<title>{_x(title)}</title>"
        f"<updated>{_rfc3339(updated)}</updated>"
        f"<published>{_rfc3339(published)}</published>"
        + (f'<link rel="alternate" href={quoteattr(xml_text(link))}/>' if link else "")
        + f"<summary>{_x(summary)}</summary>"
        f'<content type="html">{_x(content_html)}</content>'
        "</entry>"
    )


def atom_feed(meta: FeedMeta, entries: Sequence[str]) -> bytes:
    """A complete Atom 1.0 document from pre-rendered, immutable entries (newest first)."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{_x(meta.feed_id)}</id>"
        f"<title>{_x(meta.title)}</title>"
        f"<updated>{_rfc3339(meta.updated)}</updated>"
        f"<author><name>{_x(meta.author)}</name></author>"
        f'<link rel="self" type="application/atom+xml" href={quoteattr(meta.self_url)}/>'
    )
    return (head + "".join(entries) + "</feed>\n").encode("utf-8")
