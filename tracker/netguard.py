"""Which network addresses the service may reach on a user's or operator's behalf (SSRF guard).

Two places take a URL from someone else and fetch it: generic-source spiders (operator
URLs) and webhook delivery (a tenant's URL). Neither may be turned into a probe of the
machine's own network: loopback, private, link-local (cloud metadata at 169.254.169.254),
multicast and reserved addresses are refused.

A check made by resolving the name *before* connecting leaves a window (DNS rebinding: the
name resolves to a public address for the check and to 127.0.0.1 for the connection).
:class:`GuardedBackend` closes it for HTTP clients built on httpcore (httpx): it checks the
address the socket is *actually connected to*, before a byte of the request is sent.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from tracker.domain.errors import InvalidInputError, TrackerError

_FLAGS = (
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_unspecified", "unspecified"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def forbidden_address(address: str) -> str:
    """Why ``address`` must not be reached ('' when it is a public address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attr, reason in _FLAGS:
        if getattr(ip, attr):
            return reason
    if not ip.is_global:
        return "non-global"
    return ""


def check_public_host(host: str, port: int | None = None) -> None:
    """Resolve ``host`` and refuse it unless every address is public (raises TrackerError)."""
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise TrackerError(f"cannot resolve {host!r}: {exc}", "check the URL's host name") from exc
    for info in infos:
        address = str(info[4][0])
        reason = forbidden_address(address)
        if reason:
            raise TrackerError(
                f"refused to fetch from {host} ({address} is a {reason} address)",
                "generic sources may only fetch public addresses (SSRF guard); mirror mode is exempt",
            )


def literal_host_reason(url: str) -> str:
    """Why a URL's host is refused without resolving anything ('' when it may be public).

    Catches what is visible in the URL itself (an IP literal, ``localhost``), so that a
    subscription pointing inward is refused when it is created, not at first delivery.
    Names are only resolved at connection time (see :class:`GuardedBackend`).
    """
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return "no host"
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return "loopback"
    try:
        return forbidden_address(host)
    except ValueError:
        return ""


# One DNS label in its ASCII (IDNA) form; the last label of a name is never all digits, which
# is how numeric and shortened IPv4 forms (``2130706433``, ``127.1``, ``0x7f.0.0.1``) are told
# apart from names: resolvers read those as addresses, so they would slip past a host check.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_WEBHOOK_HINT = "give a full http(s) URL such as https://hooks.example.org/tracker"


def _bad_url(url: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"webhook_url {url!r} {problem}", _WEBHOOK_HINT)


def normalise_webhook_url(url: str) -> str:
    """The URL as the sender (httpx) will read it, or :class:`InvalidInputError` saying why not.

    Parsing with the library that sends means what is checked and stored is what is
    connected to: no second parser with a different idea of the host.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise _bad_url(url, f"is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise _bad_url(url, "must start with http:// or https://")
    try:
        host = parsed.raw_host.decode("ascii").rstrip(".").lower()
    except UnicodeDecodeError:
        raise _bad_url(url, "has a host that is not a valid host name") from None
    if not host:
        raise _bad_url(url, "has no host")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise _bad_url(url, f"has port {parsed.port}, outside 1-65535")
    try:
        ipaddress.ip_address(host)  # canonical dotted-quad IPv4 or an IPv6 literal
    except ValueError:
        labels = host.split(".")
        if _NUMERIC_LABEL.match(labels[-1]):
            raise _bad_url(
                url,
                "has a numeric, octal, hexadecimal or shortened IPv4 host; "
                "write an address as four decimal numbers (a.b.c.d) or use a host name",
            ) from None
        if not all(_LABEL.match(label) for label in labels):
            raise _bad_url(url, "has a host that is not a valid host name") from None
    return str(parsed)


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """The normalised webhook URL; refuses one that does not parse, or whose host is visibly
    internal (naming the setting that allows in-house receivers)."""
    url = normalise_webhook_url(url)
    if allow_private:
        return url
    reason = literal_host_reason(url)
    if reason:
        raise InvalidInputError(
            f"webhook_url {url!r} points at a {reason} address",
            "use a public https URL; an operator can allow in-house receivers with "
            "TRACKER_WEBHOOK_ALLOW_PRIVATE=1",
        )
    return url


def proxied_target_reason(url: str) -> str:
    """Why a webhook sent through the operator's proxy must not go to ``url`` ('' if it may).

    Behind a proxy the socket reaches the proxy, not the receiver, so the connect-time check
    of :class:`GuardedBackend` cannot see the receiver's address. The URL's host is judged
    instead: visibly internal hosts are refused, and a name that resolves here must resolve
    to public addresses only. A name that does not resolve here (proxied networks often have
    no outside DNS) is left to the proxy, whose own egress rules then decide; the window
    between this resolution and the proxy's is the residual risk of proxied delivery.
    """
    reason = literal_host_reason(url)
    if reason:
        return reason
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ""
    for info in infos:
        found = forbidden_address(str(info[4][0]))
        if found:
            return f"{found} ({host} resolves to {info[4][0]})"
    return ""


class BlockedAddressError(httpcore.ConnectError):
    """The connection reached an address the guard refuses; nothing was sent."""


class _GuardedStream(httpcore.NetworkStream):
    """Wraps a connected stream; only exists after the peer address passed the check."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout)

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _GuardedStream(self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, refusing any TCP connection whose peer is not public.

    The name is resolved and every address checked *before* any connection is attempted,
    and the connection then goes to a checked address, not the name (so a second, rebinding
    resolution never happens). Connecting first and checking after would complete a TCP
    handshake with an internal port, and the difference between "refused by the guard"
    (port open) and "connection refused" (port closed) would map the internal network.
    The peer of the connected socket is checked once more, for any other path.
    """

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = _resolve(host, port)
        for address in addresses:
            reason = forbidden_address(address)
            if reason:
                raise BlockedAddressError(f"{host} resolves to {address}, a {reason} address (SSRF guard)")
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            sock = stream.get_extra_info("socket")
            peer = sock.getpeername()[0] if sock is not None else ""
            reason = forbidden_address(peer) if peer else "unknown"
            if reason:
                stream.close()
                raise BlockedAddressError(f"{host} reached {peer or '?'}, a {reason} address (SSRF guard)")
            return _GuardedStream(stream)
        raise failure or httpcore.ConnectError(f"no address to connect to for {host}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise BlockedAddressError("unix sockets are not reachable through the SSRF guard")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def guarded_transport() -> httpx.HTTPTransport:
    """An httpx transport whose connections pass :class:`GuardedBackend` (direct connections;
    behind a proxy see :func:`proxied_target_reason`)."""
    transport = httpx.HTTPTransport()
    # httpx exposes no network-backend option; its pool is swapped for one that has it.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        network_backend=GuardedBackend(),
    )
    return transport


def plain_http_reason(url: str, *, allow_http: bool) -> str:
    """Why a webhook may not go to this ``http://`` URL ('' when it may).

    A webhook carries the organisation's impact and a signature a network observer could
    replay within the timestamp tolerance, so plaintext HTTP is refused unless the operator
    allows it (``TRACKER_WEBHOOK_ALLOW_HTTP``). Loopback is the exception: it never leaves
    the machine, and it is reachable only where ``TRACKER_WEBHOOK_ALLOW_PRIVATE`` is on.
    """
    if allow_http or urlsplit(url).scheme.lower() != "http" or literal_host_reason(url) == "loopback":
        return ""
    return "plaintext http:// is refused for webhooks"


def check_webhook_scheme(url: str, *, allow_http: bool) -> None:
    """Refuse an ``http://`` receiver the operator has not allowed (see :func:`plain_http_reason`)."""
    reason = plain_http_reason(url, allow_http=allow_http)
    if reason:
        raise InvalidInputError(
            f"webhook_url {url!r}: {reason}",
            "use an https:// URL; an operator can allow plain http receivers with "
            "TRACKER_WEBHOOK_ALLOW_HTTP=1",
        )
