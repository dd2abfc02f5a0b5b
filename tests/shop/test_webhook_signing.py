"""Deliveries are signed to the Standard Webhooks spec and verified here with its reference library
(``standardwebhooks``), as a receiver written from docs/integration.md does; two secrets sign while an
endpoint rotates; the old header keeps working for receivers set up before."""

import base64
import json
import re
import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from solana_payments.payments import create_payment
from solana_payments.signals import payment_expired
from solana_payments.webhooks.delivery import deliver
from solana_payments.webhooks.models import DeliveryStatus, WebhookEndpoint, WebhookEvent
from tests.support.webhooks import accept, check_legacy_signature, check_signature

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_networks_allowed(configure):
    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)  # the receiver listens on 127.0.0.1


@pytest.fixture
def payment(tokens):
    return create_payment({"SOL": Decimal("0.5")}, label="Order 3", metadata={"order_id": 3})


def test_new_secrets_are_standard_webhooks_secrets():
    secret = WebhookEndpoint.objects.create(url="https://shop.test/hooks", events=[]).secret
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    Webhook(secret)  # the library takes it as it is shown


def test_a_receiver_verifies_with_the_standard_library(
    receiver_server, payment, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.create(url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED])
    receiver_server.replies = [("status", 500)]
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    deliver(delivery.pk, 0)
    assert deliver(delivery.pk, 1) == DeliveryStatus.SUCCEEDED
    first, second = receiver_server.requests
    for headers, body in (first, second):
        event = check_signature(endpoint.secret, headers, body)
        assert event["type"] == "payment.accepted" and event["data"]["metadata"] == {"order_id": 3}
        assert headers["webhook-id"] == event["id"] == f"payment.accepted:{payment.reference}"
    assert first[0]["webhook-id"] == second[0]["webhook-id"]  # the same message, retried

    headers, body = second
    with pytest.raises(WebhookVerificationError):
        check_signature(endpoint.secret, headers, body.replace(b"Order 3", b"Order 4"))
    with pytest.raises(WebhookVerificationError):
        check_signature(endpoint.secret, {**headers, "webhook-id": "payment.accepted:other"}, body)
    with pytest.raises(WebhookVerificationError):
        check_signature(WebhookEndpoint(url="https://x.test").secret, headers, body)


def test_two_secrets_sign_while_an_endpoint_rotates(
    admin_client, receiver_server, payment, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpoint.objects.create(url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED])
    old = endpoint.secret
    change = reverse("admin:solana_payments_webhookendpoint_change", args=[endpoint.pk])
    form = {"url": receiver_server.url, "events": ["payment.accepted"], "is_active": "on"}
    response = admin_client.post(change, {**form, "new_secret": "on"}, follow=True)
    endpoint.refresh_from_db()
    new = endpoint.secret
    assert new != old and endpoint.previous_secret == old
    page = response.content.decode()
    assert new in page and old not in page  # the new secret shown once; the old one never again
    assert "the new and the previous secret sign" in admin_client.get(change).content.decode()

    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    headers, body = receiver_server.requests[-1]
    assert len(headers["webhook-signature"].split(" ")) == 2
    check_signature(new, headers, body)  # a receiver moved to the new secret
    check_signature(old, headers, body)  # one that has not yet

    admin_client.post(change, {**form, "end_rotation": "on"})
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == "" and endpoint.secret == new
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(events=["payment.expired"])
    (expired,) = accept(payment, django_capture_on_commit_callbacks, signal=payment_expired)[1:]
    assert deliver(expired.pk, 0) == DeliveryStatus.SUCCEEDED
    headers, body = receiver_server.requests[-1]
    check_signature(new, headers, body)
    with pytest.raises(WebhookVerificationError):
        check_signature(old, headers, body)


def test_receivers_set_up_before_keep_verifying(receiver_server, payment, django_capture_on_commit_callbacks):
    """An endpoint made by the previous release has a URL-safe secret, which its receiver checks the old
    header with; written in standard base64 (docs/integration.md says how), the library verifies too."""
    legacy = "whsec_" + secrets.token_urlsafe(32)
    WebhookEndpoint.objects.create(
        url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED], secret=legacy
    )
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    ((headers, body),) = receiver_server.requests
    check_legacy_signature(legacy, headers, body)
    key = legacy.removeprefix("whsec_")
    standard = "whsec_" + base64.b64encode(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))).decode()
    check_signature(standard, headers, body)


def test_the_old_header_follows_the_previous_secret_while_rotating(
    receiver_server, payment, django_capture_on_commit_callbacks
):
    legacy = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED], secret=legacy
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret=legacy, secret=WebhookEndpoint().secret
    )
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    ((headers, body),) = receiver_server.requests
    check_legacy_signature(legacy, headers, body)  # an old receiver is not cut off by the rotation


def docs_snippet(containing):
    """The Python block of docs/integration.md that contains ``containing``."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "integration.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if containing in b]
    return block


def test_the_receiver_of_the_integration_guide_accepts_deliveries(
    rf, receiver_server, payment, django_capture_on_commit_callbacks
):
    """The guide's receiver view, run as written (with the endpoint's secret), on what was delivered."""
    endpoint = WebhookEndpoint.objects.create(url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED])
    handled = []
    namespace = {}
    exec(docs_snippet("def solana_webhook"), namespace)
    namespace.update(SECRET=endpoint.secret, handle=lambda kind, data: handled.append((kind, data)))
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    ((headers, body),) = receiver_server.requests

    def post(body, headers):
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
        return namespace["solana_webhook"](
            rf.post("/hooks/solana", data=body, content_type="application/json", **meta)
        )

    assert post(body, headers).status_code == 200
    assert handled == [("payment.accepted", json.loads(body)["data"])]
    assert post(body.replace(b"Order 3", b"Order 4"), headers).status_code == 400
    assert len(handled) == 1


def test_the_guides_conversion_of_an_old_secret(receiver_server, payment, django_capture_on_commit_callbacks):
    old_secret = "whsec_" + secrets.token_urlsafe(32)
    WebhookEndpoint.objects.create(
        url=receiver_server.url, events=[WebhookEvent.PAYMENT_ACCEPTED], secret=old_secret
    )
    namespace = {"old_secret": old_secret}
    exec(docs_snippet("urlsafe_b64decode"), namespace)
    (delivery,) = accept(payment, django_capture_on_commit_callbacks)
    assert deliver(delivery.pk, 0) == DeliveryStatus.SUCCEEDED
    ((headers, body),) = receiver_server.requests
    check_signature(namespace["SECRET"], headers, body)
