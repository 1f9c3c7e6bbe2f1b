"""A real webhook receiver: an HTTP server on loopback that records every POST."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str = ""
    port: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
    answer_headers: list[dict[str, str]] = field(default_factory=list)  # sent with those answers


@contextmanager
def serve_receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            for name, value in (state.answer_headers.pop(0) if state.answer_headers else {}).items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as port:
        state.port = port
        state.url = f"http://127.0.0.1:{port}/hooks/tracker"
        yield state


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A threaded HTTP server on a free loopback port for the duration; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Proxy:
    """A forward HTTP proxy on loopback: records each request line and relays it upstream."""

    url: str = ""
    upstream: str = ""  # "127.0.0.1:PORT": where every request is relayed, whatever its host
    seen: list[str] = field(default_factory=list)


@contextmanager
def serve_proxy(upstream_port: int) -> Iterator[Proxy]:
    import http.client

    state = Proxy(upstream=f"127.0.0.1:{upstream_port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.seen.append(f"{self.command} {self.path}")  # absolute form: "POST http://host/path"
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            path = "/" + self.path.split("://", 1)[-1].split("/", 1)[-1]
            upstream = http.client.HTTPConnection(state.upstream, timeout=5)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "host")}
            upstream.request("POST", path, body=body, headers=headers)
            answer = upstream.getresponse()
            answer.read()
            self.send_response(answer.status)
            self.send_header("content-length", "0")
            self.end_headers()
            upstream.close()

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as port:
        state.url = f"http://127.0.0.1:{port}"
        yield state
