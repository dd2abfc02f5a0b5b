"""What a payment priced in a currency was worth, in the admin and the exports."""

from decimal import Decimal

import pytest
from django.urls import reverse

from solana_payments.payments import create_payment
from tests.support.exports import FORMATS, cell, export, table

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def priced(feeds):
    return create_payment(price=Decimal("25.00"), currency="EUR", tokens=["SOL", "USDC"], label="Order 9")


def test_the_changelist_and_the_payment_page_show_the_price_and_each_rate(admin_client, priced):
    changelist = admin_client.get(reverse("admin:solana_payments_payment_changelist")).content.decode()
    assert "25 EUR" in changelist
    create_payment({"SOL": Decimal("0.5")})
    eur = admin_client.get(reverse("admin:solana_payments_payment_changelist") + "?currency=EUR")
    assert list(eur.context["cl"].result_list) == [priced]
    page = admin_client.get(
        reverse("admin:solana_payments_payment_change", args=[priced.pk])
    ).content.decode()
    assert "25 EUR" in page
    assert "pyth (at par with USD)" in page
    assert "1 SOL = 138.88888888888" in page


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_payment_export_has_the_price_and_currency(admin_client, priced, fmt):
    create_payment({"SOL": Decimal("0.5")})
    rows = {r["label"]: r for r in table(export(admin_client, "payment", fmt), fmt)}
    assert (cell(rows["Order 9"]["price"]), rows["Order 9"]["currency"]) == ("25", "EUR")
    token_priced = next(r for label, r in rows.items() if label != "Order 9")
    assert cell(token_priced["price"]) == "" and cell(token_priced["currency"]) == ""
