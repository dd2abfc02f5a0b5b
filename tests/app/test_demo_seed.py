"""The demo's seeded shop: its overpaid and underpaid payments are on the desk right after seeding, as a
shop that has been running for a while has them; unnoticed and late ones wait for recheck and expire."""

import datetime

import pytest
from django.urls import reverse

from solana_payments.demo_data import SHOP_PLAN, seed_shop, seed_tokens
from solana_payments.models import Payment
from tests.support.demo import demo_price_feeds

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_seeded_shop_has_its_flagged_payments_on_the_desk(localnet, configure, admin_client):
    configure(
        RPC_URL=localnet.url,
        FEE_PAYER_KEYPAIR=list(bytes(localnet.fee_payer)),
        DASHBOARD_CACHE_SECONDS=0,
    )
    seed_tokens(localnet.mints)
    with demo_price_feeds(localnet):
        made = seed_shop(localnet.url)
    plan = dict(SHOP_PLAN)
    overpaid = Payment.objects.filter(pk__in=[p.pk for p in made["overpaid"]])
    underpaid = Payment.objects.filter(pk__in=[p.pk for p in made["underpaid"]])
    assert sorted(overpaid.values_list("exception", flat=True)) == ["overpaid"] * plan["overpaid"]
    assert all(p.is_settled for p in overpaid)
    assert (
        sorted(underpaid.values_list("status", "exception")) == [("expired", "underpaid")] * plan["underpaid"]
    )
    unnoticed = Payment.objects.filter(pk__in=[p.pk for p in made["unnoticed"] + made["late"]])
    assert set(unnoticed.values_list("status", flat=True)) == {"initiated"}  # left for recheck and expire
    # Nothing created days ago is due today: a deadline follows its payment's creation.
    for payment in Payment.objects.all():
        assert payment.expires_at - payment.created_at <= datetime.timedelta(minutes=26), payment.metadata

    page = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert f"{plan['underpaid']} underpaid payments not refunded" in page
    assert f"{plan['overpaid']} overpaid payments not refunded" in page
