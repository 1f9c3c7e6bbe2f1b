"""Notifier interfaces and their real implementations (SMTP, HTTP).

The dispatcher depends on the two protocols only; tests run the real implementations
against servers on loopback.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol

import httpx

from tracker.netguard import guarded_transport, proxied_target_reason

log = logging.getLogger("tracker.webhooks")

# What a tenant reads in the delivery log when no HTTP answer came back. One reason for every
# way a connection can fail (refused, timed out, unresolvable, or refused by the SSRF guard),
# so that the log cannot tell an open internal port from a closed one; the operator's log
# (logger ``tracker.webhooks``) keeps the particular cause.
UNREACHABLE = "the receiver could not be reached or is not a public address (SSRF guard); nothing was sent"


class DeliveryError(Exception):
    """A delivery failed; ``status`` is the HTTP or SMTP reply code when there was one.

    ``str(err)`` is what the subscriber may read; ``detail`` what the operator may.
    """

    def __init__(
        self, message: str, status: int | None = None, detail: str = "", *, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail or message
        # a message that can never be sent as it is (a URL the HTTP client cannot parse):
        # retrying changes nothing, so its delivery is parked as dead at once
        self.permanent = permanent


class EmailNotifier(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand the message to the mail system or raise :class:`DeliveryError`."""


class WebhookNotifier(Protocol):
    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        """POST the body; return the 2xx status or raise :class:`DeliveryError`."""


class SmtpEmailNotifier:
    """Plain SMTP to a relay (host and port from settings); one connection per message."""

    def __init__(self, host: str, port: int, timeout: float = 15.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", exc.smtp_code) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP delivery to {self.host}:{self.port} failed: {exc}") from exc


class HttpWebhookNotifier:
    """POST with a timeout and no redirects (a redirect would re-send the body elsewhere).

    Unless ``allow_private`` is set (``TRACKER_WEBHOOK_ALLOW_PRIVATE``), a tenant's webhook
    URL cannot reach loopback, private or link-local addresses: direct connections go
    through :func:`tracker.netguard.guarded_transport`, which checks the address actually
    reached, even after DNS rebinding. With ``proxy`` (``TRACKER_WEBHOOK_PROXY``, for
    networks whose egress goes through one) every POST goes through that proxy and the
    receiver's host is checked before sending (:func:`tracker.netguard.proxied_target_reason`).
    Proxy variables of the environment are never used: they would route deliveries out of
    the guard's sight.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        *,
        allow_private: bool = False,
        proxy: str = "",
    ) -> None:
        self.allow_private = allow_private
        self.proxy = proxy
        if client is not None:
            self.client = client
        elif proxy:
            self.client = httpx.Client(timeout=timeout, follow_redirects=False, proxy=proxy, trust_env=False)
        else:
            transport = None if allow_private else guarded_transport()
            self.client = httpx.Client(
                timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
            )

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        if self.proxy and not self.allow_private:
            reason = proxied_target_reason(url)
            if reason:
                log.warning("webhook POST %s refused: a %s address (SSRF guard)", url, reason)
                raise DeliveryError(f"POST {url} refused: {UNREACHABLE}", detail=f"a {reason} address")
        try:
            response = self.client.post(url, headers=dict(headers), content=body)
        except httpx.InvalidURL as exc:
            # the subscriber's own URL is malformed: saying how is no oracle about our network
            raise DeliveryError(f"POST {url} failed: InvalidURL: {exc}", permanent=True) from exc
        except httpx.TransportError as exc:
            detail = f"{type(exc).__name__}: {exc}"
            log.warning("webhook POST %s failed: %s", url, detail)
            raise DeliveryError(f"POST {url} failed: {UNREACHABLE}", detail=detail) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"POST {url} failed: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"POST {url} answered {response.status_code}", response.status_code)
        return response.status_code

    def close(self) -> None:
        self.client.close()
