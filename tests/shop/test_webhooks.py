"""Signed webhooks: a real HTTP server on 127.0.0.1 receives them; retries, duplicates, the log, the admin."""

import ast
import datetime
import json
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from solana_payments.models import OneTimeWallet, Payment, WalletState
from solana_payments.operations.base import run_operation
from solana_payments.payments import create_payment
from solana_payments.signals import payment_accepted, payment_refunded
from solana_payments.webhooks.delivery import backoff_seconds, deliver
from solana_payments.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.support.webhooks import accept, check_signature

pytestmark = pytest.mark.django_db

ALL_EVENTS = [e.value for e in WebhookEvent]


@pytest.fixture(autouse=True)
def private_networks_allowed(configure):
    """The receivers of these tests listen on 127.0.0.1 (test_webhook_addresses.py refuses it)."""
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)


@pytest.fixture
def endpoint(receiver_server):
    return WebhookEndpoint.objects.create(url=receiver_server.url, events=ALL_EVENTS)


@pytest.fixture
def payment(tokens):
    return create_payment({"SOL": Decimal("0.5")}, label="Order 9", email="hidden@example.com",
                          metadata={"order_id": 9})  # fmt: skip


def test_a_delivery_reaches_the_server_signed(
    receiver_server, endpoint, payment, django_capture_on_commit_callbacks
):
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert (delivery.status, delivery.attempts, delivery.event) == ("pending", 0, "payment.accepted")
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED

    (headers, body), = receiver_server.requests  # fmt: skip
    assert check_signature(endpoint.secret, headers, body)["id"] == headers["webhook-id"]
    assert headers["webhook-id"] == f"payment.accepted:{payment.reference}"
    assert headers["Solana-Payments-Event"] == "payment.accepted"
    assert headers["Solana-Payments-Delivery"] == str(delivery.pk)
    event = json.loads(body)
    assert event["type"] == "payment.accepted" and event["id"] == f"payment.accepted:{payment.reference}"
    assert event["data"]["reference"] == str(payment.reference)
    assert event["data"]["metadata"] == {"order_id": 9} and event["data"]["label"] == "Order 9"
    assert b"hidden@example.com" not in body and endpoint.secret.encode() not in body

    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.last_response_ms is not None and delivery.delivered_at and delivery.last_error == ""


