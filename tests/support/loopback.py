"""A real HTTP server on loopback that plays the publishers, with faults on demand.

It is the mirror server (:mod:`tracker.demo.mirror`: ETag, Last-Modified, conditional GET) plus
injected failures: an HTTP status, a slow answer, a body cut short of its Content-Length,
a redirect loop, an HTML error page where a document should be, or a server that ignores
conditional headers. Crawls reach it through mirror mode (``TRACKER_MIRROR_URL``), so the
registry keeps the publishers' real URLs and nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tracker.crawl.mirror import rewrite
from tracker.demo.mirror import MirrorHandler, MirrorServer, store_path

HTML_ERROR = (
    b"<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>Try later</body></html>\n"
)

# Crawl settings for tests: fail fast, retry once with a short back-off.
FAST = {"DOWNLOAD_TIMEOUT": "1", "RETRY_TIMES": "1", "RETRY_BACKOFF_BASE": "0.05", "LOG_LEVEL": "ERROR"}


class FaultyHandler(MirrorHandler):
    server: Any

    def serve(self, head: bool) -> None:
        pub: Publisher = self.server.publisher
        target = urlsplit(self.path).path + (
            f"?{urlsplit(self.path).query}" if urlsplit(self.path).query else ""
        )
        pub.log(target, self.headers.get("User-Agent", ""))
        fault = pub.faults.get(target)
        try:
            if fault is None:
                super().serve(head)
            else:
                self.inject(fault, head)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): nothing to answer

    def not_modified(self, etag: str, mtime: float) -> bool:
        if self.server.publisher.ignore_conditional:
            return False
        return super().not_modified(etag, mtime)

    def inject(self, fault: tuple[str, Any], head: bool) -> None:
        kind, arg = fault
        if kind == "status":
            self.send_body(int(arg), b"error\n", "text/plain", head=head)
        elif kind == "sleep":
            time.sleep(arg)
            super().serve(head)
        elif kind == "html":
            self.send_body(200, HTML_ERROR, "text/html; charset=utf-8", head=head)
        elif kind in ("redirect-loop", "redirect"):
            self.send_response(302)
            self.send_header("Location", self.path if kind == "redirect-loop" else str(arg))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif kind in ("truncate", "stall"):
            body = b"x" * 4096
            found = self.server.publisher.file_for(self.path)
            if found is not None:
                body = found.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if kind == "stall":
                time.sleep(arg)
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(2)


class Publisher:
    """Files served as the publishers would serve them; see :func:`put` and :func:`fault`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.server = MirrorServer(root, 0, handler=FaultyHandler)
        self.server.httpd.publisher = self  # type: ignore[attr-defined]
        self.faults: dict[str, tuple[str, Any]] = {}
        self.ignore_conditional = False
        self.requests: list[str] = []
        self.agents: list[str] = []  # the User-Agent of every request
        self._lock = threading.Lock()
        self._clock = time.time() - 3600

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> Publisher:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def log(self, target: str, agent: str = "") -> None:
        with self._lock:
            self.requests.append(target)
            self.agents.append(agent)

    def hits(self, url: str) -> int:
        return self.requests.count(self.path(url))

    def path(self, url: str) -> str:
        """The loopback path that serves the publisher URL ``url``."""
        mirrored = urlsplit(rewrite(url, self.url))
        return mirrored.path + (f"?{mirrored.query}" if mirrored.query else "")

    def file_for(self, target: str) -> Path | None:
        from tracker.demo.mirror import locate

        parts = urlsplit(target)
        return locate(self.root, parts.path, parts.query)

    def put(self, url: str, data: bytes | str | Any, ext: str = ".html") -> Path:
        """Publish ``data`` at ``url``; each put gets a later Last-Modified than the one before."""
        if not isinstance(data, bytes | str):
            data, ext = json.dumps(data, indent=2), ".json"
        raw = data.encode() if isinstance(data, str) else data
        path = store_path(self.root, url, ext)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        self._clock += 60
        os.utime(path, (self._clock, self._clock))
        return path

    def fault(self, url: str, kind: str, arg: Any = 0) -> None:
        self.faults[self.path(url)] = (kind, arg)

    def clear(self) -> None:
        self.faults.clear()
        self.ignore_conditional = False


