"""The loopback mirror: serve publishers' files from a local folder laid out per host.

Crawls reach it through mirror mode (:func:`tracker.crawl.mirror.rewrite`). The server is
the standard library's threaded HTTP server bound to loopback, with strong ETags (content
hashes), Last-Modified (file mtimes) and conditional GET, so mirror crawls exercise the same
200/304 paths as the real publishers.

Layout rule shared by the builder and the server (:func:`store_path`, :func:`locate`): a URL
whose last segment has an extension is the file ``HOST/PATH``; any other URL (a folder
listing, an API endpoint, a page without extension) is ``HOST/PATH/index.EXT``. A query
string becomes ``@QUERY`` before the extension (``tags/index@per_page=100.json``).
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

_TYPES = {
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
}
_ROBOTS = b"User-agent: *\nAllow: /\n"


def _query_tag(query: str) -> str:
    return "@" + quote(unquote(query), safe="=&,+-_.") if query else ""


def _safe_segments(path: str) -> list[str] | None:
    segments = [s for s in unquote(path).split("/") if s]
    if any(s in (".", "..") or "\\" in s or "\x00" in s for s in segments):
        return None
    return segments


def store_path(root: Path, url: str, ext: str = ".html") -> Path:
    """Where the mirror keeps the response body for the publisher URL ``url``."""
    parts = urlsplit(url)
    segments = _safe_segments(parts.path) or []
    base = root.joinpath(parts.netloc.lower(), *segments)
    if segments and not parts.path.endswith("/") and "." in segments[-1]:
        return base.with_name(base.name + _query_tag(parts.query)) if parts.query else base
    return base / f"index{_query_tag(parts.query)}{ext}"


def locate(root: Path, path: str, query: str) -> Path | None:
    """The file serving mirror path ``/HOST/PATH`` with ``query``, or None."""
    segments = _safe_segments(path)
    if not segments:
        return None
    base = root.joinpath(*segments)
    tag = _query_tag(query)
    if tag and base.with_name(base.name + tag).is_file() and not path.endswith("/"):
        return base.with_name(base.name + tag)
    if not tag and base.is_file() and not path.endswith("/"):
        return base
    if base.is_dir():
        matches = sorted(p for p in base.glob(f"index{glob_escape(tag)}.*") if p.is_file())
        exact = [p for p in matches if p.stem == f"index{tag}"]
        return exact[0] if exact else None
    return None


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


@dataclass
class MirrorStats:
    """Requests answered and bytes sent (status line, headers and bodies)."""

    requests: int = 0
    not_modified: int = 0
    bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, status: int, size: int) -> None:
        with self.lock:
            self.requests += 1
            self.bytes_sent += size
            if status == 304:
                self.not_modified += 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {
                "requests": self.requests,
                "not_modified": self.not_modified,
                "bytes_sent": self.bytes_sent,
            }


class MirrorHandler(BaseHTTPRequestHandler):
    """GET/HEAD of mirror files with ETag, Last-Modified and conditional GET."""

    server: MirrorHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "tracker-mirror/1"

    def do_GET(self) -> None:
        self.serve(head=False)

    def do_HEAD(self) -> None:
        self.serve(head=True)

    def serve(self, head: bool) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/robots.txt":
            robots = self.server.root / "robots.txt"
            self.send_body(200, robots.read_bytes() if robots.is_file() else _ROBOTS, "text/plain", head=head)
            return
        found = locate(self.server.root, parts.path, parts.query)
        if found is None:
            self.send_body(404, b"not in the mirror\n", "text/plain", head=head)
            return
        data, etag, mtime = self.server.read(found)
        last_modified = formatdate(mtime, usegmt=True)
        if self.not_modified(etag, mtime):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.server.stats.add(304, self._sent_headers)
            return
        ctype = (
            _TYPES.get(found.suffix.lower())
            or mimetypes.guess_type(found.name)[0]
            or "application/octet-stream"
        )
        self.send_body(200, data, ctype, head=head, extra={"ETag": etag, "Last-Modified": last_modified})

    def not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # RFC 9110 13.1.3: If-None-Match wins over If-Modified-Since
            return inm.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in inm.split(",")]
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return int(mtime) <= int(parsedate_to_datetime(ims).timestamp())
            except (TypeError, ValueError):
                return False
        return False

    def send_body(
        self, status: int, data: bytes, ctype: str, head: bool = False, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(data)
        self.server.stats.add(status, self._sent_headers + (0 if head else len(data)))

    _sent_headers = 0

    def end_headers(self) -> None:
        buffered = getattr(self, "_headers_buffer", [])
        self._sent_headers = sum(len(line) for line in buffered) + 2
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class MirrorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, root: Path, port: int, handler: type[MirrorHandler] = MirrorHandler, verbose: bool = False
    ):
        super().__init__(("127.0.0.1", port), handler)
        self.root = root
        self.verbose = verbose
        self.stats = MirrorStats()
        self._hashes: dict[Path, tuple[float, int, str]] = {}
        self._lock = threading.Lock()

    def read(self, path: Path) -> tuple[bytes, str, float]:
        """Bytes, strong ETag and mtime of ``path``; hashes are cached per (mtime, size)."""
        stat = path.stat()
        data = path.read_bytes()
        with self._lock:
            cached = self._hashes.get(path)
            if cached is None or cached[:2] != (stat.st_mtime, stat.st_size):
                cached = (stat.st_mtime, stat.st_size, hashlib.sha256(data).hexdigest()[:32])
                self._hashes[path] = cached
        return data, f'"{cached[2]}"', stat.st_mtime


class MirrorServer:
    """A mirror folder served on loopback from a background thread."""

    def __init__(
        self, root: Path, port: int = 0, handler: type[MirrorHandler] = MirrorHandler, verbose: bool = False
    ):
        self.httpd = MirrorHTTPServer(Path(root), port, handler, verbose)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats(self) -> MirrorStats:
        return self.httpd.stats

    def start(self) -> MirrorServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="mirror", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["MirrorHandler", "MirrorServer", "locate", "store_path"]
