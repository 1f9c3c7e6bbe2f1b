"""The digest email: a briefing a compliance lead can act on, within a size cap.

Layout (HTML with inline styles, as mail clients drop ``<style>``; plain text alongside):
the pair and the counts per action, the ten most important items, then every item grouped
by action (gaps with the text of the new requirement and the controls suggested above the
floor, reassessments with their redline and mapped controls, retirements and editorial
changes one line each). Every link leads to the review page, readable without a key.

Gmail clips a message whose HTML passes about 102 kB, hiding the rest behind a link; a long
message is not read anyway. So the detail is cut to fit :data:`MAX_EMAIL_BYTES` for the
whole message as sent (both parts, headers, encoding), and each group that was cut says how
many more it holds and links to the review page. The counts and the top items are never cut.

Headers for mail systems: ``List-Id``, ``List-Unsubscribe`` (the signed link, see
:mod:`tracker.digests.unsubscribe`) with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058; only with an https link, as that RFC requires), ``Auto-Submitted:
auto-generated`` (RFC 3834: no auto-replies), and a ``Message-ID`` under the operator's
domain.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from tracker.digests.briefing import ACTIONS, Briefing, Item, count_words, detail, heading, summary_text
from tracker.digests.builders import header_text
from tracker.domain.redline import DELETE, parse_text, render_html

MAX_EMAIL_BYTES = 64 * 1024
CONTROLS_SHOWN = 6
TEXT_CHARS = 420
TOP_CHARS = 44

# inline styles, kept short: they repeat on every item
_BODY = "margin:0;padding:0;background:#f4f5f7"
_WRAP = (
    "max-width:680px;margin:0 auto;padding:14px 12px;background:#fff;color:#1f2328;"
    "font:15px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
)
_MUTED = "color:#57606a"
_SMALL = "font-size:13px;color:#57606a"
_LINK = "color:#0b57d0"
_H2 = "font-size:17px;margin:22px 0 4px;border-bottom:1px solid #d0d7de;padding-bottom:4px"
_ITEM = "margin:10px 0 0;padding:8px 0 0;border-top:1px solid #eaeef2"
_QUOTE = "margin:4px 0;padding:4px 10px;border-left:3px solid #d0d7de;color:#1f2328"
_BUTTON = (
    "display:inline-block;background:#0b57d0;color:#fff;text-decoration:none;"
    "padding:8px 14px;border-radius:6px;font-weight:600"
)
DEL_STYLE = "background:#fde2e2;color:#8a1c1c;text-decoration:line-through"
INS_STYLE = "background:#dff5e1;color:#14532d;text-decoration:underline"
COLOURS = {"gap": "#b3261e", "reassess": "#9a6700", "retire": "#57606a", "none": "#57606a"}

_NOT_IN_LIST_ID = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Mailing:
    """What the email says about its own list: where to read, how to leave, what it is."""

    review_note: str  # who receives it and why, for the footer
    list_id: str  # ``<label.domain>`` (RFC 2919)
    list_name: str
    unsubscribe_url: str


def list_id(subscription_id: int, organisation: str, domain: str) -> str:
    """``<subscription-7.acme.tracker.example.org>``: one list per subscription."""
    org = _NOT_IN_LIST_ID.sub("-", organisation.lower()).strip("-") or "org"
    return f"<subscription-{subscription_id}.{org}.{domain}>"


def clip(text: str, limit: int) -> str:
    """``text`` cut at a word boundary before ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(",;:.") + " …"


def redline_html(text: str, limit: int = TEXT_CHARS) -> str:
    """A ``[-old-]{+new+}`` redline as inline-styled HTML, cut after ``limit`` characters."""
    return render_html(parse_text(text), limit=limit, del_style=DEL_STYLE, ins_style=INS_STYLE)


def _a(url: str, label: str, style: str = _LINK) -> str:
    return f'<a href="{html.escape(url, quote=True)}" style="{style}">{html.escape(label)}</a>'


