"""Extension point: what happens after a crawl archives a new version.

The spiders call :func:`on_new_version` once per newly archived version, after the version's
transaction has committed. The diff, impact and digest stages hook in here; until they do it
does nothing. An exception raised here is recorded in the crawl run's message and never undoes
the archived version.
"""

from __future__ import annotations

from tracker.model import Source, Version
from tracker.storage.archive import Archive


def on_new_version(archive: Archive, source: Source, version: Version) -> None:
    """Diff ``version`` against the one before it and trigger impact and digests (no-op for now)."""
    del archive, source, version
