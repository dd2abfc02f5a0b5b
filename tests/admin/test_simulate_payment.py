"""The demo's "simulate customer payment" button: only with DEBUG and the local chain; it really pays."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from solana_payments.models import Payment
from solana_payments.operations.base import run_operation

pytestmark = pytest.mark.django_db(transaction=True)


def simulate_url(payment):
    return reverse("admin:solana_payments_payment_simulate_payment", args=[payment.pk])


def test_paying_from_the_admin_settles_after_recheck(shop, admin_client, settings):
    settings.DEBUG = True
    payment = shop.new_payment({"SOL": "0.5", "PYUSD": "12.5"})
    page = admin_client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk]))
    assert simulate_url(payment).encode() in page.content
    assert admin_client.get(simulate_url(payment)).status_code == 200

    response = admin_client.post(simulate_url(payment), {"token": "PYUSD", "amount": "12.5"}, follow=True)
    assert "paid 12.5 PYUSD" in response.content.decode()
    assert shop.balance(payment.wallet.address, "PYUSD") == 12_500_000
    run_operation("recheck", trigger="command")
    payment.refresh_from_db()
    assert (payment.status, payment.paid_amount) == ("confirmed", 12_500_000)


def test_a_chosen_amount_underpays(shop, admin_client, settings):
    settings.DEBUG = True
    payment = shop.new_payment({"SOL": "0.5"})
    admin_client.post(simulate_url(payment), {"token": "SOL", "amount": "0.2"})
    assert shop.balance(payment.wallet.address, "SOL") == 200_000_000
    run_operation("recheck", trigger="command")
    assert Payment.objects.get().status == "initiated"


def test_bad_amounts_are_refused_on_the_form(shop, admin_client, settings):
    settings.DEBUG = True
    payment = shop.new_payment({"USDC": "1"})
    response = admin_client.post(simulate_url(payment), {"token": "USDC", "amount": "1.0000001"})
    assert "more than 6 decimal places" in response.content.decode()
    assert shop.balance(payment.wallet.address, "USDC") == 0


def test_hidden_outside_the_demo(shop, admin_client, settings, configure):
    payment = shop.new_payment({"SOL": "0.5"})
    settings.DEBUG = False
    assert (
        simulate_url(payment).encode()
        not in admin_client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk])).content
    )
    assert admin_client.post(simulate_url(payment), {"token": "SOL", "amount": "0.5"}).status_code == 404
    settings.DEBUG = True
    configure(LOCALNET=False)
    assert admin_client.post(simulate_url(payment), {"token": "SOL", "amount": "0.5"}).status_code == 404
    assert shop.balance(payment.wallet.address, "SOL") == 0


def test_needs_the_change_permission(shop, client, settings):
    from django.contrib.auth.models import Permission

    settings.DEBUG = True
    payment = shop.new_payment({"SOL": "0.5"})
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.login(username="viewer", password="pw")
    page = client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk]))
    assert page.status_code == 200 and simulate_url(payment).encode() not in page.content  # not offered
    assert client.post(simulate_url(payment), {"token": "SOL", "amount": "0.5"}).status_code == 403
    assert shop.balance(payment.wallet.address, "SOL") == 0


def test_a_refusal_of_the_local_chain_says_why(shop):
    from types import SimpleNamespace

    from solders.keypair import Keypair

    from solana_payments.chain.faucet import FaucetError, pay

    not_a_mint = SimpleNamespace(
        is_native=False, mint=str(Keypair().pubkey()), token_program="token", decimals=6, symbol="NOPE"
    )
    with pytest.raises(FaucetError) as refused:
        pay(shop.localnet.url, str(Keypair().pubkey()), not_a_mint, 1_000_000)
    message = str(refused.value)
    assert message.startswith("the local chain's faucet refused mint (HTTP 400): ")
    assert "Bad Request" not in message and len(message) > len(
        "the local chain's faucet refused mint (HTTP 400): "
    )
