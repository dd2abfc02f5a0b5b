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


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ('"expires_in": 1e400', "expires_in must be a finite number of seconds."),
        ('"expires_in": Infinity', "Infinity is not a JSON number."),
        ('"expires_in": NaN', "NaN is not a JSON number."),
        ('"expires_in": 1e300', "expires_in must be at most 604800 seconds"),
        ('"expires_in": 100000000000000', "expires_in must be at most 604800 seconds"),
        ('"expires_in": 315360000', "expires_in must be at most 604800 seconds"),  # ten years
        ('"email": "' + "a" * 250 + '@example.com"', "email must be a string of at most 254 characters."),
        ('"label": "Order\\u0000 1"', "label must not contain NUL characters."),
        ('"message": "\\ud800"', "message must be valid Unicode text"),
        ('"metadata": {"note": "\\u0000"}', "metadata must not contain NUL characters."),
        ('"metadata": {"\\u0000": 1}', "metadata must not contain NUL characters."),
        ('"metadata": {"deep": [[{"x": "\\udfff"}]]}', "metadata must be valid Unicode text"),
        ('"metadata": {"price": 1e400}', "metadata may hold finite numbers only"),
        ('"metadata": {"price": -Infinity}', "-Infinity is not a JSON number."),
        ('"metadata": ' + "[" * 100_000 + "]" * 100_000, "The body must be a JSON object."),
    ],
)
def test_input_no_database_can_store_is_a_400_not_a_500(admin_client, tokens, configure, raw, error):
    """Each of these raised (OverflowError, or a database error on PostgreSQL) and answered 500."""
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    response = post(admin_client, '{"options": {"SOL": "1"}, ' + raw + "}")
    assert response.status_code == 400
    assert error in response.json()["error"]
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()


def test_the_longest_validity_is_a_setting(admin_client, tokens, configure):
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    assert post(admin_client, {"options": {"SOL": "1"}, "expires_in": 7 * 24 * 3600}).status_code == 201
    configure(PAYMENT_MAX_VALIDITY_SECONDS=3600)
    response = post(admin_client, {"options": {"SOL": "1"}, "expires_in": 3601})
    assert response.status_code == 400 and "at most 3600 seconds" in response.json()["error"]


def test_metadata_numbers_are_stored_as_json_numbers(admin_client, tokens, configure):
    configure(CREATE_PAYMENT_PERMISSION="tests.shop.test_create_endpoint.staff_only")
    body = {"options": {"SOL": "1"}, "label": "Ünïcødé ✓", "metadata": {"price": 1.5, "tags": ["a", 2, None]}}
    assert post(admin_client, body).status_code == 201
    payment = Payment.objects.get()
    assert payment.metadata == {"price": 1.5, "tags": ["a", 2, None]} and payment.label == "Ünïcødé ✓"
