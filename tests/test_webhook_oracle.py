"""The delivery log is no port scanner: an open and a closed internal port read the same.

The guard resolves and checks the receiver's address before connecting, so no TCP
handshake ever reaches an internal port; the tenant reads one reason for every unreachable
receiver, and the operator's log keeps the particular one.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from tracker.digests.notifiers import DeliveryError
from tracker.digests.webhooks import HttpWebhookNotifier


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A real open port on loopback that never accepts: a completed handshake stays queued."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _closed_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()  # nothing listens here any more
    return port


def _failure(notifier: HttpWebhookNotifier, url: str) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        notifier.post(url, {"content-type": "application/json"}, b"{}")
    return caught.value


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_open_and_closed_internal_ports_read_the_same(
    listener: socket.socket, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    open_port = listener.getsockname()[1]
    notifier = HttpWebhookNotifier(timeout=3)
    try:
        with caplog.at_level(logging.WARNING, logger="tracker.webhooks"):
            closed_port = _closed_port()
            opened = _failure(notifier, f"http://{host}:{open_port}/h")
            closed = _failure(notifier, f"http://{host}:{closed_port}/h")
    finally:
        notifier.close()
    # what the tenant reads differs only by the URL it gave
    assert str(opened).replace(f":{open_port}/", ":PORT/") == str(closed).replace(
        f":{closed_port}/", ":PORT/"
    )
    assert "loopback" not in str(opened) and "loopback" not in str(closed)
    # no handshake was ever completed with the open port
    with pytest.raises(BlockingIOError):
        listener.accept()
    # the operator's log says why
    assert "loopback" in caplog.text and "SSRF guard" in caplog.text
