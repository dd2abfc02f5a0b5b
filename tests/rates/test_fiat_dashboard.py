"""The dashboard: what was sold, per currency, and a warning when a stablecoin was priced off its peg."""

from decimal import Decimal

import pytest
from django.urls import reverse

from solana_payments.models import Payment
from solana_payments.payments import create_payment

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = reverse("admin:solana_payments_dashboard")


def test_the_dashboard_totals_settled_value_per_currency(admin_client, feeds):
    for price in ("25.00", "12.50", "99.99"):
        create_payment(price=Decimal(price), currency="EUR", tokens=["SOL"])
    create_payment(price=Decimal("40"), currency="USD", tokens=["USDC"])
    create_payment({"SOL": Decimal("0.5")})  # priced in tokens: in no currency's total
    Payment.objects.exclude(price=Decimal("99.99")).update(status="confirmed")
    page = admin_client.get(DASHBOARD).content.decode()
    assert "<strong>37.5 EUR</strong> (2 payments)" in page
    assert "<strong>40 USD</strong> (1 payment)" in page
    assert "99.99 EUR" not in page and "137.49" not in page  # not settled


def test_a_stablecoin_off_its_peg_warns_and_links_to_its_payments(admin_client, feeds):
    create_payment(price=Decimal("25"), currency="EUR", tokens=["SOL", "USDC"])
    assert 'id="sp-off-peg"' not in admin_client.get(DASHBOARD).content.decode()
    feeds("USDC", "0.97")
    off = create_payment(price=Decimal("25"), currency="EUR", tokens=["SOL", "USDC"])
    page = admin_client.get(DASHBOARD).content.decode()
    assert "1 stablecoin option priced off its peg in the last day" in page
    listing = admin_client.get(
        reverse("admin:solana_payments_payment_changelist") + "?options__off_peg__exact=1"
    )
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [off]


def test_the_metrics_report_settled_value_per_currency(client, feeds, configure, settings):
    from tests.app.test_metrics import TOKEN, scrape, value

    settings.ROOT_URLCONF = "demo.urls"
    configure(METRICS_TOKEN=TOKEN)
    for price in ("25.00", "12.50"):
        create_payment(price=Decimal(price), currency="EUR", tokens=["SOL"])
    create_payment(price=Decimal("7"), currency="EUR", tokens=["SOL"])  # still open
    Payment.objects.exclude(price=Decimal("7")).update(status="finalized")
    samples = scrape(client)
    assert value(samples, "payments_settled_value", currency="EUR") == 37.5
