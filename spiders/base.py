"""What every tracker spider shares: the crawl context, requests through the mirror, and
failures turned into one clear sentence each.

Spiders resolve links against the *publisher's* URL (kept in ``meta['origin']``) and only
then rewrite for the mirror, so a relative link on a mirrored page still names the publisher's
path. Versions discovered in a listing are fetched one after another (a chain), so they are
archived oldest first and a failure stops the chain: nothing newer is archived past a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from tracker.crawl.archiving import CrawlReport, archived_versions
from tracker.crawl.mirror import rewrite
from tracker.sources.registry import SourceSpec
from tracker.storage.archive import Archive
from tracker.storage.crawls import ValidatorStore


@dataclass
class CrawlContext:
    spec: SourceSpec
    archive: Archive
    validators: ValidatorStore
    report: CrawlReport
    mirror_url: str = ""
    max_bytes: int = 64 * 1024 * 1024
    force: bool = False  # ignore stored validators (refetch everything)
    ssrf_guard: bool = False  # the crawl turns it on for every channel outside mirror mode
    timeout: float = 60.0


Callback = Callable[..., Any]


class TrackerSpider(scrapy.Spider):
    """Base class: ``self.ctx`` holds the source, the archive and the run's report."""

    name = "tracker"

    def __init__(self, ctx: CrawlContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.spec = ctx.spec

    # -- requests ----------------------------------------------------------------------------
    def get(
        self,
        url: str,
        callback: Callback,
        *,
        conditional: bool = True,
        errback: Callback | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Request:
        """A request for the publisher URL ``url`` (rewritten in mirror mode)."""
        return Request(
            rewrite(url, self.ctx.mirror_url),
            callback=callback,
            errback=errback or self.failed,
            dont_filter=True,
            meta={"origin": url, "conditional": conditional, "handle_httpstatus_list": [304], **(meta or {})},
        )

    def not_modified(self, response: Response) -> bool:
        """A 304, or a 200 whose body hashes to what we saw last time."""
        if response.status == 304 or response.meta.get("same_body"):
            self.ctx.report.note(f"not modified: {response.meta.get('origin', response.url)}")
            return True
        return False

    def failed(self, failure: Failure) -> None:
        self.fail(describe_failure(failure, self.ctx.timeout))

    def fail(self, message: str) -> None:
        self.ctx.report.fail(message)

    # -- archive helpers ---------------------------------------------------------------------
    def archived_labels(self) -> set[str]:
        return {v.label for v in archived_versions(self.ctx.archive, self.spec.slug)}

    def chain(self, pending: list[Any], make: Callable[[Any, list[Any]], Request]) -> Iterator[Request]:
        """Request the next of ``pending`` (``make(item, rest)``), if any."""
        if pending:
            yield make(pending[0], pending[1:])


def describe_failure(failure: Failure, timeout: float) -> str:
    """One sentence naming what failed and where."""
    request = getattr(failure, "request", None)
    url = str(request.meta.get("origin", request.url)) if request is not None else "?"
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status} from {url}"
    if isinstance(exc, DownloadTimeoutError):
        return f"timed out after {timeout:g}s fetching {url}"
    if isinstance(exc, ResponseDataLossError):
        return f"truncated body from {url}: the connection closed before Content-Length bytes arrived"
    if isinstance(exc, DownloadConnectionRefusedError):
        return f"connection refused fetching {url}"
    if isinstance(exc, CannotResolveHostError):
        return f"cannot resolve the host of {url}"
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "max redirections" in text:
            return f"redirect loop fetching {url}: gave up after too many redirects"
        if "robots.txt" in text:
            return f"forbidden by robots.txt: {url}"
        return text or f"request for {url} was dropped"
    return f"fetching {url} failed: {type(exc).__name__}: {exc}"


def header_date(response: Response, name: bytes = b"Last-Modified") -> date | None:
    value = response.headers.get(name)
    if not value:
        return None
    try:
        return parsedate_to_datetime(value.decode("latin-1")).date()
    except (TypeError, ValueError):
        return None


def today() -> date:
    return datetime.now(UTC).date()


def filename_of(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "index"
