"""The optional create endpoint: off by default, gated by the shop's permission callable, validated."""

import json

import pytest
from django.urls import reverse

from solana_payments.models import OneTimeWallet, Payment

pytestmark = pytest.mark.django_db


def staff_only(request):
    return request.user.is_authenticated and request.user.is_staff


def post(client, body, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(reverse("solana_payments:create"), data, content_type="application/json", **extra)


def test_it_is_off_unless_a_permission_callable_is_set(client, admin_client, tokens):
    assert post(admin_client, {"options": {"SOL": "0.5"}}).status_code == 404
    assert client.get(reverse("solana_payments:create")).status_code == 405
    assert not Payment.objects.exists()


def test_it_refuses_without_permission(client, django_user_model, tokens, configure):
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    response = post(client, {"options": {"SOL": "0.5"}})
    assert response.status_code == 403 and response.json() == {"error": "You may not create payments."}
    customer = django_user_model.objects.create_user("customer", password="x")
    client.force_login(customer)
    assert post(client, {"options": {"SOL": "0.5"}}).status_code == 403
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()


def test_it_creates_a_payment_like_create_payment(admin_client, admin_user, tokens, configure):
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    response = post(
        admin_client,
        {
            "options": {"SOL": 0.5, "USDC": "25.10"},  # a JSON number is read as an exact decimal
            "expires_in": 600,
            "label": "Order 42",
            "message": "Thanks",
            "email": "a@example.com",
            "metadata": {"order_id": 42},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    payment = Payment.objects.get()
    assert body["reference"] == str(payment.reference) and body["status"] == "initiated"
    assert body["checkout_url"] == f"http://testserver/pay/{payment.reference}/"
    assert body["status_url"] == f"http://testserver/pay/{payment.reference}/status/"
    assert (
        body["transfer_requests"]["SOL"]
        == f"solana:{payment.wallet.address}?amount=0.5&label=Order%2042&message=Thanks"
    )
    assert {o.token.symbol: o.amount for o in payment.options.all()} == {
        "SOL": 500_000_000,
        "USDC": 25_100_000,
    }
    assert (payment.email, payment.metadata, payment.user) == ("a@example.com", {"order_id": 42}, admin_user)
    assert 590 <= body["seconds_left"] <= 600
    assert "email" not in body and "metadata" not in body


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"options": {"DOGE": "1"}}, "Unknown token 'DOGE'."),
        ({"options": {"USDC": "0.0000001"}}, "USDC amount 1E-7 has more than 6 decimal places."),
        ({"options": {"SOL": "0.0001"}}, "below the rent-exempt minimum"),
        ({"options": {"SOL": "-1"}}, "must be greater than zero"),
        ({"options": {}}, "options must map at least one token symbol"),
        ({"options": {"SOL": "1"}, "expires_in": -5}, "expires_in must be in the future."),
        ({"options": {"SOL": "1"}, "user": 1}, "Unknown fields: user."),
        ({"options": {"SOL": "1"}, "email": "not-an-email"}, "email is not a valid email address."),
        ({"options": {"SOL": "1"}, "label": "x" * 201}, "label must be a string of at most 200"),
        ({"options": {"SOL": "1"}, "metadata": [1]}, "metadata must be a JSON object."),
        ({"label": "no options"}, "options is required"),
        ([1, 2], "The body must be a JSON object."),
        ("{not json", "The body must be a JSON object."),
    ],
)
def test_bad_requests_get_the_reason_and_create_nothing(admin_client, tokens, configure, body, error):
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    response = post(admin_client, body)
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()


def test_a_permission_setting_that_cannot_be_imported_is_a_system_check_error(configure):
    from solana_payments.checks import check_settings

    configure(CREATE_PAYMENT_PERMISSION="tests.nowhere.allow")
    assert "solana_payments.E012" in [e.id for e in check_settings()]
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    assert "solana_payments.E012" not in [e.id for e in check_settings()]
