"""GOV.UK Content API JSON (``https://www.gov.uk/api/content/<base_path>``).

The API returns a content item with ``base_path``, ``title``, ``public_updated_at`` and, for
an HTML publication, the rendered govspeak in ``details.body``. The body is read with the
same rules as the HTML page (:func:`tracker.sources.parsers.govuk_html.parse_body`), so a version
fetched through the API and one saved from the website give the same requirement tree.
``public_updated_at`` is the publication date: GOV.UK moves it only for changes the
publisher marks as significant, which is the notion of a new version we want.
``details.change_history`` is validated but not kept: :class:`ParsedDocument` has no place
for it, and the spider reads it directly to decide whether to fetch.
"""

from __future__ import annotations

import json
from typing import Any

from bs4 import BeautifulSoup

from tracker.domain.errors import ParseError
from tracker.domain.model import DocumentRole, ParsedDocument
from tracker.sources.parsers.govuk_html import parse_body, parse_iso_date
from tracker.sources.parsing.provisions import clean


class GovukContentApiParser:
    """A GOV.UK content item whose ``details.body`` holds a publication's HTML."""

    name = "govuk-content-api"
    version = "1"

    def sniff(self, filename: str, data: bytes) -> int:
        head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"{") or b'"base_path"' not in data or b'"details"' not in data:
            return 0
        try:
            item = json.loads(data)
        except ValueError:
            return 40  # ours, but broken: let parse() say where
        details = item.get("details") if isinstance(item, dict) else None
        return 95 if isinstance(details, dict) and isinstance(details.get("body"), str) else 40

    def parse(self, filename: str, data: bytes) -> ParsedDocument:
        try:
            item = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ParseError(
                filename, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ParseError(filename, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
        if not isinstance(item, dict):
            raise ParseError(filename, "a GOV.UK content item must be a JSON object")
        body = _body(filename, item)
        tree = parse_body(BeautifulSoup(body, "html.parser"))
        if not tree.nodes:
            raise ParseError(
                filename,
                f"details.body of {item.get('base_path')!r} holds no principles or numbered provisions",
                "fetch the content item of the HTML attachment, not of the publication landing page",
            )
        published = parse_iso_date(str(item.get("public_updated_at") or ""))
        if published is None:
            stamps = [parse_iso_date(str(c.get("public_timestamp") or "")) for c in _history(filename, item)]
            published = max((s for s in stamps if s), default=None)
        return ParsedDocument(
            format=self.name,
            parser_version=self.version,
            role=DocumentRole.CATALOG,
            title=clean(str(item.get("title") or "")),
            requirements=tree.requirements(),
            published=published,
        )


def _body(filename: str, item: dict[str, Any]) -> str:
    details = item.get("details")
    body = details.get("body") if isinstance(details, dict) else None
    if isinstance(body, list):  # multi-part bodies: [{"content_type": "text/html", "content": ...}]
        parts = [p for p in body if isinstance(p, dict) and p.get("content_type") == "text/html"]
        body = parts[0].get("content") if parts else None
    if not isinstance(body, str) or not body.strip():
        raise ParseError(
            filename,
            f"content item {item.get('base_path')!r} has no details.body HTML",
            "fetch the content item of the HTML attachment, not of the publication landing page",
        )
    _history(filename, item)
    return body


def _history(filename: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    details = item.get("details")
    history = details.get("change_history", []) if isinstance(details, dict) else []
    if not isinstance(history, list) or not all(isinstance(c, dict) for c in history):
        raise ParseError(filename, "details.change_history must be a list of objects")
    return history


PARSER = GovukContentApiParser()
