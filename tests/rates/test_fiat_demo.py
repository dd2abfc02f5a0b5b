"""The demo's shop is priced in euros, from the price feeds the demo keeps on its local chain."""

import pytest

from solana_payments import demo_data
from solana_payments.models import Payment
from tests.support.demo import demo_price_feeds

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_shop_is_priced_in_eur_from_the_local_feeds(localnet, configure, monkeypatch, client):
    configure(
        RPC_URL=localnet.url,
        FEE_PAYER_KEYPAIR=list(bytes(localnet.fee_payer)),
        CREATE_ATAS_ON_PAYMENT=True,
        LOCALNET=True,
    )
    monkeypatch.setattr(demo_data, "SHOP_PLAN", [("settled", 3), ("open", 2)])  # a small shop, same code
    demo_data.seed_tokens(localnet.mints)
    with demo_price_feeds(localnet):
        made = demo_data.seed_shop(localnet.url)
    payments = Payment.objects.prefetch_related("options")
    assert {p.currency for p in payments} == {"EUR"}
    assert all(o.rate_source.startswith("pyth") and o.rate for p in payments for o in p.options.all())
    assert {p.status for p in Payment.objects.filter(pk__in=[p.pk for p in made["settled"]])} == {"confirmed"}
    (open_payment, *_) = made["open"]
    page = client.get(f"/pay/{open_payment.reference}/").content.decode()
    shown = f"{open_payment.price:.2f}".removesuffix(".00")  # 24.90, 75
    assert f"= {shown} EUR" in page
