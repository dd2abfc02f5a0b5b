"""Manual decisions (resolve): accept an expired, underpaid or late payment; cancel an open one.

On the localnet with real customer transfers; balances checked on chain.
"""


import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from solana_payments import jobs
from solana_payments.models import OperationRun, RunStatus, WalletState
from solana_payments.operations.base import run_operation
from tests.support.payments import overdue, signals_sent
from tests.support.runs import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signals():
    with signals_sent(
        accepted=lambda payment, **kw: ("accepted", payment.pk),
        flagged=lambda payment, exception, **kw: ("flagged", payment.pk, exception),
    ) as sent:
        yield sent


def state(payment):
    payment.refresh_from_db()
    return payment.status, payment.exception, payment.wallet.state


def expired_underpaid(shop, symbol="USDC", amount=15_000_000):
    payment = shop.new_payment({"USDC": "25", "SOL": "0.5"})
    customer, _ = shop.pay(payment, symbol, amount)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    assert state(payment) == ("expired", "underpaid", WalletState.RECEIVED_FUNDS)
    return payment, customer


def test_accepting_a_held_underpaid_payment_settles_it_once_and_frees_its_funds_for_sweep(
    shop, configure, signals, admin_user
):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment, customer = expired_underpaid(shop)
    held = run_operation("sweep", trigger="schedule")
    assert held.counts["held"] == 1 and shop.received("USDC") == 0

    refused = run_operation(
        "resolve", ids=[payment.pk], decision="accept", reason="customer phoned: ship it", user=admin_user
    )
    assert refused.counts["skipped"] == 1 and not refused.counts.get("accepted")
    reason = refused.items.get().reason
    assert "received 15 USDC" in reason and "10 USDC short of the price (25 USDC)" in reason, reason
    assert state(payment) == ("expired", "underpaid", WalletState.RECEIVED_FUNDS)
    assert signals.count(("accepted", payment.pk)) == 0

    run = run_operation(
        "resolve",
        ids=[payment.pk],
        decision="accept",
        reason="customer phoned: ship it",
        accept_short=True,
        user=admin_user,
    )
    assert run.status == RunStatus.SUCCEEDED and run.counts["accepted"] == 1
    assert state(payment) == ("confirmed", "", WalletState.RECEIVED_FUNDS)
    assert payment.paid_amount == 15_000_000 and payment.payer == str(customer.pubkey())
    item = run.items.get()
    assert item.reason.startswith("accepted by admin: customer phoned: ship it")
    assert (item.amount, item.token.symbol) == (15_000_000, "USDC")
    assert signals.count(("accepted", payment.pk)) == 1
    assert [s for s in signals if s[0] == "flagged"] == [
        ("flagged", payment.pk, "underpaid")
    ]  # from expire only

    again = run_operation("resolve", ids=[payment.pk], decision="accept", reason="twice")
    assert again.counts["skipped"] == 1 and "already settled" in again.items.get().reason
    assert signals.count(("accepted", payment.pk)) == 1

    run_operation("sweep", trigger="schedule")
    assert state(payment)[2] == WalletState.SENT_FUNDS
    assert shop.received("USDC") == 15_000_000
    shop.assert_money_conserved()
    run_operation("recheck", trigger="schedule")  # the watch reads it again: nothing new, nothing flagged
    assert state(payment) == ("confirmed", "", WalletState.SENT_FUNDS)


def test_accepting_a_payment_already_swept_finds_its_payer_in_the_incoming_transfer(shop, admin_user):
    payment, customer = expired_underpaid(shop, "SOL", 300_000_000)
    run_operation("sweep", trigger="schedule")  # not held: swept to the receiver as underpaid
    assert state(payment)[2] == WalletState.SENT_FUNDS
    run = run_operation(
        "resolve", ids=[payment.pk], decision="accept", reason="close enough", accept_short=True, user=admin_user
    )
    assert run.counts["accepted"] == 1
    payment.refresh_from_db()
    assert payment.status == "confirmed" and payment.paid_amount == 300_000_000
    assert payment.payer == str(customer.pubkey())  # not the sweep's signer
    assert shop.received("SOL") == 300_000_000
    shop.assert_money_conserved()


