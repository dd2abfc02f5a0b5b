"""The totals beside the ledger are sums of its rows: a wallet's ``swept`` and ``refunded``, a payment's
``refunded_amount``, refunds from the refund wallet included; a sweep's rows are written with the wallet's
new state, so a run stopped in between leaves neither. SOL, SPL Token and Token-2022; balances on chain."""

import pytest
from django.apps import apps as django_apps
from solders.keypair import Keypair

from solana_payments.admin.transfers import running_totals
from solana_payments.ledger.totals import wallet_totals
from solana_payments.models import OneTimeWallet, Refund, RunStatus, Transfer, WalletState
from solana_payments.operations.base import run_operation
from solana_payments.operations.sweep import SweepOperation

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}
PRICE = {"SOL": 500_000_000, "USDC": 25_000_000, "PYUSD": 25_000_000}
SYMBOLS = ["SOL", "USDC", "PYUSD"]


def overpaid(shop, symbol):
    payment = shop.new_payment({symbol: UNITS[symbol]})
    customer, _ = shop.pay(payment, symbol, PRICE[symbol] * 6 // 5)  # 20% too much
    run_operation("recheck", trigger="schedule")
    payment.refresh_from_db()
    assert payment.exception == "overpaid"
    return payment, customer


def funded_refund_wallet(shop, configure):
    keypair = Keypair()
    shop.localnet.airdrop(keypair.pubkey(), 3_000_000_000)
    for symbol in ("USDC", "PYUSD"):
        shop.localnet.mint_to(shop.localnet.mints[symbol], keypair.pubkey(), 100_000_000)
    configure(REFUND_WALLET_KEYPAIR=list(bytes(keypair)))
    return keypair


def rows_total(payment, kind, **filters):
    return sum(t.amount for t in Transfer.objects.filter(payment=payment, kind=kind, direction="out", **filters))


def assert_totals_are_the_rows(payment):
    wallet = OneTimeWallet.objects.get(pk=payment.wallet_id)
    summed = wallet_totals([wallet.pk])[wallet.pk]
    assert (wallet.swept, wallet.refunded) == (summed["swept"], summed["refunded"])
    payment.refresh_from_db()
    assert payment.refunded_amount == rows_total(payment, "refund")


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_swept_and_refunded_totals_are_sums_of_the_payments_rows(shop, configure, symbol):
    refunder = funded_refund_wallet(shop, configure)
    payment, customer = overpaid(shop, symbol)
    price, excess = PRICE[symbol], PRICE[symbol] // 5
    before = shop.balance(customer.pubkey(), symbol)

    first = run_operation("refund", ids=[payment.pk], amount=str_units(symbol, excess // 2))
    assert "from the one-time wallet" in first.items.get().reason
    assert_totals_are_the_rows(payment)
    key = "native" if symbol == "SOL" else shop.tokens[symbol].mint
    assert OneTimeWallet.objects.get(pk=payment.wallet_id).refunded == {key: excess // 2}

    run_operation("sweep", trigger="schedule")
    assert_totals_are_the_rows(payment)
    wallet = OneTimeWallet.objects.get(pk=payment.wallet_id)
    assert wallet.state == WalletState.SENT_FUNDS and wallet.swept[key] == price + excess - excess // 2

    second = run_operation("refund", ids=[payment.pk])  # what is left of the excess, now from the refund wallet
    assert "from the refund wallet" in second.items.get().reason
    assert_totals_are_the_rows(payment)
    payment.refresh_from_db()
    assert payment.refunded_amount == excess
    from_refunder = Transfer.objects.get(payment=payment, kind="refund", from_refund_wallet=True)
    assert from_refunder.counterparty == str(customer.pubkey())
    assert from_refunder.amount == excess - excess // 2
    assert OneTimeWallet.objects.get(pk=payment.wallet_id).refunded == {key: excess // 2}  # not the wallet's

    # the wallet's running total ends at what it holds: nothing, the refund wallet's refund left it alone
    totals = running_totals(payment.pk)
    newest = Transfer.objects.filter(payment=payment).order_by("slot", "recorded_at", "id").last()
    assert newest.from_refund_wallet and totals[newest.pk] == 0
    assert shop.balance(customer.pubkey(), symbol) == before + excess
    refunded_by_wallet = excess - excess // 2
    assert shop.received(symbol) == price + excess - excess // 2
    assert shop.paid[symbol] == shop.received(symbol) + shop.in_wallets(symbol) + excess // 2
    funded = 3_000_000_000 if symbol == "SOL" else 100_000_000  # the fee payer paid the fees
    assert shop.balance(refunder.pubkey(), symbol) == funded - refunded_by_wallet


def str_units(symbol, amount):
    decimals = 9 if symbol == "SOL" else 6
    return f"{amount / 10**decimals:.{decimals}f}"


def test_a_sweep_stopped_before_recording_leaves_neither_rows_nor_state_and_the_next_records_both(
    shop, monkeypatch
):
    payment = shop.new_payment({"USDC": "25"})
    shop.pay(payment, "USDC", 25_000_000)
    run_operation("recheck", trigger="schedule")
    real_save = SweepOperation.save_swept

    def stopped(self, wallets, transfers, fields):
        if any(w.state == WalletState.SENT_FUNDS for w in wallets):
            raise SystemError("worker stopped")
        return real_save(self, wallets, transfers, fields)

    monkeypatch.setattr(SweepOperation, "save_swept", stopped)
    broken = run_operation("sweep", trigger="schedule")
    assert broken.status == RunStatus.FAILED
    assert shop.received("USDC") == 25_000_000  # the transaction landed ...
    wallet = OneTimeWallet.objects.get(pk=payment.wallet_id)
    assert wallet.state == WalletState.PROCESSING_FUNDS and wallet.pending_signature  # ... unrecorded
    landed = wallet.pending_signature
    assert not Transfer.objects.filter(kind="sweep").exists() and wallet.swept == {}

    monkeypatch.setattr(SweepOperation, "save_swept", real_save)
    run = run_operation("sweep", trigger="schedule")
    assert "earlier transaction landed" in run.items.get().reason
    wallet.refresh_from_db()
    assert wallet.state == WalletState.SENT_FUNDS and not wallet.pending_signature
    sweep = Transfer.objects.get(kind="sweep")
    assert (sweep.signature, sweep.amount, sweep.counterparty) == (
        landed,
        25_000_000,
        str(shop.receiver),
    )
    assert_totals_are_the_rows(payment)
    assert shop.received("USDC") == 25_000_000  # swept once
    shop.assert_money_conserved()


def test_refunds_that_landed_before_the_ledger_become_its_rows(shop, configure):
    """The migration that adds ``from_refund_wallet`` writes a row for every landed refund from the
    transaction stored with it, so ``refunded_amount`` stays the sum of rows on an existing database."""
    from importlib import import_module

    funded_refund_wallet(shop, configure)
    payment, customer = overpaid(shop, "USDC")
    run_operation("refund", ids=[payment.pk], amount="2")  # from the one-time wallet
    run_operation("sweep", trigger="schedule")
    run_operation("refund", ids=[payment.pk], amount="3")  # from the refund wallet
    before = {
        (t.signature, t.position, t.amount, t.from_refund_wallet, t.counterparty)
        for t in Transfer.objects.filter(kind="refund")
    }
    assert len(before) == 2
    Transfer.objects.filter(kind="refund").delete()  # as on a database from before the ledger

    migration = import_module("solana_payments.migrations.0013_transfer_from_refund_wallet")
    migration.record_landed_refunds(django_apps, None)
    after = {
        (t.signature, t.position, t.amount, t.from_refund_wallet, t.counterparty)
        for t in Transfer.objects.filter(kind="refund")
    }
    assert after == before
    assert rows_total(payment, "refund") == Refund.objects.get(amount=2_000_000).amount + 3_000_000
    migration.record_landed_refunds(django_apps, None)  # twice: nothing doubles
    assert Transfer.objects.filter(kind="refund").count() == 2