def write_registry(path: Path, entries: Sequence[Mapping[str, Any]]) -> Path:
    """A sources.toml holding ``entries`` (strings, ints and bools only)."""
    lines = []
    for entry in entries:
        lines.append("[[source]]")
        values = {
            "publisher": "Test publisher",
            "homepage": "https://example.org/",
            "schedule": "every 6h",
            **entry,
        }
        for key, value in values.items():
            rendered = (
                str(value).lower()
                if isinstance(value, bool)
                else value
                if isinstance(value, int)
                else json.dumps(value)
            )
            lines.append(f"{key} = {rendered}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def labels(archive: Any, slug: str) -> list[str]:
    from tracker.crawl.archiving import archived_versions

    return [v.label for v in archived_versions(archive, slug)]


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class World:
    """A database, a loopback publisher in mirror mode, a registry, and a way to crawl."""

    def __init__(self, engine: Any, root: Path) -> None:
        from tracker.storage.archive import Archive

        self.engine = engine
        self.archive = Archive(engine)
        self.publisher = Publisher(root / "publisher").start()
        self.registry = root / "sources.toml"

    def sources(self, *entries: Mapping[str, Any]) -> None:
        write_registry(self.registry, list(entries))

    def crawl(self, slug: str, **settings: Any) -> Any:
        from tracker.crawl.launcher import run_crawl

        return run_crawl(
            self.engine, slug, registry=self.registry, overrides={**FAST, **settings}, timeout=120
        )

    def runs(self, slug: str) -> list[Any]:
        from tracker.storage.crawls import RunStore

        return list(reversed(RunStore(self.engine).history(slug)))

    def labels(self, slug: str) -> list[str]:
        return labels(self.archive, slug)


@contextmanager
def make_world(engine: Any, root: Path, monkeypatch: Any) -> Iterator[World]:
    """Use with the ``db_env`` fixture: the crawl processes inherit its TRACKER_DATABASE_URL."""
    world = World(engine, root)
    monkeypatch.setenv("TRACKER_MIRROR_URL", world.publisher.url)
    try:
        yield world
    finally:
        world.publisher.stop()


# -- the publishers' shapes ------------------------------------------------------------------
def etsi_listing(path: str, folders: list[str]) -> str:
    """An IIS directory listing as www.etsi.org/deliver/ serves it, one <dir> per version."""
    rows = "".join(
        f' 4/14/2025  2:29 PM        &lt;dir&gt; <A HREF="{path}{name}/">{name}</A><br>' for name in folders
    )
    parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
    return (
        f"<html><head><title>www.etsi.org - {path}</title></head><body><H1>www.etsi.org - {path}</H1><hr>\n\n"
        f'<pre><A HREF="{parent}">[To Parent Directory]</A><br><br>{rows}</pre><hr></body></html>\n'
    )


def etsi_folder(path: str, pdf: str, size: int) -> str:
    parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
    return (
        f"<html><head><title>www.etsi.org - {path}</title></head><body><H1>www.etsi.org - {path}</H1><hr>\n\n"
        f'<pre><A HREF="{parent}">[To Parent Directory]</A><br><br>'
        f' 4/14/2025  2:29 PM {size:>12} <A HREF="{path}{pdf}">{pdf}</A><br></pre><hr></body></html>\n'
    )


def github_tags(repo: str, names: list[str]) -> list[dict[str, Any]]:
    """The tags API answer (newest first), as api.github.com/repos/OWNER/NAME/tags returns it."""
    out = []
    for i, name in enumerate(reversed(names)):
        sha = f"{i:040x}"
        out.append(
            {
                "name": name,
                "zipball_url": f"https://api.github.com/repos/{repo}/zipball/refs/tags/{name}",
                "tarball_url": f"https://api.github.com/repos/{repo}/tarball/refs/tags/{name}",
                "commit": {"sha": sha, "url": f"https://api.github.com/repos/{repo}/commits/{sha}"},
                "node_id": f"REF_{i}",
            }
        )
    return out


def github_commit(sha: str, date: str) -> list[dict[str, Any]]:
    person = {"name": "Maintainer", "email": "maintainer@example.org", "date": date}
    return [
        {
            "sha": sha,
            "node_id": "C_1",
            "commit": {"author": person, "committer": person, "message": "Update entries"},
            "html_url": f"https://github.com/o/r/commit/{sha}",
        }
    ]


def github_contents(repo: str, sha: str, folder: str, files: dict[str, bytes]) -> list[dict[str, Any]]:
    import hashlib

    listing: list[dict[str, Any]] = [
        {
            "name": name,
            "path": f"{folder}/{name}",
            "sha": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
            "size": len(data),
            "type": "file",
            "download_url": f"https://raw.githubusercontent.com/{repo}/{sha}/{folder}/{name}",
        }
        for name, data in sorted(files.items())
    ]
    listing.append(
        {"name": "translations", "path": f"{folder}/translations", "type": "dir", "download_url": None}
    )
    return listing