def _badge(action: str) -> str:
    colour = COLOURS.get(action, "#57606a")
    label = {"gap": "GAP", "reassess": "REASSESS", "retire": "RETIRE", "none": "NO ACTION"}.get(
        action, action
    )
    return (
        f'<span style="font-size:10px;font-weight:700;color:{colour};letter-spacing:.03em">'
        f"{html.escape(label.upper())}</span>"
    )


def _label(item: Item) -> str:
    """What names an item beside its identifier: its title, else the start of its text."""
    return item.title or item.text or next((t for f, t in item.redline if f == "statement"), "")


def _plain_label(item: Item) -> str:
    return "".join(piece for op, piece in parse_text(_label(item)).ops if op != DELETE)


def _controls_line(item: Item) -> str:
    shown = item.controls[:CONTROLS_SHOWN]
    more = len(item.controls) - len(shown)
    if item.action == "gap":
        if not shown:
            return "No suggestion scores high enough to name; candidates are on the review page."
        names = ", ".join(f"{c.control_id} {c.title} ({c.score:.2f})" for c in shown)
        return f"Could be covered by: {names}"
    names = ", ".join(f"{c.control_id} {c.title}".strip() for c in shown)
    verb = {"reassess": "Reassess", "retire": "Mappings to retire"}.get(item.action, "Controls")
    return f"{verb}: {names}" + (f" and {more} more" if more > 0 else "") if shown else ""


# -- HTML --------------------------------------------------------------------------------------
def _counts_html(b: Briefing) -> str:
    cells = []
    for action, n in b.counts:
        colour = COLOURS.get(action, "#57606a")
        word = count_words(action, n).split(" ", 1)[1]
        cells.append(
            f'<span style="white-space:nowrap"><strong style="font-size:19px;color:{colour}">{n}</strong> '
            f"{html.escape(word)}</span>"
        )
    return '<p style="margin:8px 0 4px">' + ' <span style="color:#8c959f">·</span> '.join(cells) + "</p>"


def more(action: str, n: int) -> str:
    """``48 more gaps``, ``31 more to reassess``."""
    number, _, words = count_words(action, n).partition(" ")
    return f"{number} more {'with ' if action == 'none' else ''}{words}"


def _controls_count(item: Item) -> str:
    n = len(item.controls)
    if not n:
        return ""
    noun = "candidate" if item.action == "gap" else "control"
    return f" · {n} {noun}{'s' if n != 1 else ''}"


def _top_html(b: Briefing) -> str:
    if not b.top:
        return ""
    rows = []
    for item in b.top:
        label = clip(_plain_label(item), TOP_CHARS)
        rows.append(
            f'<li style="margin:0 0 5px">{_badge(item.action)} {_a(item.link, item.ids)} '
            f"{html.escape(label)} "
            f'<span style="{_SMALL}">· {html.escape(item.what)}{_controls_count(item)}</span></li>'
        )
    return (
        f'<h2 style="{_H2};margin-top:14px">Most important</h2>'
        f'<ol style="margin:6px 0 0;padding-left:20px;font-size:14px;line-height:1.4">{"".join(rows)}</ol>'
    )


def _item_html(item: Item) -> str:
    name = f"<strong>{_a(item.link, item.ids)}</strong>" + (
        f" {html.escape(item.title)}" if item.title else ""
    )
    what = f'<span style="{_SMALL}">· {html.escape(item.what)}</span>'
    line = _controls_line(item)
    if item.action in ("retire", "none"):  # one line each: there is nothing to read but the ids
        extra = f' <span style="{_SMALL}">· {html.escape(line)}</span>' if line else ""
        return f'<p style="margin:4px 0">{name} {what}{extra}</p>'
    body = ""
    if item.text:
        body += f'<p style="{_QUOTE}">{html.escape(clip(item.text, TEXT_CHARS))}</p>'
    for field, text in item.redline:
        if field in ("statement", "title") or not body:
            label = f'<span style="{_SMALL}">{html.escape(field)}:</span>'
            body += f'<p style="{_QUOTE}">{label} {redline_html(text)}</p>'
    if line:
        body += f'<p style="margin:4px 0;{_SMALL}">{html.escape(line)}</p>'
    return f'<div style="{_ITEM}"><p style="margin:0">{name} {what}</p>{body}</div>'


