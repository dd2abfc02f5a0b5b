"""A price in a currency through the shop's side: the create endpoint, the status and the checkout page."""

import json

import pytest
from django.urls import reverse

from solana_payments.models import OneTimeWallet, Payment

pytestmark = pytest.mark.django_db(transaction=True)


def staff_only(request):
    return request.user.is_authenticated and request.user.is_staff


def post(client, body):
    return client.post(reverse("solana_payments:create"), json.dumps(body), content_type="application/json")


@pytest.fixture
def endpoint(configure):
    configure(
        CREATE_PAYMENT_PERMISSION="tests.rates.test_fiat_checkout.staff_only", STATUS_CHAIN_CHECK_SECONDS=0
    )


def test_the_create_endpoint_prices_a_payment_in_eur(admin_client, feeds, endpoint):
    response = post(
        admin_client, {"price": "25.00", "currency": "eur", "tokens": ["SOL", "USDC"], "label": "Order 7"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["price"], body["currency"]) == ("25", "EUR")
    options = {o["token"]: o for o in body["options"]}
    assert options["SOL"]["amount_due"] == "0.18" and options["USDC"]["amount_due"] == "27"
    assert options["SOL"]["rate"].startswith("138.88888888888")
    assert body["transfer_requests"]["USDC"].startswith(
        f"solana:{Payment.objects.get().wallet.address}?amount=27&"
    )


def test_the_create_endpoint_answers_503_and_writes_nothing_when_no_rate_is_usable(
    admin_client, feeds, coingecko, endpoint
):
    feeds("EUR", "0")
    coingecko.status = 429
    response = post(admin_client, {"price": 25, "currency": "EUR", "tokens": ["SOL"]})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error.startswith("No usable exchange rate: SOL in EUR:")
    assert "EUR/USD feed: price 0E-8 is zero or negative" in error and "coingecko: HTTP 429" in error
    assert not Payment.objects.exists() and not OneTimeWallet.objects.exists()


def test_a_bad_price_is_a_400(admin_client, feeds, endpoint):
    response = post(admin_client, {"price": "free", "currency": "EUR", "tokens": ["SOL"]})
    assert response.status_code == 400 and "price must be" in response.json()["error"]


def test_the_checkout_page_shows_the_price_next_to_each_option(client, feeds, endpoint):
    from decimal import Decimal

    from solana_payments.payments import create_payment

    payment = create_payment(price=Decimal("25.00"), currency="EUR", tokens=["SOL", "USDC"])
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    assert page.count("= 25 EUR") == 2
    assert "(1 SOL = 138.888889 EUR)" in page
    assert "(1 USDC = 0.925926 EUR)" in page
