"""Generic sources ("watch this URL, keep what this selector selects") and EUR-Lex pages.

What is archived is the selection, not the page: a CSS selector's matches (outer HTML, one
per line) or a JMESPath expression's result (canonical JSON). Navigation, cookie banners and
timestamps outside the selection therefore never make a new version. Versions are labelled
with the server's Last-Modified date, or the day of the crawl.

Operators add these sources without code, so the SSRF guard is on: every request, redirects
included, must resolve to public addresses only (see :class:`spiders.middlewares.SsrfGuardMiddleware`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import TrackerSpider, header_date, today
from spiders.pipelines import VersionItem
from tracker.crawl.archiving import FetchedVersion, describe_bytes


class GenericSpider(TrackerSpider):
    name = "generic"

    async def start(self) -> Any:
        yield self.get(self.spec.url, self.parse_page)

    def parse_page(self, response: Response) -> Iterator[VersionItem]:
        if self.not_modified(response):
            return
        origin = response.meta["origin"]
        spec = self.spec
        if spec.json_path:
            content, ext = self.select_json(response, origin), ".json"
        elif spec.select:
            content, ext = self.select_css(response, origin), ".html"
        else:
            content, ext = response.body, ".pdf" if response.body.startswith(b"%PDF-") else ".html"
        if content is None:
            return
        stamp = header_date(response) or today()
        yield VersionItem(
            FetchedVersion(
                label=stamp.isoformat(),
                files=((f"{spec.slug}{ext}", content),),
                url=origin,
                format=spec.format,
                numbered=True,
            )
        )

    def select_css(self, response: Response, origin: str) -> bytes | None:
        if not hasattr(response, "css"):
            self.fail(
                f"expected HTML at {origin} for the selector {self.spec.select!r}, "
                f"got {describe_bytes(response.body)}"
            )
            return None
        parts = response.css(self.spec.select).getall()
        if not parts:
            self.fail(f"the CSS selector {self.spec.select!r} matched nothing at {origin}")
            return None
        return "\n".join(part.strip() for part in parts).encode("utf-8") + b"\n"

    def select_json(self, response: Response, origin: str) -> bytes | None:
        import jmespath

        try:
            data = json.loads(response.body)
        except ValueError as exc:
            self.fail(f"expected JSON at {origin}: {exc}")
            return None
        try:
            result = jmespath.search(self.spec.json_path, data)
        except jmespath.exceptions.JMESPathError as exc:
            self.fail(f"bad json_path {self.spec.json_path!r}: {exc}")
            return None
        if result is None:
            self.fail(f"the json_path {self.spec.json_path!r} selected nothing at {origin}")
            return None
        return json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
