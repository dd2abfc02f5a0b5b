"""The demo configures and funds a refund wallet, as it does the fee payer: refunds keep working after the
scheduled sweep has moved the money out of the one-time wallets."""

from io import StringIO

import pytest
from django.utils import timezone

from solana_payments.chain.keypairs import parse_keypair
from solana_payments.demo_data import REFUND_WALLET_SOL, REFUND_WALLET_TOKEN_UNITS
from solana_payments.management.commands.solana_payments_demo import Command
from solana_payments.models import Payment
from solana_payments.operations.base import run_operation
from tests.support.demo import demo_refund_wallet_setting

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refund_in_the_demo_succeeds_after_a_sweep(shop, configure, tmp_path):
    setting = demo_refund_wallet_setting(tmp_path)
    assert setting, "the demo names a refund wallet"
    configure(REFUND_WALLET_KEYPAIR=setting)
    owner = parse_keypair(setting, name="REFUND_WALLET_KEYPAIR").pubkey()
    out = StringIO()
    command = Command(stdout=out)
    command.fund_refund_wallet(shop.localnet)
    assert f"Funded the refund wallet {owner}" in out.getvalue()
    assert shop.localnet.get_balance(owner) == REFUND_WALLET_SOL
    assert shop.balance(owner, "USDC") == shop.balance(owner, "PYUSD") == REFUND_WALLET_TOKEN_UNITS * 10**6
    command.fund_refund_wallet(shop.localnet)  # the next start finds it funded and adds nothing
    assert out.getvalue().count("Funded the refund wallet") == 1

    payment = shop.new_payment({"USDC": "19.99"}, label="Order 7")
    customer, _ = shop.pay(payment, "USDC", 10_000_000)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now())
    run_operation("expire", trigger="schedule")
    sweep = run_operation("sweep", trigger="schedule")  # the scheduled sweep empties the one-time wallet
    assert sweep.counts["swept"] == 1 and shop.balance(payment.wallet.address, "USDC") == 0

    run = run_operation("refund", ids=[payment.pk], trigger="admin")
    item = run.items.get()
    assert (item.outcome, item.amount) == ("done", 10_000_000), item.reason
    assert "from the refund wallet" in item.reason
    assert shop.balance(customer.pubkey(), "USDC") == 10_000_000
    assert shop.balance(owner, "USDC") == REFUND_WALLET_TOKEN_UNITS * 10**6 - 10_000_000