def test_a_500_is_retried_with_backoff(
    receiver_server, endpoint, payment, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    receiver_server.replies = [("status", 500), ("status", 503)]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    before = timezone.now()
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_status_code == 500 and delivery.last_error.startswith("HTTP 500")
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert (
        before + datetime.timedelta(seconds=29)
        < delivery.next_attempt_at
        < before + datetime.timedelta(seconds=32)
    )

    # The retry is a one-off django-q2 schedule; run it as the scheduler would.
    schedule = Schedule.objects.get()
    assert schedule.schedule_type == Schedule.ONCE and schedule.next_run == delivery.next_attempt_at
    assert import_string(schedule.func)(*ast.literal_eval(f"({schedule.args},)")) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 503
    second = Schedule.objects.order_by("pk").last()
    assert second.args == f"{delivery.pk}, 2"
    assert delivery.next_attempt_at - timezone.now() > datetime.timedelta(seconds=55)  # 60 s: doubled

    assert deliver(delivery.pk, 2) == DeliveryStatus.SUCCEEDED
    assert len(receiver_server.requests) == 3
    assert len({h["Solana-Payments-Delivery"] for h, _ in receiver_server.requests}) == 1
    assert len({b for _, b in receiver_server.requests}) == 1  # the same body every time
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 3 and delivery.last_error == ""


def test_a_timeout_is_retried(
    receiver_server, endpoint, payment, configure, django_capture_on_commit_callbacks
):
    configure(WEBHOOK_TIMEOUT=0.5)
    receiver_server.replies = [("sleep", 2)]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error == "no response within 0.5 s" and delivery.last_status_code is None
    assert 450 <= delivery.last_response_ms < 1500
    assert deliver(delivery.pk, 1) == DeliveryStatus.SUCCEEDED


def test_retries_stop_after_the_retry_window(
    receiver_server, endpoint, payment, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    assert [backoff_seconds(n) for n in (0, 1, 2, 6, 7, 20)] == [30, 60, 120, 1920, 3600, 3600]
    receiver_server.replies = [("status", 500)]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        retry_until=timezone.now() + datetime.timedelta(seconds=10)
    )
    assert deliver(delivery.pk, 0) == DeliveryStatus.FAILED
    assert not Schedule.objects.exists()


def test_an_unreachable_url_is_logged(endpoint, payment, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="http://127.0.0.1:9/nothing-listens")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("cannot connect") and delivery.last_status_code is None


def test_a_bad_url_is_a_failed_attempt_not_a_stuck_one(endpoint, payment, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="not a url")
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("bad URL") and delivery.attempts == 1


def test_one_delivery_per_event_and_endpoint(
    receiver_server, endpoint, payment, django_capture_on_commit_callbacks
):
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert accept(payment, django_capture_on_commit_callbacks) == [delivery]  # the signal again: same row
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    assert deliver(delivery.pk, 0) is None  # the task delivered twice: claimed already
    assert len(receiver_server.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_endpoints_get_only_their_events(receiver_server, payment, django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(url=receiver_server.url, events=["payment.expired"])
    WebhookEndpoint.objects.create(url=receiver_server.url, events=ALL_EVENTS, is_active=False)
    assert accept(payment, django_capture_on_commit_callbacks) == []
    refunds = WebhookEndpoint.objects.create(url=receiver_server.url, events=["payment.refunded"])
    (delivery,) = accept(payment, django_capture_on_commit_callbacks, signal=payment_refunded)
    assert delivery.endpoint == refunds and delivery.event == "payment.refunded"


def test_settling_sends_accepted_and_flagged(
    shop, receiver_server, endpoint, django_capture_on_commit_callbacks
):
    """The real path: a customer overpays on the local chain, recheck settles it, two events go out."""
    payment = shop.new_payment({"USDC": Decimal("25")})
    shop.pay(payment, "USDC", 30_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_operation("recheck")
    assert run.counts["reconciled"] == 1
    deliveries = {d.event: d for d in WebhookDelivery.objects.all()}
    assert set(deliveries) == {"payment.received", "payment.accepted", "payment.flagged"}
    assert deliveries["payment.received"].payload["data"]["transfer"]["received_total"] == "30"
    flagged = deliveries["payment.flagged"]
    assert flagged.event_key == f"payment.flagged:{payment.reference}:overpaid"
    assert flagged.payload["data"]["exception"] == "overpaid"
    assert flagged.payload["data"]["options"][0]["amount_paid"] == "30"
    for delivery in deliveries.values():
        assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    assert sorted(json.loads(b)["type"] for _, b in receiver_server.requests) == [
        "payment.accepted",
        "payment.flagged",
        "payment.received",
    ]


def test_the_admin_shows_the_secret_once_and_logs_deliveries(
    admin_client, receiver_server, payment, django_capture_on_commit_callbacks
):
    add = reverse("admin:solana_payments_webhookendpoint_add")
    response = admin_client.post(
        add, {"url": receiver_server.url, "description": "shop", "events": ["payment.accepted"], "is_active": "on"},
        follow=True,
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["payment.accepted"] and endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()  # shown once, right after saving
    change = reverse("admin:solana_payments_webhookendpoint_change", args=[endpoint.pk])
    assert endpoint.secret not in admin_client.get(change).content.decode()
    assert (
        endpoint.secret
        not in admin_client.get(reverse("admin:solana_payments_webhookendpoint_changelist")).content.decode()
    )
    old = endpoint.secret
    response = admin_client.post(change, {"url": receiver_server.url, "events": ["payment.accepted"],
                                          "is_active": "on", "new_secret": "on"}, follow=True)  # fmt: skip
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    assert old not in response.content.decode()
    with pytest.raises(NoReverseMatch):  # neither endpoints nor deliveries can be exported
        reverse("admin:solana_payments_webhookendpoint_export")

    receiver_server.replies = [("status", 500)]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    deliver(delivery.pk, 0)
    log = admin_client.get(reverse("admin:solana_payments_webhookdelivery_changelist")).content.decode()
    assert "payment.accepted" in log and "500" in log and "HTTP 500" in log and " ms" in log
    assert endpoint.secret not in log
    detail = admin_client.get(reverse("admin:solana_payments_webhookdelivery_change", args=[delivery.pk]))
    assert detail.status_code == 200 and endpoint.secret not in detail.content.decode()
    assert admin_client.get(reverse("admin:solana_payments_webhookdelivery_add")).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:solana_payments_webhookdelivery_changelist"),
            {"action": "redeliver_selected", "_selected_action": [delivery.pk]},
            follow=True,
        )
    assert "1 deliveries queued again." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert deliver(delivery.pk, 1) == DeliveryStatus.SUCCEEDED
    assert len(receiver_server.requests) == 2


@pytest.fixture
def fast_retries(configure):
    """Set before the cluster starts: its workers are forked with the settings of that moment."""
    configure(WEBHOOK_BACKOFF_SECONDS=1)


@pytest.mark.django_db(transaction=True)
def test_deliveries_on_a_real_cluster(fast_retries, receiver_server, tokens, q_cluster):
    """Signal -> delivery row -> django-q2 task on a worker -> 500 -> one-off schedule -> retried -> 200;
    the same task queued a second time sends nothing more."""
    from django_q.tasks import async_task

    endpoint = WebhookEndpoint.objects.create(url=receiver_server.url, events=ALL_EVENTS)
    payment = create_payment({"SOL": Decimal("0.5")}, label="Order 1")
    receiver_server.replies = [("status", 500)]
    with transaction.atomic():
        payment_accepted.send(sender=Payment, payment=payment)
        assert not WebhookDelivery.objects.filter(attempts__gt=0).exists()
    delivery = WebhookDelivery.objects.get()

    deadline = time.monotonic() + 90  # the cluster's scheduler looks at schedules every 30 s
    while delivery.status != DeliveryStatus.SUCCEEDED:
        assert time.monotonic() < deadline, f"delivery still {delivery.status} ({delivery.last_error})"
        time.sleep(0.3)
        delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 200
    assert len(receiver_server.requests) == 2
    for headers, body in receiver_server.requests:
        check_signature(endpoint.secret, headers, body)

    async_task("solana_payments.webhooks.delivery.deliver", delivery.pk, 0)  # a stale duplicate task
    async_task("solana_payments.webhooks.delivery.deliver", delivery.pk, 1)
    from django_q.models import OrmQ, Success

    deadline = time.monotonic() + 30
    while OrmQ.objects.exists() or Success.objects.filter(func__endswith="deliver").count() < 4:
        assert time.monotonic() < deadline, "the duplicate tasks never ran"
        time.sleep(0.3)
    assert len(receiver_server.requests) == 2  # nothing sent twice
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == DeliveryStatus.SUCCEEDED


def test_expiring_underpaid_sends_expired_and_flagged(
    shop, receiver_server, endpoint, django_capture_on_commit_callbacks
):
    payment = shop.new_payment({"PYUSD": Decimal("10")}, expires_in=1)
    shop.pay(payment, "PYUSD", 4_000_000)
    time.sleep(1.1)
    with django_capture_on_commit_callbacks(execute=True):
        run = run_operation("expire", ids=[payment.pk])
    assert run.counts["underpaid"] == 1
    deliveries = {d.event: d for d in WebhookDelivery.objects.all()}
    assert set(deliveries) == {"payment.received", "payment.expired", "payment.flagged"}
    assert deliveries["payment.flagged"].payload["data"]["exception"] == "underpaid"
    assert deliveries["payment.flagged"].payload["data"]["options"][0]["amount_paid"] == "4"


def test_money_reaching_an_expired_payment_is_accepted_and_flagged_paid_late(
    shop, receiver_server, endpoint, django_capture_on_commit_callbacks
):
    payment = shop.new_payment({"USDC": Decimal("5")}, expires_in=1)
    time.sleep(1.1)
    with django_capture_on_commit_callbacks(execute=True):
        run_operation("expire", ids=[payment.pk])
    # Expire closed the wallet; a customer pays anyway (their wallet re-creates the token account), and
    # the wallet is back where reclaim looks (as in test_op_expire_reclaim).
    shop.pay(payment, "USDC", 5_000_000)
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(state=WalletState.PAYMENT_EXPIRED)
    with django_capture_on_commit_callbacks(execute=True):
        reclaim = run_operation("reclaim", ids=[payment.wallet_id])
    assert reclaim.counts["settled"] == 1  # within LATE_PAYMENT_WINDOW: accepted, whoever saw it first
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("confirmed", "paid_late")
    keys = sorted(WebhookDelivery.objects.values_list("event_key", flat=True))
    (received,) = [k for k in keys if k.startswith("payment.received:")]  # the customer's transfer
    assert keys == sorted(
        [
            f"payment.accepted:{payment.reference}",
            f"payment.expired:{payment.reference}",
            f"payment.flagged:{payment.reference}:paid_late",
            received,
        ]
    )


def test_a_new_endpoint_hears_every_event_and_a_test_event_reaches_it(
    admin_client, receiver_server, django_capture_on_commit_callbacks
):
    add = reverse("admin:solana_payments_webhookendpoint_add")
    form = admin_client.get(add).content.decode()
    for event in WebhookEvent.values:  # every event is ticked on a new endpoint
        assert (
            f'value="{event}"' in form
            and form.split(f'value="{event}"')[1].split(">")[0].count("checked") == 1
        )
    silent = admin_client.post(add, {"url": receiver_server.url, "is_active": "on"})
    assert "Tick at least one event" in silent.content.decode() and not WebhookEndpoint.objects.exists()

    admin_client.post(add, {"url": receiver_server.url, "events": WebhookEvent.values, "is_active": "on"})
    endpoint = WebhookEndpoint.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:solana_payments_webhookendpoint_changelist"),
            {"action": "send_test_events", "_selected_action": [endpoint.pk]},
            follow=True,
        )
    assert "1 test event queued (type <code>webhook.test</code>)" in response.content.decode()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    (headers, body), = receiver_server.requests  # fmt: skip
    check_signature(endpoint.secret, headers, body)  # signed like any event
    assert headers["Solana-Payments-Event"] == "webhook.test"
    event = json.loads(body)
    assert event["type"] == "webhook.test" and event["data"] == {} and event["id"] == delivery.event_key

    page = admin_client.get(reverse("admin:solana_payments_webhookdelivery_change", args=[delivery.pk]))
    assert "e.g. payment.accepted:&lt;reference&gt;." in page.content.decode()  # shown, not taken as markup
