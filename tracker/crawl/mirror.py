"""Mirror mode: point every crawl at a local mirror of the publishers.

With ``TRACKER_MIRROR_URL=http://127.0.0.1:PORT`` every publisher URL ``https://HOST/PATH?Q``
is fetched as ``http://127.0.0.1:PORT/HOST/PATH?Q``, so a whole crawl runs offline against
a folder laid out per host (the demo's :mod:`tracker.demo.mirror` serves one).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def rewrite(url: str, mirror_url: str) -> str:
    """``https://HOST/PATH?Q`` -> ``MIRROR/HOST/PATH?Q``; unchanged when no mirror is set."""
    if not mirror_url:
        return url
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" == mirror_url.rstrip("/"):
        return url  # already a mirror URL
    query = f"?{parts.query}" if parts.query else ""
    return f"{mirror_url.rstrip('/')}/{parts.netloc.lower()}{parts.path or '/'}{query}"
