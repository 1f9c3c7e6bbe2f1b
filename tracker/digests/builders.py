"""Pure builders: Atom XML out (emails: :mod:`tracker.digests.mail`; webhooks:
:mod:`tracker.digests.webhooks`).

Nothing here touches the database or the network, so every rendering is a function of the
stored snapshot and can be tested (and re-rendered) exactly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tracker.digests.model import FeedMeta

Payload = Mapping[str, Any]


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
