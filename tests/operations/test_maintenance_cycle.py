"""A full maintenance cycle over a mixed shop: every lamport and token unit is accounted for."""

import datetime

import pytest
from django.utils import timezone

from solana_payments.models import OneTimeWallet, OperationItem, Payment, WalletState
from solana_payments.operations.base import run_operation

pytestmark = pytest.mark.django_db(transaction=True)

OPTIONS = {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}


def test_full_cycle_conserves_money_and_fees(shop):
    payer = shop.localnet.fee_payer.pubkey()
    plan = [
        ("SOL", 500_000_000, "on time"),
        ("USDC", 25_000_000, "on time"),
        ("PYUSD", 25_000_000, "on time"),
        ("USDC", 30_000_000, "on time"),  # overpaid
        ("PYUSD", 10_000_000, "overdue"),  # underpaid, then expired
        ("SOL", 500_000_000, "late"),  # paid after its deadline
        (None, 0, "overdue"),  # abandoned
        (None, 0, "open"),  # still within its deadline
    ]
    payments = [shop.new_payment(OPTIONS) for _ in plan]
    baseline = shop.localnet.get_balance(payer)  # after the token accounts were created
    past = timezone.now() - datetime.timedelta(minutes=5)
    for payment, (symbol, amount, when) in zip(payments, plan, strict=True):
        if when in ("overdue", "late"):
            Payment.objects.filter(pk=payment.pk).update(expires_at=past)
        if symbol:
            shop.pay(payment, symbol, amount)

    recheck = run_operation("recheck", trigger="schedule")
    expire = run_operation("expire", trigger="schedule")
    sweep = run_operation("sweep", trigger="schedule")
    reclaim = run_operation("reclaim", trigger="schedule")

    assert recheck.counts["reconciled"] == 5  # the late one settles here too, flagged paid_late
    assert expire.counts["underpaid"] == 1 and expire.counts["expired"] == 1
    assert sweep.counts["swept"] == 6 and sweep.counts["failed"] == 0
    statuses = {p.pk: (p.status, p.exception) for p in Payment.objects.all()}
    assert statuses[payments[3].pk] == ("confirmed", "overpaid")
    assert statuses[payments[4].pk] == ("expired", "underpaid")
    assert statuses[payments[5].pk] == ("confirmed", "paid_late")
    assert statuses[payments[6].pk] == ("expired", "")
    assert statuses[payments[7].pk] == ("initiated", "")

    # paid by customers = received by the receiver + left in wallets (+ 0)
    shop.assert_money_conserved()
    assert shop.in_wallets("SOL") == shop.in_wallets("USDC") == shop.in_wallets("PYUSD") == 0

    # fees paid = the sum of item fees = the fee payer's drop, net of reclaimed rent
    items = OperationItem.objects.all()
    fees = sum(items.values_list("fee", flat=True))
    assert fees == sum(r.fees_paid for r in (recheck, expire, sweep, reclaim))
    reclaimed = sum(items.values_list("rent", flat=True))
    assert reclaimed == sum(OneTimeWallet.objects.values_list("rent_reclaimed", flat=True))
    receiver_atas = sum(
        (shop.localnet.get_account(a).lamports if shop.localnet.get_account(a) else 0)
        for a in [shop.localnet.ata(shop.receiver, shop.localnet.mints[s]) for s in ("USDC", "PYUSD")]
    )
    assert baseline - shop.localnet.get_balance(payer) == fees - reclaimed + receiver_atas
    # only the open payment's wallet still holds rent
    still_locked = sum(OneTimeWallet.objects.values_list("rent_paid", flat=True)) - reclaimed
    assert still_locked == shop.open_wallet_rent() == payments[7].wallet.rent_paid

    # no wallet has more than one outgoing sweep on chain
    for wallet in OneTimeWallet.objects.exclude(state=WalletState.CREATED):
        assert shop.outgoing_sweeps(wallet) <= 1
