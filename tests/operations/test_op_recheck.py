"""recheck against the localnet: payments paid on chain are settled; the rest are reported."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from solana_payments.models import ItemOutcome, OperationItem, Payment, RunStatus, WalletState
from solana_payments.operations.base import run_operation
from tests.support import hooks
from tests.support.factories import make_payments
from tests.support.payments import signals_sent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "symbol, amount",
    [("SOL", 500_000_000), ("USDC", 25_000_000), ("PYUSD", 25_000_000)],
)
def test_paid_payment_is_settled_from_the_chain(shop, configure, symbol, amount):
    configure(ON_PAYMENT_ACCEPTED="tests.support.hooks.record_accepted")
    hooks.accepted.clear()
    with signals_sent(accepted=lambda payment, **kw: payment.pk) as signalled:
        payment = shop.new_payment({"SOL": "0.5", "USDC": "25", "PYUSD": "25"})
        customer, signature = shop.pay(payment, symbol, amount)
        run = run_operation("recheck", trigger="command")

    payment.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.counts["reconciled"] == 1 and run.counts["scanned"] == 1
    assert payment.status == "confirmed"
    assert payment.exception == ""
    assert payment.paid_token.symbol == symbol and payment.paid_amount == amount
    assert payment.paid_signature == signature
    assert payment.payer == str(customer.pubkey())
    assert payment.paid_at is not None and payment.paid_at <= timezone.now() + datetime.timedelta(seconds=5)
    assert payment.wallet.state == WalletState.RECEIVED_FUNDS
    assert signalled == [payment.pk] and hooks.accepted == [payment.pk]
    item = run.items.get()
    assert (item.outcome, item.signature, item.amount) == (ItemOutcome.DONE, signature, amount)
    assert run.rpc_calls.get("getMultipleAccounts") == 1


def test_overpaid_underpaid_and_unpaid(shop):
    over, under, never = (shop.new_payment({"USDC": "10"}) for _ in range(3))
    shop.pay(over, "USDC", 12_000_000)
    shop.pay(under, "USDC", 4_000_000)
    run = run_operation("recheck", trigger="command")
    for p in (over, under, never):
        p.refresh_from_db()
    assert (over.status, over.exception, over.paid_amount) == ("confirmed", "overpaid", 12_000_000)
    assert under.status == "initiated" and never.status == "initiated"
    assert run.counts == {"scanned": 3, "reconciled": 1, "pending": 2, "failed": 0}
    reasons = dict(OperationItem.objects.filter(run=run).values_list("payment_id", "reason"))
    assert reasons[under.pk] == "underpaid: holds 4 of 10 USDC"
    assert reasons[never.pk] == "not paid yet"


def test_failing_hook_never_undoes_the_settlement(shop, configure, caplog):
    configure(ON_PAYMENT_ACCEPTED="tests.support.hooks.explode")
    payment = shop.new_payment({"SOL": "1"})
    shop.pay(payment, "SOL", 1_000_000_000)
    run = run_operation("recheck", trigger="command")
    payment.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and payment.status == "confirmed"
    assert "ON_PAYMENT_ACCEPTED hook failed" in caplog.text


def test_commitment_follows_the_setting(shop, configure):
    configure(PAYMENT_ACCEPTANCE_COMMITMENT="finalized")
    payment = shop.new_payment({"SOL": "1"})
    shop.pay(payment, "SOL", 1_000_000_000)
    run_operation("recheck", trigger="command")
    payment.refresh_from_db()
    assert payment.status == "finalized"


def test_oldest_checked_first_and_limit(shop):
    payments, _ = make_payments(3, shop.tokens)
    first = run_operation("recheck", limit=2, trigger="command")
    second = run_operation("recheck", limit=2, trigger="command")
    first_ids = set(first.items.values_list("payment_id", flat=True))
    second_ids = list(second.items.values_list("payment_id", flat=True))
    assert len(first_ids) == 2
    leftover = ({p.pk for p in payments} - first_ids).pop()
    assert leftover in second_ids  # never checked comes before recently checked


def test_ids_report_ineligible_and_missing_records(shop):
    payments, _ = make_payments(2, shop.tokens)
    Payment.objects.filter(pk=payments[1].pk).update(status="expired")
    run = run_operation("recheck", ids=[payments[0].pk, payments[1].pk, 999_999], trigger="admin_action")
    reasons = sorted(run.items.values_list("reason", flat=True))
    assert "payment #999999 does not exist" in reasons
    assert "payment is expired: nothing new on chain" in reasons  # read all the same: the chain decides
    assert run.counts["scanned"] == 2


def test_include_expired_settles_late_payments(shop):
    payment = shop.new_payment({"SOL": "1"})
    Payment.objects.filter(pk=payment.pk).update(
        status="expired", expires_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    shop.pay(payment, "SOL", 1_000_000_000)
    plain = run_operation("recheck", trigger="command")
    assert plain.counts["scanned"] == 0
    run = run_operation("recheck", include_expired=True, trigger="command")
    payment.refresh_from_db()
    assert run.counts["reconciled"] == 1
    assert (payment.status, payment.exception) == ("confirmed", "paid_late")


def test_dry_run_changes_nothing_and_previews_the_real_run(shop):
    payment = shop.new_payment({"SOL": "1"})
    shop.pay(payment, "SOL", 1_000_000_000)
    preview = run_operation("recheck", dry_run=True, trigger="command")
    payment.refresh_from_db()
    assert payment.status == "initiated" and payment.wallet.last_checked_at is None
    assert list(preview.items.values_list("outcome", flat=True)) == [ItemOutcome.WOULD_DO]
    real = run_operation("recheck", trigger="command")
    assert real.counts == preview.counts
    assert list(real.items.values_list("payment_id", "amount", "signature")) == list(
        preview.items.values_list("payment_id", "amount", "signature")
    )


def test_500_unpaid_payments_cost_few_requests_and_queries(shop):
    make_payments(500, shop.tokens)
    shop.localnet.reset_counts()
    with CaptureQueriesContext(connection) as queries:
        run = run_operation("recheck", limit=500, trigger="command")
    assert run.counts["scanned"] == 500 and run.counts["pending"] == 500
    assert sum(shop.localnet.request_counts.values()) <= 15
    assert shop.localnet.request_counts.get("getMultipleAccounts") == 10
    assert len(queries) <= 25, [q["sql"][:80] for q in queries.captured_queries]