def _groups_html(b: Briefing, budget: int) -> tuple[str, int]:
    """The grouped detail with at most ``budget`` items; returns the HTML and items used."""
    out, used = [], 0
    for action, items, shown in detail(b, budget):
        title, ask = heading(action)
        used += len(shown)
        out.append(f'<h2 style="{_H2}">{html.escape(title)} ({len(items)})</h2>')
        out.append(f'<p style="margin:0 0 4px;{_SMALL}">{html.escape(ask)}</p>')
        out.extend(_item_html(i) for i in shown)
        if len(shown) < len(items):
            rest = len(items) - len(shown)
            out.append(
                f'<p style="margin:8px 0">{html.escape(more(action, rest))} not shown here: '
                f"{_a(b.review_url, f'see all {b.total} on the review page')}</p>"
            )
    return "".join(out), used


def briefing_html(b: Briefing, budget: int) -> str:
    """One briefing as an HTML fragment with at most ``budget`` items in the grouped detail."""
    intro = f"For {html.escape(b.organisation)}"
    controls = f"; {b.controls} of your controls affected" if b.controls else ""
    groups, _ = _groups_html(b, budget)
    return (
        f'<h1 style="font-size:20px;line-height:1.25;margin:0 0 4px">{html.escape(b.pair)}</h1>'
        f'<p style="margin:0;{_SMALL}">{intro}: {b.total} changed requirement'
        f"{'s' if b.total != 1 else ''}{controls}. {_a(b.review_url, 'Open the review page')}</p>"
        + _counts_html(b)
        + _top_html(b)
        + f'<p style="margin:14px 0 0">{_a(b.review_url, "Review every change", _BUTTON)}</p>'
        + groups
    )


def _footer_html(m: Mailing) -> str:
    return (
        f'<p style="margin:24px 0 0;{_SMALL}">{html.escape(m.review_note)} '
        f"{_a(m.unsubscribe_url, 'Unsubscribe from these emails')}.</p>"
    )


def document_html(briefings: Sequence[Briefing], mailing: Mailing, budget: int) -> str:
    preview = " ".join(summary_text(b, top=3) for b in briefings)
    parts, left = [], budget
    for b in briefings:
        _, used = _groups_html(b, left)
        parts.append(briefing_html(b, left))
        left -= used
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(briefings[0].pair)}</title></head>"
        f'<body style="{_BODY}"><div style="display:none;max-height:0;overflow:hidden">'
        f"{html.escape(clip(preview, 180))}</div>"
        f'<div style="{_WRAP}">'
        + '<hr style="border:0;border-top:2px solid #d0d7de;margin:24px 0">'.join(parts)
        + _footer_html(mailing)
        + "</div></body></html>\n"
    )


# -- plain text --------------------------------------------------------------------------------
def _item_text(item: Item) -> list[str]:
    lines = [f"* {item.ids} {item.title}".rstrip() + f" ({item.what})", f"  {item.link}"]
    if item.action not in ("retire", "none"):
        if item.text:
            lines.append(f"  {clip(item.text, TEXT_CHARS)}")
        for field, text in item.redline:
            if field in ("statement", "title") or not item.text:
                lines.append(f"  {field}: {clip(text, TEXT_CHARS)}")
    line = _controls_line(item)
    if line:
        lines.append(f"  {line}")
    return lines


def briefing_text(b: Briefing, budget: int) -> str:
    lines = [b.pair, "=" * min(len(b.pair), 78), f"For {b.organisation}: {b.count_line()}."]
    if b.controls:
        lines.append(f"{b.controls} of your controls affected.")
    lines += [f"Review page: {b.review_url}", "", "Most important:"]
    for n, item in enumerate(b.top, 1):
        lines.append(
            f"{n:2}. {item.action.upper():9} {item.ids} {clip(_plain_label(item), 60)} ({item.what})"
        )
    for action, items, shown in detail(b, budget):
        title, ask = heading(action)
        lines += ["", f"-- {title} ({len(items)}) --", ask]
        for item in shown:
            lines += _item_text(item)
        if len(shown) < len(items):
            rest = more(action, len(items) - len(shown))
            lines.append(f"{rest} not shown here: see all {b.total} on {b.review_url}")
    return "\n".join(lines)


