"""GOV.UK publications: the Content API first, the HTML page when the API fails.

A version is GOV.UK's ``public_updated_at``: it moves only for changes the publisher marks as
significant, so a re-rendered page with the same date is not news even if its bytes differ.
The Content API JSON is archived as fetched (the ``govuk-content-api`` parser reads it); the
HTML fallback is archived as ``govuk-html``, labelled from its ``govuk:public-updated-at``
meta tag or its "Published/Updated <date>" line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from scrapy.http import Request, Response
from twisted.python.failure import Failure

from spiders.base import TrackerSpider, describe_failure, filename_of, header_date, today
from spiders.pipelines import VersionItem
from tracker.crawl.archiving import FetchedVersion, describe_bytes
from tracker.domain.model import Lifecycle
from tracker.sources.ingest import guess_status
from tracker.sources.registry import govuk_api_url

_CHANGED = re.compile(r"\b(?:Published|Updated|Last updated)\s+(\d{1,2}\s+[A-Z][a-z]+\s+\d{4})")


def _iso_date(value: str) -> date | None:
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _status(title: str, label: str) -> Lifecycle:
    from_title = guess_status(title)
    return from_title if from_title is not Lifecycle.FINAL else guess_status(label)


class GovukSpider(TrackerSpider):
    name = "govuk"

    async def start(self) -> Any:
        yield self.get(govuk_api_url(self.spec.url), self.parse_api, errback=self.api_failed)

    def parse_api(self, response: Response) -> Iterator[Any]:
        if self.not_modified(response):
            return
        try:
            item = json.loads(response.body)
            stamp = str(item["public_updated_at"])
            title = str(item.get("title") or "")
        except (ValueError, KeyError, TypeError) as exc:
            yield from self.fallback(f"Content API answer unusable ({type(exc).__name__}: {exc})")
            return
        published = _iso_date(stamp)
        if published is None:
            yield from self.fallback(f"Content API public_updated_at {stamp!r} is not a date")
            return
        yield from self.candidate(
            response, published.isoformat(), published, title, ".json", self.spec.format
        )

    def api_failed(self, failure: Failure) -> Iterator[Request]:
        yield from self.fallback(describe_failure(failure, self.ctx.timeout))

    def fallback(self, why: str) -> Iterator[Request]:
        self.ctx.report.note(f"Content API: {why}; used the HTML page")

        def failed(failure: Failure) -> None:
            self.fail(f"Content API: {why}; HTML page: {describe_failure(failure, self.ctx.timeout)}")

        yield self.get(self.spec.url, self.parse_html, errback=failed)

    def parse_html(self, response: Response) -> Iterator[Any]:
        if self.not_modified(response):
            return
        if response.body.lstrip()[:1] != b"<" or not hasattr(response, "css"):
            self.fail(
                f"expected the GOV.UK HTML page at {self.spec.url}, got {describe_bytes(response.body)}"
            )
            return
        meta = response.css('meta[name="govuk:public-updated-at"]::attr(content)').get()
        published = _iso_date(meta) if meta else None
        if published is None:
            line = _CHANGED.search(" ".join(response.css("p::text, span::text, dd::text").getall()))
            if line:
                try:
                    published = datetime.strptime(line.group(1), "%d %B %Y").date()
                except ValueError:
                    published = None
        dated = published is not None
        published = published or header_date(response) or today()
        title = response.css("title::text").get() or ""
        yield from self.candidate(
            response, published.isoformat(), published, title, ".html", "govuk-html", dated
        )

    def candidate(
        self,
        response: Response,
        label: str,
        published: date,
        title: str,
        ext: str,
        fmt: str,
        dated: bool = True,
    ) -> Iterator[VersionItem]:
        if dated and label in self.archived_labels():
            self.ctx.report.note(f"public_updated_at {label} is already archived")
            return
        name = filename_of(self.spec.url) + ext
        yield VersionItem(
            FetchedVersion(
                label=label,
                files=((name, response.body),),
                url=response.meta.get("origin", response.url),
                format=fmt,
                published=published,
                status=_status(title, label),
                numbered=True,
            )
        )
