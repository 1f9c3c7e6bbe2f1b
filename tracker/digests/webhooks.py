"""Webhooks to the Standard Webhooks spec: thin messages, signatures, the HTTP sender.

Signing is the ``standardwebhooks`` library's (the spec's reference implementation), so what
receivers verify with the same library is byte for byte what was signed here: ``webhook-id``
(stable across retries, for deduplication), ``webhook-timestamp`` and ``webhook-signature``.
During a secret rotation the message carries one ``v1,`` signature per live secret,
space-separated, and a receiver holding either secret verifies it.

Messages are *thin*: the event's identity, counts and the affected control ids, with URLs to
fetch the full impact and diff with the organisation's API key. The full event (redlines of
every change) can run to hundreds of kilobytes for a large revision, more than many receivers
accept in one request; a thin message stays under :data:`MAX_BODY_BYTES` whatever the
revision's size.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from tracker.digests.notifiers import UNREACHABLE, DeliveryError
from tracker.netguard import guarded_transport, plain_http_reason, proxied_target_reason

log = logging.getLogger("tracker.webhooks")

USER_AGENT = "ai-standards-tracker-webhooks/2"
MAX_BODY_BYTES = 20_000
MAX_CONTROL_IDS = 100  # ids listed in a message; the full list is behind impact_url
MAX_TEXT = 300  # characters kept of any one publisher-given text field
IMPACT_CHANGED = "impact.changed"
SUBSCRIPTION_TEST = "subscription.test"


@dataclass(frozen=True)
class ImpactSummary:
    """How much changed: counts of the event's changes by kind, and how many are substantive."""

    changes: int
    substantive: int
    by_kind: dict[str, int]
    affected_controls: int


@dataclass(frozen=True)
class ImpactChangedData:
    """An organisation's impact of one new version of a source (``impact.changed``)."""

    event_key: str
    organisation: str
    subscription_id: int
    source: str
    source_title: str
    old_version: str
    new_version: str
    diff_id: int
    impact_id: int
    occurred_at: str
    summary: ImpactSummary
    affected_controls: list[str]
    affected_controls_truncated: bool
    impact_url: str  # GET with the organisation's API key: the full worklist
    diff_url: str  # GET with any API key: every change with its redline


@dataclass(frozen=True)
class ImpactChangedMessage:
    type: str
    timestamp: str
    data: ImpactChangedData


@dataclass(frozen=True)
class TestData:
    """A message sent on request (``tracker subscriptions test-send``) to check a receiver."""

    organisation: str
    subscription_id: int
    note: str = "a test message: nothing changed"


@dataclass(frozen=True)
class TestMessage:
    type: str
    timestamp: str
    data: TestData


def _cut(text: Any) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def thin_event(event: Mapping[str, Any], public_url: str) -> ImpactChangedMessage:
    """The webhook message of one stored event snapshot (see :mod:`tracker.digests.events`)."""
    base = public_url.rstrip("/")
    changes = list(event.get("changes") or ())
    controls = [_cut(c) for c in event.get("affected_controls") or ()]
    org, diff_id = str(event.get("organisation", "")), int(event.get("diff_id") or 0)
    data = ImpactChangedData(
        event_key=str(event.get("event_key", "")),
        organisation=org,
        subscription_id=int(event.get("subscription_id") or 0),
        source=_cut(event.get("source")),
        source_title=_cut(event.get("source_title")),
        old_version=_cut(event.get("old_version")),
        new_version=_cut(event.get("new_version")),
        diff_id=diff_id,
        impact_id=int(event.get("impact_id") or 0),
        occurred_at=str(event.get("occurred_at", "")),
        summary=ImpactSummary(
            changes=len(changes),
            substantive=sum(1 for c in changes if c.get("substantive") is True),
            by_kind=dict(Counter(str(c.get("kind", "")) for c in changes)),
            affected_controls=len(controls),
        ),
        affected_controls=controls[:MAX_CONTROL_IDS],
        affected_controls_truncated=len(controls) > MAX_CONTROL_IDS,
        impact_url=f"{base}/v1/orgs/{org}/impacts/{diff_id}",
        diff_url=f"{base}/v1/diffs/{diff_id}",
    )
    return ImpactChangedMessage(IMPACT_CHANGED, data.occurred_at, data)


def encode(message: ImpactChangedMessage | TestMessage) -> bytes:
    return json.dumps(asdict(message), separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def signed_headers(msg_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The Standard Webhooks headers: one signature per secret (newest first), space-separated."""
    if not secrets:
        raise ValueError("a webhook needs a signing secret; rotate the subscription's secrets")
    signatures = " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "user-agent": USER_AGENT,
    }


class HttpWebhookNotifier:
    """POST with a timeout and no redirects (a redirect would re-send the body elsewhere).

    Unless ``allow_private`` is set (``TRACKER_WEBHOOK_ALLOW_PRIVATE``), a tenant's webhook
    URL cannot reach loopback, private or link-local addresses: direct connections go
    through :func:`tracker.netguard.guarded_transport`, which checks the address actually
    reached, even after DNS rebinding. With ``proxy`` (``TRACKER_WEBHOOK_PROXY``) every POST
    goes through that proxy and the receiver's host is checked before sending
    (:func:`tracker.netguard.proxied_target_reason`). Proxy variables of the environment
    are never used: they would route deliveries out of the guard's sight. Plain ``http://``
    is refused unless ``allow_http`` (``TRACKER_WEBHOOK_ALLOW_HTTP``), loopback excepted,
    even for a subscription stored before the operator turned it off.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        *,
        allow_private: bool = False,
        proxy: str = "",
        allow_http: bool = False,
    ) -> None:
        self.allow_private = allow_private
        self.allow_http = allow_http
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
        plain = plain_http_reason(url, allow_http=self.allow_http)
        if plain:
            raise DeliveryError(
                f"POST {url} refused: {plain}; use https or ask the operator for "
                "TRACKER_WEBHOOK_ALLOW_HTTP=1",
                permanent=True,
            )
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
            raise DeliveryError(
                f"POST {url} answered {response.status_code}",
                response.status_code,
                retry_after=response.headers.get("retry-after", ""),
            )
        return response.status_code

    def close(self) -> None:
        self.client.close()
