"""Scrapy spiders, one per publisher family. Twisted is imported only inside this package.

Each crawl runs in its own process (``python -m spiders.crawl SOURCE``, launched by
:mod:`tracker.crawl.launcher`), because a Twisted reactor cannot be restarted in one process.
"""