def document_text(briefings: Sequence[Briefing], mailing: Mailing, budget: int) -> str:
    parts, left = [], budget
    for b in briefings:
        parts.append(briefing_text(b, left))
        left -= min(left, sum(len(items) for _, items in b.groups))
    footer = f"\n\n--\n{mailing.review_note}\nUnsubscribe: {mailing.unsubscribe_url}\n"
    return "\n\n\n".join(parts) + footer


# -- the message -------------------------------------------------------------------------------
def subject(briefings: Sequence[Briefing]) -> str:
    """``[tracker] NIST Cybersecurity Framework 1.1 → 2.0: 62 gaps, 44 to reassess, ...``"""
    if len(briefings) == 1:
        return f"[tracker] {briefings[0].pair}: {briefings[0].count_line()}"
    totals: dict[str, int] = {}
    for b in briefings:
        for action, n in b.counts:
            totals[action] = totals.get(action, 0) + n
    order = [a for a, _, _ in ACTIONS] + sorted(set(totals) - {a for a, _, _ in ACTIONS})
    counts = ", ".join(count_words(a, totals[a]) for a in order if a in totals)
    return f"[tracker] {len(briefings)} standards changed for {briefings[0].organisation}: {counts}"


def _wire_size(msg: EmailMessage) -> int:
    """The message's size as SMTP carries it (CRLF line ends)."""
    return len(msg.as_bytes(policy=SMTP))


def build_email(
    briefings: Sequence[Briefing],
    mailing: Mailing,
    *,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
    max_bytes: int = MAX_EMAIL_BYTES,
) -> EmailMessage:
    """The multipart/alternative digest (plain text, then HTML), its detail cut to fit
    ``max_bytes`` as sent; the counts and top items always stay."""
    if not briefings:
        raise ValueError("a digest needs at least one event")

    def render(budget: int) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = header_text(subject(briefings))
        msg["From"] = header_text(sender)
        msg["To"] = header_text(", ".join(recipients))
        msg["Date"] = format_datetime(date)
        msg["Message-ID"] = message_id
        msg["List-Id"] = header_text(f"{mailing.list_name} {mailing.list_id}")
        msg["List-Unsubscribe"] = f"<{mailing.unsubscribe_url}>"
        if mailing.unsubscribe_url.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(document_text(briefings, mailing, budget))
        msg.add_alternative(document_html(briefings, mailing, budget), subtype="html")
        return msg

    # the largest detail that fits: sizes grow with the budget, so bisect on it
    low, high = 0, sum(len(items) for b in briefings for _, items in b.groups)
    best = render(high)
    if _wire_size(best) <= max_bytes:
        return best
    best = render(0)
    while low < high:
        mid = (low + high + 1) // 2
        candidate = render(mid)
        if _wire_size(candidate) <= max_bytes:
            low, best = mid, candidate
        else:
            high = mid - 1
    return best


# -- Atom --------------------------------------------------------------------------------------
MAX_FEED_ENTRY_BYTES = 16 * 1024


def feed_html(briefing: Briefing, max_bytes: int = MAX_FEED_ENTRY_BYTES) -> str:
    """An Atom entry's content: the same briefing, its detail cut to ``max_bytes`` (a feed of
    a hundred entries is fetched whole, every time a reader polls it)."""
    low, high = 0, sum(len(items) for _, items in briefing.groups)
    if len(briefing_html(briefing, high).encode()) <= max_bytes:
        return briefing_html(briefing, high)
    while low < high:
        mid = (low + high + 1) // 2
        if len(briefing_html(briefing, mid).encode()) <= max_bytes:
            low = mid
        else:
            high = mid - 1
    return briefing_html(briefing, low)
