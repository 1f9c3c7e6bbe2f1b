"""The OpenAPI ``webhooks`` section: the messages this service POSTs to subscribers.

Each operation documents one event type, its body (the same dataclasses the sender encodes,
so the description cannot drift from what is sent) and the Standard Webhooks headers a
receiver verifies, e.g. with the ``standardwebhooks`` library:
``Webhook(secret).verify(body, headers)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Header

from tracker.digests.webhooks import IMPACT_CHANGED, SUBSCRIPTION_TEST, ImpactChangedMessage, TestMessage

_HEADERS = (
    "Signed per the Standard Webhooks specification: `webhook-signature` holds one "
    "`v1,<base64 HMAC-SHA256>` per live secret, space-separated (two during a secret "
    "rotation's grace period), over `<webhook-id>.<webhook-timestamp>.<body>`. Answer 2xx "
    "within 10 s; other answers are retried on the Standard Webhooks schedule (5 s, 5 min, "
    "30 min, 2 h, 5 h, 10 h, 10 h, with jitter); 429 and 503 may send `Retry-After`; 410 Gone "
    "disables the endpoint."
)

WebhookId = Annotated[str, Header(alias="webhook-id", description="stable across retries: deduplicate on it")]
WebhookTimestamp = Annotated[
    str, Header(alias="webhook-timestamp", description="Unix seconds of this attempt")
]
WebhookSignature = Annotated[
    str, Header(alias="webhook-signature", description="space-separated `v1,<base64>` signatures")
]


def install(app: FastAPI) -> None:
    @app.webhooks.post(
        IMPACT_CHANGED,
        summary="A new version of a followed source changed what the organisation's controls cover",
        description=(
            "A thin message: counts and affected control ids; fetch the full worklist from "
            "`data.impact_url` with the organisation's API key. " + _HEADERS
        ),
        operation_id="webhookImpactChanged",
    )
    def impact_changed(
        body: ImpactChangedMessage,
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """Documentation only: the receiver implements this."""

    @app.webhooks.post(
        SUBSCRIPTION_TEST,
        summary="A test message sent on request (POST .../subscriptions/{id}/test)",
        description=_HEADERS,
        operation_id="webhookSubscriptionTest",
    )
    def subscription_test(
        body: TestMessage,
        webhook_id: WebhookId,
        webhook_timestamp: WebhookTimestamp,
        webhook_signature: WebhookSignature,
    ) -> None:
        """Documentation only: the receiver implements this."""
