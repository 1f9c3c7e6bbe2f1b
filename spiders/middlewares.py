"""Downloader middlewares: conditional GET, retry back-off, SSRF guard, byte counting.

They reach the crawl's state through ``crawler.spider.ctx`` (a :class:`spiders.base.CrawlContext`).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from tracker.crawl.mirror import rewrite
from tracker.domain.errors import TrackerError
from tracker.netguard import check_public_host, forbidden_address
from tracker.storage.crawls import Validator

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from spiders.base import CrawlContext


class _WithContext:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    @property
    def ctx(self) -> CrawlContext:
        spider: Any = self.crawler.spider
        return spider.ctx  # type: ignore[no-any-return]


class ConditionalGetMiddleware(_WithContext):
    """Send If-None-Match / If-Modified-Since from the validator table; note new validators.

    Validators are only written to the database when the whole crawl succeeds: if a listing
    were remembered but the version it announced failed to download, the next run would get a
    304 and never retry it. A 200 whose body hashes to what we saw last time is flagged
    ``same_body`` so the spider treats it like a 304 without parsing.

    Validators are keyed by the publisher's URL, so they survive a mirror moving port; mirror
    ones are kept apart (``mirror:`` prefix) so a mirror file's mtime is never sent to the
    real publisher as If-Modified-Since.
    """

    def _key(self, request: Request) -> str:
        origin = str(request.meta.get("origin", request.url))
        return f"mirror:{origin}" if self.ctx.mirror_url else origin

    def process_request(self, request: Request) -> None:
        if not request.meta.get("conditional") or self.ctx.force:
            return
        known = self.ctx.validators.get(self._key(request))
        if known is None:
            return
        if known.etag:
            request.headers.setdefault(b"If-None-Match", known.etag.encode())
        if known.last_modified:
            request.headers.setdefault(b"If-Modified-Since", known.last_modified.encode())

    def process_response(self, request: Request, response: Response) -> Response:
        if not request.meta.get("conditional") or response.status != 200:
            return response
        digest = hashlib.sha256(response.body).hexdigest()
        known = None if self.ctx.force else self.ctx.validators.get(self._key(request))
        if known is not None and known.sha256 == digest:
            request.meta["same_body"] = True
        etag = response.headers.get(b"ETag")
        modified = response.headers.get(b"Last-Modified")
        self.ctx.report.validators[self._key(request)] = Validator(
            url=self._key(request),
            etag=etag.decode("latin-1") if etag else None,
            last_modified=modified.decode("latin-1") if modified else None,
            sha256=digest,
        )
        return response


class BackoffMiddleware(_WithContext):
    """Exponential back-off before each retry (Scrapy's RetryMiddleware retries at once)."""

    async def process_request(self, request: Request) -> None:
        attempt = int(request.meta.get("retry_times", 0))
        if attempt <= 0:
            return
        settings = self.crawler.settings
        base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        delay = min(base * 2 ** (attempt - 1), settings.getfloat("RETRY_BACKOFF_MAX", 60.0))
        await asyncio.sleep(delay)


class SsrfGuardMiddleware(_WithContext):
    """Refuse private, loopback and link-local addresses, for every channel but mirror mode.

    Every request passes here, redirects and robots.txt included, so a public URL that
    redirects inward is refused too. Mirror mode turns the guard off: the mirror is loopback.

    The name is resolved before the request, and the connection resolves it again; a name
    that answers differently the second time (DNS rebinding) is caught on the way back: the
    address the response actually came from is checked, and a body from an inward address
    is dropped before any spider or pipeline sees it.
    """

    async def process_request(self, request: Request) -> None:
        if not self.ctx.ssrf_guard:
            return
        parts = urlsplit(request.url)
        if not parts.hostname:
            raise IgnoreRequest(f"refused {request.url}: no host")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, check_public_host, parts.hostname, parts.port)
        except TrackerError as err:
            raise IgnoreRequest(f"{err.problem} for {request.url}") from err

    def process_response(self, request: Request, response: Response) -> Response:
        if not self.ctx.ssrf_guard or response.ip_address is None:
            return response
        reason = forbidden_address(str(response.ip_address))
        if reason:
            raise IgnoreRequest(
                f"refused {request.url}: answered from {response.ip_address}, a {reason} address "
                "(the name resolved differently when connecting; SSRF guard)"
            )
        return response


class MirrorOnlyMiddleware(_WithContext):
    """In mirror mode nothing leaves loopback: a request for any other host (a redirect to an
    absolute publisher URL, say) is rewritten to the mirror before it is sent."""

    def process_request(self, request: Request) -> Request | None:
        mirror = self.ctx.mirror_url
        if not mirror or rewrite(request.url, mirror) == request.url:
            return None
        return request.replace(url=rewrite(request.url, mirror))


class CountingMiddleware(_WithContext):
    """Count every response body that arrives (retries, redirects and robots.txt included)."""

    def process_response(self, request: Request, response: Response) -> Response:
        self.ctx.report.requests += 1
        self.ctx.report.bytes_fetched += len(response.body)
        return response
