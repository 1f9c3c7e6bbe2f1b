"""Notifier interfaces and the SMTP implementation (the HTTP one is
:class:`tracker.digests.webhooks.HttpWebhookNotifier`).

The dispatcher depends on the two protocols only; tests run the real implementations
against servers on loopback.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Protocol

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
        self,
        message: str,
        status: int | None = None,
        detail: str = "",
        *,
        permanent: bool = False,
        retry_after: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail or message
        self.retry_after = retry_after  # the receiver's Retry-After header, as it came
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
