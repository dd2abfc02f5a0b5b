"""Retries as the Standard Webhooks spec advises: 410 disables the endpoint, 429 and 5xx are retried no
sooner than their Retry-After, an endpoint failing for longer than WEBHOOK_RETRY_SECONDS is disabled and
shown on the dashboard; a redelivery by hand still works once it is turned on again."""

import datetime
import email.utils
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from solana_payments.payments import create_payment
from solana_payments.signals import payment_expired
from solana_payments.webhooks.delivery import deliver
from solana_payments.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.support.webhooks import accept

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_networks_allowed(configure):
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)  # the receiver listens on 127.0.0.1


@pytest.fixture
def endpoint(receiver_server):
    return WebhookEndpoint.objects.create(
        url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED, WebhookEvent.PAYMENT_EXPIRED]
    )


@pytest.fixture
def payment(tokens):
    return create_payment({"SOL": Decimal("0.5")})


def seconds_until(moment):
    return (moment - timezone.now()).total_seconds()


def test_410_gone_disables_the_endpoint(
    admin_client, receiver_server, endpoint, payment, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    receiver_server.replies = [("status", 410)]
    accepted, expired = (
        accept(payment, django_capture_on_commit_callbacks)
        + accept(payment, django_capture_on_commit_callbacks, signal=payment_expired)[1:]
    )
    assert deliver(accepted.pk, 0) == DeliveryStatus.FAILED  # not retried
    assert not Schedule.objects.exists()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason == "the endpoint answered 410 Gone"
    # The endpoint's other deliveries are not sent any more, and new events make none.
    assert deliver(expired.pk, 0) == DeliveryStatus.FAILED
    expired.refresh_from_db()
    assert expired.last_error == "not sent: the endpoint is disabled"
    assert len(receiver_server.requests) == 1
    accept(create_payment({"SOL": Decimal("0.6")}), django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 2

    dashboard = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert "1 webhook endpoint disabled for failing" in dashboard

    # Turned on again in the admin: its failures are forgotten, and a redelivery by hand goes through.
    change = reverse("admin:solana_payments_webhookendpoint_change", args=[endpoint.pk])
    admin_client.post(change, {"url": endpoint.url, "events": endpoint.events, "is_active": "on"})
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == "" and endpoint.failing_since is None
    assert (
        "sp-disabled-endpoints"
        not in admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:solana_payments_webhookdelivery_changelist"),
            {"action": "redeliver_selected", "_selected_action": [accepted.pk]},
        )
    assert deliver(accepted.pk, 1) == DeliveryStatus.SUCCEEDED


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(
    receiver_server, endpoint, payment, status, django_capture_on_commit_callbacks
):
    receiver_server.replies = [("status", status, {"Retry-After": "600"})]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert 590 < seconds_until(delivery.next_attempt_at) <= 600  # not the 30 s of the first backoff


def test_retry_after_as_a_date(receiver_server, endpoint, payment, django_capture_on_commit_callbacks):
    when = timezone.now() + datetime.timedelta(seconds=900)
    receiver_server.replies = [
        ("status", 503, {"Retry-After": email.utils.format_datetime(when, usegmt=True)})
    ]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert 880 < seconds_until(delivery.next_attempt_at) <= 900


def test_a_retry_after_past_the_retry_window_fails_the_delivery(
    receiver_server, endpoint, payment, configure, django_capture_on_commit_callbacks
):
    configure(WEBHOOK_RETRY_SECONDS=3600)
    receiver_server.replies = [("status", 429, {"Retry-After": "7200"})]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.FAILED
    endpoint.refresh_from_db()
    assert endpoint.is_active  # one refusal is no reason to disable it


def test_an_endpoint_failing_for_longer_than_the_retry_window_is_disabled(
    admin_client, receiver_server, endpoint, payment, configure, django_capture_on_commit_callbacks
):
    configure(WEBHOOK_RETRY_SECONDS=3600)
    receiver_server.replies = [("status", 500), ("status", 500)]
    accepted, expired = (
        accept(payment, django_capture_on_commit_callbacks)
        + accept(payment, django_capture_on_commit_callbacks, signal=payment_expired)[1:]
    )
    assert deliver(accepted.pk, 0) == DeliveryStatus.PENDING
    endpoint.refresh_from_db()
    first_failure = endpoint.failing_since
    assert endpoint.is_active and first_failure is not None

    # An hour and more later, it still fails: the endpoint is disabled.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - datetime.timedelta(seconds=3601)
    )
    assert deliver(expired.pk, 0) == DeliveryStatus.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_reason.startswith("every attempt failed since")
    dashboard = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert "1 webhook endpoint disabled for failing" in dashboard


def test_a_success_resets_the_failing_clock(
    receiver_server, endpoint, payment, django_capture_on_commit_callbacks
):
    receiver_server.replies = [("status", 500)]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    deliver(delivery.pk, 0)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert deliver(delivery.pk, 1) == DeliveryStatus.SUCCEEDED
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.is_active
