"""Webhook URLs cannot point the service at its own network (SSRF), unless the operator allows it.

Checked twice: when a subscription is created or changed (what the URL shows: an IP
literal, ``localhost``), and on every connection (the address actually reached), so a
name that resolves inward, or rebinds to an inward address after the first check,
never receives a byte. Tested against a real receiver on loopback.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support.api_world import World, client_for, seed
from tests.support.webhook_receiver import Receiver, serve_proxy
from tracker.digests.model import Channel, SubscriptionSpec
from tracker.digests.notifiers import DeliveryError
from tracker.digests.webhooks import HttpWebhookNotifier
from tracker.domain.errors import InvalidInputError
from tracker.netguard import check_webhook_url, literal_host_reason
from tracker.storage.subscriptions import SubscriptionStore


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/x", "loopback"),
        ("http://[::1]/x", "loopback"),
        ("http://localhost/x", "loopback"),
        ("https://api.localhost/x", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("https://hooks.example.org/tracker", ""),  # a name: judged when connecting
        ("https://8.8.8.8/hook", ""),
    ],
)
def test_literal_hosts(url: str, reason: str) -> None:
    assert literal_host_reason(url) == reason


def test_check_names_the_setting_that_allows_in_house_receivers() -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_webhook_url("http://10.0.0.5/hook", allow_private=False)
    assert "private" in str(caught.value) and "TRACKER_WEBHOOK_ALLOW_PRIVATE" in caught.value.hint
    check_webhook_url("http://10.0.0.5/hook", allow_private=True)


def test_api_refuses_inward_webhooks_unless_allowed(engine: Engine) -> None:
    world: World = seed(engine)
    base = "/v1/orgs/acme/subscriptions"
    body = {"channels": ["webhook"], "webhook_url": "http://127.0.0.1:9/hooks"}
    with client_for(engine) as client:
        refused = client.post(base, headers=world.auth("acme:write"), json=body)
        assert refused.status_code == 422, refused.text
        assert "loopback" in refused.json()["detail"]
        made = client.post(
            base,
            headers=world.auth("acme:write"),
            json={"channels": ["webhook"], "webhook_url": "https://hooks.example.org/x"},
        )
        assert made.status_code == 201
        patched = client.patch(
            f"{base}/{made.json()['id']}",
            headers=world.auth("acme:write"),
            json={"webhook_url": "http://169.254.169.254/latest"},
        )
        assert patched.status_code == 422 and "link-local" in patched.json()["detail"]
        kept = client.get(f"{base}/{made.json()['id']}", headers=world.auth("acme:read")).json()
        assert kept["webhook_url"] == "https://hooks.example.org/x"  # the refused change lost nothing
    with client_for(engine, webhook_allow_private=True) as client:
        assert client.post(base, headers=world.auth("acme:write"), json=body).status_code == 201


def test_store_refuses_inward_webhooks(sqlite_engine: Engine) -> None:
    world: World = seed(sqlite_engine)
    spec = SubscriptionSpec(channels=(Channel.WEBHOOK,), webhook_url="http://localhost:8080/x")
    with pytest.raises(InvalidInputError):
        SubscriptionStore(sqlite_engine).create(world.orgs["acme"], spec)
    SubscriptionStore(sqlite_engine, allow_private_webhooks=True).create(world.orgs["acme"], spec)


def test_delivery_never_reaches_an_inward_address(receiver: Receiver) -> None:
    """A name that passes the creation check but resolves to loopback is stopped on connect."""
    guarded = HttpWebhookNotifier(timeout=5)
    try:
        for url in (receiver.url, f"http://localhost:{receiver.port}/hooks/tracker"):
            with pytest.raises(DeliveryError) as caught:
                guarded.post(url, {"content-type": "application/json"}, b"{}")
            # the subscriber reads one uniform reason; the operator's detail names the address
            assert "SSRF guard" in str(caught.value) and "loopback" not in str(caught.value)
            assert "loopback" in caught.value.detail
    finally:
        guarded.close()
    assert receiver.requests == []  # not one request reached the receiver
    allowed = HttpWebhookNotifier(timeout=5, allow_private=True)
    try:
        assert allowed.post(receiver.url, {"content-type": "application/json"}, b"{}") == 200
    finally:
        allowed.close()
    assert len(receiver.requests) == 1


def test_deliveries_through_the_operators_proxy(receiver: Receiver) -> None:
    """With TRACKER_WEBHOOK_PROXY every POST goes through the proxy; a receiver host that is
    visibly internal, or resolves inward here, is refused before the proxy sees anything."""
    with serve_proxy(receiver.port) as proxy:
        # the loopback proxy only speaks plain HTTP, so the operator allows http:// receivers
        notifier = HttpWebhookNotifier(timeout=5, proxy=proxy.url, allow_http=True)
        try:
            for url in (receiver.url, f"http://localhost:{receiver.port}/x", "http://10.0.0.7/x"):
                with pytest.raises(DeliveryError) as caught:
                    notifier.post(url, {"content-type": "application/json"}, b"{}")
                assert "SSRF guard" in str(caught.value) and "nothing was sent" in str(caught.value)
            assert proxy.seen == [] and receiver.requests == []
            # a name this machine cannot resolve is the proxy's to resolve (and to police)
            status = notifier.post(
                "http://hooks.invalid/tracker", {"content-type": "application/json"}, b"{}"
            )
        finally:
            notifier.close()
    assert status == 200 and proxy.seen == ["POST http://hooks.invalid/tracker"]
    assert len(receiver.requests) == 1 and receiver.requests[0][1] == b"{}"


def test_environment_proxies_are_never_used(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTTP_PROXY left in the environment must not carry deliveries out of the guard's sight."""
    with serve_proxy(receiver.port) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        allowed = HttpWebhookNotifier(timeout=5, allow_private=True)
        try:
            assert allowed.post(receiver.url, {"content-type": "application/json"}, b"{}") == 200
        finally:
            allowed.close()
    assert proxy.seen == [] and len(receiver.requests) == 1  # straight to the receiver
