"""Scrapy settings for the tracker's crawls: polite by default.

robots.txt is obeyed, the user agent names the project and a contact URL, AutoThrottle
adapts the delay to the publisher's latency, and retries back off exponentially. In mirror
mode :mod:`spiders.crawl` drops the start delay, since the mirror is our own loopback server.
"""

BOT_NAME = "ai-standards-tracker"
SPIDER_MODULES = ["spiders"]
USER_AGENT = (
    "ai-standards-tracker/0.1 (standards change monitor; "
    "+https://github.com/ai-standards-tracker/ai-standards-tracker)"
)
ROBOTSTXT_OBEY = True

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS_PER_DOMAIN = 2

DOWNLOAD_TIMEOUT = 60
DOWNLOAD_FAIL_ON_DATALOSS = True  # a body shorter than its Content-Length is an error
REDIRECT_MAX_TIMES = 5
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 2.0  # seconds before the first retry; doubles each time
RETRY_BACKOFF_MAX = 60.0

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "WARNING"

DOWNLOADER_MIDDLEWARES = {
    "spiders.middlewares.MirrorOnlyMiddleware": 40,
    "spiders.middlewares.SsrfGuardMiddleware": 50,
    "spiders.middlewares.BackoffMiddleware": 540,
    "spiders.middlewares.ConditionalGetMiddleware": 560,
    "spiders.middlewares.CountingMiddleware": 990,
}
ITEM_PIPELINES = {"spiders.pipelines.ArchivePipeline": 300}
