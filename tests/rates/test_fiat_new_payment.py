"""The admin's New payment page takes a price in the shop's currency too, priced from the chain's feeds."""

from decimal import Decimal

import pytest
from django.urls import reverse

from solana_payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)

NEW = reverse("admin:solana_payments_payment_new")


def test_an_operator_prices_a_payment_in_eur(feeds, admin_client):
    page = admin_client.get(NEW).content.decode()
    assert 'name="price"' in page and 'name="currency"' in page and 'name="price_tokens"' in page

    both = admin_client.post(
        NEW, {"label": "x", "minutes": "15", "amount_SOL": "1", "price": "25", "currency": "EUR"}
    )
    assert "either amounts in tokens or a price" in both.content.decode()
    alone = admin_client.post(NEW, {"label": "x", "minutes": "15", "price": "25"})
    assert "needs its currency and at least one token" in alone.content.decode()
    assert not Payment.objects.exists()

    admin_client.post(
        NEW,
        {"label": "Phone order", "minutes": "15", "price": "25.00", "currency": "eur", "price_tokens": ["SOL", "USDC"]},
    )  # fmt: skip
    payment = Payment.objects.get()
    assert (payment.price, payment.currency) == (Decimal("25.00"), "EUR")
    # SOL at 150 USD, EUR at 1.08 USD: 25 EUR = 27 USD = 0.18 SOL or 27 USDC
    assert {o.token.symbol: o.amount for o in payment.options.all()} == {
        "SOL": 180_000_000,
        "USDC": 27_000_000,
    }
