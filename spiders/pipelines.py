"""Item pipeline: archive each fetched version through the tracker, then continue the chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy.http import Request
from sqlalchemy.exc import SQLAlchemyError

from tracker.crawl.archiving import FetchedVersion, archive_fetched
from tracker.domain.errors import TrackerError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


@dataclass
class VersionItem:
    """A fetched version, and the request for the next one in its chain (sent on success)."""

    fetched: FetchedVersion
    then: Request | None = None


class ArchivePipeline:
    """Parse and archive in one transaction; a failure stops the chain and is recorded.

    Runs synchronously in the reactor thread: one crawl per process, so blocking it while a
    version is written costs nothing, and the chain continues only after the commit.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, VersionItem):
            return item
        spider: Any = self.crawler.spider
        ctx = spider.ctx
        fetched = item.fetched
        try:
            result = archive_fetched(ctx.archive, ctx.spec, fetched, ctx.max_bytes)
        except TrackerError as err:
            ctx.report.fail(f"{fetched.label} from {fetched.url}: {err}")
            return item
        except SQLAlchemyError as exc:
            ctx.report.fail(f"{fetched.label}: database error while archiving: {type(exc).__name__}: {exc}")
            return item
        if result.created:
            ctx.report.new_versions.append(result.version.label)
        else:
            ctx.report.note(f"{fetched.label}: same bytes as archived version {result.version.label}")
        if result.hook_error:
            ctx.report.fail(f"archived {result.version.label}, but {result.hook_error}")
            return item
        if item.then is not None:
            assert self.crawler.engine is not None
            self.crawler.engine.crawl(item.then)
        return item
