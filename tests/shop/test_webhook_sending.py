"""One webhook attempt against endpoints that misbehave: it ends within WEBHOOK_TIMEOUT whatever the server
does, never follows a redirect, goes to http(s) URLs only, and always leaves a delivery to retry."""

import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from solana_payments.payments import create_payment
from solana_payments.webhooks.delivery import deliver
from solana_payments.webhooks.models import DeliveryStatus, WebhookEndpoint, WebhookEvent
from tests.support.webhooks import RawServer, accept, drip, ftp_greeting, redirect_to

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_networks_allowed(configure):
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)  # the servers listen on 127.0.0.1


@pytest.fixture
def payment(tokens):
    return create_payment({"SOL": Decimal("0.5")}, label="Order 7")


@pytest.fixture
def raw_server():
    servers = []

    def start(respond):
        servers.append(RawServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def endpoint_at(url):
    """An endpoint row as an old release could have saved it (no validation on the way in)."""
    return WebhookEndpoint.objects.bulk_create(
        [WebhookEndpoint(url=url, events=[WebhookEvent.PAYMENT_ACCEPTED])]
    )


def test_one_deadline_bounds_the_whole_attempt(
    raw_server, payment, configure, django_capture_on_commit_callbacks
):
    """An endpoint that drips its headers a byte every 0.5 s: each read is quick, the attempt is not."""
    configure(WEBHOOK_TIMEOUT=1)
    server = raw_server(drip)
    endpoint_at(f"http://127.0.0.1:{server.port}/hooks")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    started = time.monotonic()
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING  # failed, and retried later
    assert time.monotonic() - started < 2.5
    delivery.refresh_from_db()
    assert delivery.last_error == "no response within 1 s" and delivery.last_status_code is None
    assert 900 <= delivery.last_response_ms < 2500
    assert server.connections == 1


def test_ftp_urls_are_refused_when_saved(payment):
    for url in ("ftp://127.0.0.1/hooks", "ftps://127.0.0.1/hooks", "file:///etc/passwd"):
        endpoint = WebhookEndpoint(url=url, events=[WebhookEvent.PAYMENT_ACCEPTED])
        with pytest.raises(ValidationError) as error:
            endpoint.full_clean()
        assert "url" in error.value.message_dict


def test_the_admin_form_refuses_an_ftp_url(admin_client):
    response = admin_client.post(
        reverse("admin:solana_payments_webhookendpoint_add"),
        {"url": "ftp://127.0.0.1/hooks", "events": ["payment.accepted"], "is_active": "on"},
    )
    assert response.status_code == 200 and "Enter an http:// or https:// URL." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_ftp_url_saved_before_is_a_failed_attempt(raw_server, payment, django_capture_on_commit_callbacks):
    server = raw_server(ftp_greeting)
    endpoint_at(f"ftp://127.0.0.1:{server.port}/hooks")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error == "bad URL: only http and https URLs are sent to, not 'ftp'"
    assert server.connections == 0  # nothing was sent there


def test_an_ftp_server_behind_an_http_url_is_a_failed_attempt(
    raw_server, payment, django_capture_on_commit_callbacks
):
    server = raw_server(ftp_greeting)
    endpoint_at(f"http://127.0.0.1:{server.port}/hooks")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING  # not stuck "sending", and retried
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code is None
    # The FTP greeting is not HTTP; when the server hangs up first, the client sees a failed read instead.
    assert delivery.last_error.startswith(("RemoteProtocolError", "ReadError"))
    assert server.connections == 1


def test_redirects_are_not_followed(raw_server, receiver_server, payment, django_capture_on_commit_callbacks):
    server = raw_server(redirect_to(receiver_server.url))
    endpoint_at(f"http://127.0.0.1:{server.port}/hooks")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_status_code == 307
    assert delivery.last_error == "HTTP 307 (redirects are not followed)"
    assert receiver_server.requests == []  # the signed body never reached the other URL


def test_a_long_answer_is_read_no_further_than_the_cap(
    raw_server, payment, django_capture_on_commit_callbacks
):
    """A 2xx whose body never ends: the attempt succeeds once the first 64 KiB are in, without waiting."""

    def endless(connection, stopped):
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        while not stopped.is_set():
            connection.sendall(b"x" * 65536)

    server = raw_server(endless)
    endpoint_at(f"http://127.0.0.1:{server.port}/hooks")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    delivery.refresh_from_db()
    assert delivery.last_status_code == 200 and delivery.last_response_ms < 5000