def test_accepting_needs_something_received_and_a_reason(shop, admin_user):
    payment = shop.new_payment({"SOL": "0.5"})
    overdue(payment)
    run_operation("expire", trigger="schedule")
    runs = OperationRun.objects.count()
    with pytest.raises(ValueError, match="a reason is required"):
        run_operation("resolve", ids=[payment.pk], decision="accept", reason="   ")
    with pytest.raises(ValueError, match="decision must be one of"):
        run_operation("resolve", ids=[payment.pk], decision="approve", reason="x")
    with pytest.raises(ValueError, match="give their ids"):
        run_operation("resolve", decision="accept", reason="everything")
    with pytest.raises(CommandError, match="a reason is required"):
        call_command("solana_payments_resolve", ids=str(payment.pk), decision="accept", reason=" ")
    assert OperationRun.objects.count() == runs  # refused before any run was recorded

    run = run_operation("resolve", ids=[payment.pk], decision="accept", reason="free")
    assert "nothing was received" in run.items.get().reason
    assert state(payment)[0] == "expired"


def test_cancel_expires_an_open_payment_and_later_money_is_caught_like_any_late_payment(
    shop, signals, admin_user
):
    payment = shop.new_payment({"USDC": "25", "SOL": "0.5"})
    fee_payer_before = shop.localnet.get_balance(shop.localnet.fee_payer.pubkey())
    call_command(
        "solana_payments_resolve",
        ids=str(payment.pk),
        decision="cancel",
        reason="customer gave up",
        json=True,
    )
    run = OperationRun.objects.get(kind="resolve")
    assert run.counts["cancelled"] == 1 and run.counts["closed"] == 1
    assert state(payment) == ("expired", "", WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED)
    assert payment.expires_at <= timezone.now()
    decision = run.items.get(reason__startswith="cancelled")
    assert decision.reason == "cancelled by a command: customer gave up"
    # the wallet's token account rent came back to the fee payer (less the closing fee)
    assert shop.localnet.get_balance(shop.localnet.fee_payer.pubkey()) > fee_payer_before + 2_000_000

    customer, _ = shop.pay(payment, "USDC", 25_000_000)  # the customer pays after all
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("confirmed", "paid_late", WalletState.RECEIVED_FUNDS)
    assert signals.count(("accepted", payment.pk)) == 1
    run_operation("sweep", trigger="schedule")
    assert shop.received("USDC") == 25_000_000
    shop.assert_money_conserved()


def test_cancel_refuses_what_is_not_open_and_a_paid_one_is_settled_instead(shop):
    settled = shop.new_payment({"SOL": "0.5"})
    shop.pay(settled, "SOL", 500_000_000)
    run_operation("recheck", trigger="schedule")
    paid_meanwhile = shop.new_payment({"SOL": "0.5"})
    shop.pay(paid_meanwhile, "SOL", 500_000_000)  # paid, not yet seen by any run
    run = run_operation("resolve", ids=[settled.pk, paid_meanwhile.pk], decision="cancel", reason="oops")
    reasons = dict(run.items.filter(outcome="skipped").values_list("payment_id", "reason"))
    assert "only an open (initiated) payment can be cancelled" in reasons[settled.pk]
    assert "paid in full on chain" in reasons[paid_meanwhile.pk]
    assert state(paid_meanwhile)[0] == "confirmed"
    assert state(settled)[0] == "confirmed"


def test_resolve_runs_on_a_real_cluster(shop, q_cluster, admin_user):
    payment, _ = expired_underpaid(shop)
    run = jobs.enqueue(
        "resolve",
        ids=[payment.pk],
        decision="accept",
        reason="ok",
        accept_short=True,
        user=admin_user,
        trigger="admin_action",
    )
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED and run.counts["accepted"] == 1
    assert run.parameters["reason"] == "ok" and run.parameters["accept_short"] is True
    assert state(payment)[0] == "confirmed"
    with pytest.raises(ValueError, match="a reason is required"):
        jobs.enqueue("resolve", ids=[payment.pk], decision="cancel", reason="")
