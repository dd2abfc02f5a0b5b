"""Webhook URLs that reach inside: refused when saved and again at each attempt, unless
WEBHOOK_ALLOW_PRIVATE_NETWORKS. Names are made to resolve where a test wants by patching the resolver;
nothing here connects anywhere but 127.0.0.1, and a refused attempt connects nowhere at all."""

import asyncio
import socket
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from solana_payments.payments import create_payment
from solana_payments.webhooks.addresses import is_public
from solana_payments.webhooks.delivery import deliver
from solana_payments.webhooks.models import DeliveryStatus, WebhookEndpoint, WebhookEvent
from solana_payments.webhooks.sending import _target
from tests.support.webhooks import accept

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"  # only ever resolved to, never connected to


@pytest.fixture
def dns(monkeypatch):
    """``dns["hooks.shop.test"] = ["127.0.0.1"]`` makes that name resolve there; counts the lookups."""
    answers, lookups = {}, []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        host = host.decode() if isinstance(host, bytes) else host  # asyncio's connections pass bytes
        if host in answers:
            lookups.append(host)
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["lookups"] = lookups
    return answers


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254", "100.100.100.200", "::1", "fd00:ec2::254",
     "::ffff:127.0.0.1", "64:ff9b::a00:1", "0.0.0.0", "224.0.0.1"],
)  # fmt: skip
def test_a_name_resolving_to_a_private_address_is_refused_when_saved(dns, address):
    dns["hooks.shop.test"] = [PUBLIC, address]  # one private answer among public ones is enough
    endpoint = WebhookEndpoint(url="https://hooks.shop.test/solana", events=[WebhookEvent.PAYMENT_ACCEPTED])
    with pytest.raises(ValidationError) as error:
        endpoint.full_clean()
    assert "private" in error.value.message_dict["url"][0]


def test_addresses_that_are_public(dns):
    assert is_public(__import__("ipaddress").ip_address(PUBLIC))
    dns["hooks.shop.test"] = [PUBLIC, "2606:4700::1"]
    WebhookEndpoint(url="https://hooks.shop.test/solana", events=[]).full_clean()


def test_literal_private_addresses_are_refused_unless_allowed(configure):
    for url in (
        "http://127.0.0.1:8000/hooks",
        "http://[::1]/hooks",
        "http://169.254.169.254/latest/meta-data",
    ):
        with pytest.raises(ValidationError):
            WebhookEndpoint(url=url, events=[]).full_clean()
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
    WebhookEndpoint(url="http://127.0.0.1:8000/hooks", events=[]).full_clean()


def test_the_admin_form_refuses_a_private_address(admin_client, dns):
    dns["intranet.shop.test"] = ["10.1.2.3"]
    response = admin_client.post(
        reverse("admin:solana_payments_webhookendpoint_add"),
        {"url": "https://intranet.shop.test/hooks", "events": ["payment.accepted"], "is_active": "on"},
    )
    assert response.status_code == 200 and "private" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_address_that_turned_private_after_saving_is_refused_at_delivery(
    dns, receiver_server, tokens, django_capture_on_commit_callbacks
):
    """Saved while the name pointed to a public address; by the attempt it points to the receiver on
    127.0.0.1 (DNS rebinding). The attempt connects nowhere, and the log shows no answer."""
    dns["hooks.shop.test"] = [PUBLIC]
    url = f"http://hooks.shop.test:{receiver_server.port}/hooks/solana"
    endpoint = WebhookEndpoint(url=url, events=[WebhookEvent.PAYMENT_ACCEPTED])
    endpoint.full_clean()
    endpoint.save()
    dns["hooks.shop.test"] = ["127.0.0.1"]
    payment = create_payment({"SOL": Decimal("0.5")})
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error == "refused: private address" and delivery.last_status_code is None
    assert receiver_server.requests == []


def test_allowed_private_networks_are_delivered_to(
    dns, configure, receiver_server, tokens, django_capture_on_commit_callbacks
):
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)
    dns["hooks.shop.test"] = ["127.0.0.1"]
    url = f"http://hooks.shop.test:{receiver_server.port}/hooks/solana"
    endpoint = WebhookEndpoint(url=url, events=[WebhookEvent.PAYMENT_ACCEPTED])
    endpoint.full_clean()
    endpoint.save()
    (delivery,) = accept(create_payment({"SOL": Decimal("0.5")}), django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    ((headers, _body),) = receiver_server.requests
    assert headers["Host"] == f"hooks.shop.test:{receiver_server.port}"


def test_a_slow_name_server_is_within_the_deadline(
    monkeypatch, configure, tokens, django_capture_on_commit_callbacks
):
    """The lookup is part of the attempt: a resolver that takes 3 s does not hold a 1 s attempt."""
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True, WEBHOOK_TIMEOUT=1)
    WebhookEndpoint.objects.create(url="http://slow.shop.test/hooks", events=[WebhookEvent.PAYMENT_ACCEPTED])
    real = socket.getaddrinfo

    def slow(host, *args, **kwargs):
        if host in ("slow.shop.test", b"slow.shop.test"):
            time.sleep(3)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    (delivery,) = accept(create_payment({"SOL": Decimal("0.5")}), django_capture_on_commit_callbacks)
    started = time.monotonic()
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    assert time.monotonic() - started < 2
    delivery.refresh_from_db()
    assert delivery.last_error == "no response within 1 s"


def test_an_attempt_connects_to_the_address_it_checked(dns):
    """One lookup per attempt; the request goes to that address, the name stays in Host and TLS SNI."""
    dns["hooks.shop.test"] = [PUBLIC]
    url, extensions, headers = asyncio.run(_target("https://hooks.shop.test:8443/in?a=1", {"X": "y"}))
    assert url == f"https://{PUBLIC}:8443/in?a=1"
    assert extensions == {"sni_hostname": "hooks.shop.test"}
    assert headers == {"X": "y", "Host": "hooks.shop.test:8443"}
    assert dns["lookups"] == ["hooks.shop.test"]
    dns["v6.shop.test"] = ["2606:4700::1"]
    url, extensions, headers = asyncio.run(_target("http://v6.shop.test/in", {}))
    assert url == "http://[2606:4700::1]/in" and extensions == {} and headers == {"Host": "v6.shop.test"}
