"""Refunds on the localnet: from the one-time wallet, from the refund wallet after a sweep, partial refunds
adding up, a payer without a token account, refusals, exactly-once sending; balances checked on chain."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from solders.keypair import Keypair

from solana_payments import approvals, jobs
from solana_payments.management.operation_command import run_summary
from solana_payments.models import OperationRun, Payment, Refund, RunStatus, WalletState
from solana_payments.operations.base import run_operation
from tests.support.payments import overdue, signals_sent
from tests.support.runs import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

USDC_RENT, PYUSD_RENT = 2_039_280, 2_074_080


@pytest.fixture
def refunds_sent():
    with signals_sent(
        refunded=lambda payment, refund, **kw: (payment.pk, refund.amount),
        flagged=lambda payment, exception, **kw: ("flagged", payment.pk, exception),
    ) as sent:
        yield sent


def expired_underpaid(shop, symbol, amount):
    payment = shop.new_payment({"USDC": "25", "SOL": "0.5", "PYUSD": "25"})
    customer, _ = shop.pay(payment, symbol, amount)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("expired", "underpaid")
    return payment, customer


def settled(shop, symbol, amount, options=None):
    payment = shop.new_payment(options or {"USDC": "25", "SOL": "0.5", "PYUSD": "25"})
    customer, _ = shop.pay(payment, symbol, amount)
    run_operation("recheck", trigger="schedule")
    payment.refresh_from_db()
    assert payment.is_settled
    return payment, customer


def assert_conserved(shop, refunded):
    """What customers paid = receiver + what is still in one-time wallets + what was refunded to them."""
    for symbol in shop.tokens:
        assert shop.paid[symbol] == shop.received(symbol) + shop.in_wallets(symbol) + refunded.get(symbol, 0)


@pytest.fixture
def approver(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("bob", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="approve_runs"))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def refund_wallet(shop, configure):
    keypair = Keypair()
    shop.localnet.airdrop(keypair.pubkey(), 5_000_000_000)
    shop.localnet.mint_to(shop.localnet.mints["USDC"], keypair.pubkey(), 100_000_000)
    configure(REFUND_WALLET_KEYPAIR=list(bytes(keypair)))
    return keypair


def test_refund_from_the_one_time_wallet_that_still_holds_the_money(shop, configure, refunds_sent):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment, customer = expired_underpaid(shop, "USDC", 15_000_000)
    assert shop.balance(customer.pubkey(), "USDC") == 0

    run = run_operation("refund", ids=[payment.pk], trigger="command")  # the suggested amount: all received
    assert run.status == RunStatus.SUCCEEDED and run.counts["refunded"] == 1
    item = run.items.get()
    assert (item.amount, item.destination, item.token.symbol) == (15_000_000, str(customer.pubkey()), "USDC")
    assert item.signature and item.fee == 10_000 and item.rent == 0
    assert "from the one-time wallet" in item.reason
    assert shop.balance(customer.pubkey(), "USDC") == 15_000_000
    assert shop.balance(payment.wallet.address, "USDC") == 0

    payment.refresh_from_db()
    assert payment.refunded_amount == 15_000_000 and payment.refund_marker == "refunded"
    assert payment.wallet.refunded == {shop.tokens["USDC"].mint: 15_000_000}
    refund = payment.refunds.get()
    assert (refund.status, refund.source, refund.signature) == ("landed", "wallet", item.signature)
    assert refunds_sent == [("flagged", payment.pk, "underpaid"), (payment.pk, 15_000_000)]

    # The rule still counts the refunded money as received: nothing looks missing, nothing is flagged,
    # and sweep closes the wallet's accounts instead of waiting for money that "never arrived".
    run_operation("recheck", trigger="schedule")
    configure(HOLD_FLAGGED_FUNDS=())
    sweep = run_operation("sweep", trigger="schedule")
    assert sweep.counts["swept"] == 1, list(sweep.items.values_list("reason", flat=True))
    payment.refresh_from_db()
    assert payment.wallet.state == WalletState.SENT_FUNDS and payment.exception == "underpaid"
    assert len(refunds_sent) == 2
    assert_conserved(shop, {"USDC": 15_000_000})


def test_refund_after_a_sweep_comes_from_the_refund_wallet(shop, configure):
    payment, customer = settled(shop, "SOL", 600_000_000)  # overpaid by 0.1 SOL
    assert payment.exception == "overpaid"
    run_operation("sweep", trigger="schedule")
    assert shop.received("SOL") == 600_000_000
    customer_before = shop.localnet.get_balance(customer.pubkey())

    refused = run_operation("refund", ids=[payment.pk])
    assert "no REFUND_WALLET_KEYPAIR is configured" in refused.items.get().reason
    assert not Refund.objects.exists()

    keypair = Keypair()
    shop.localnet.airdrop(keypair.pubkey(), 2_000_000_000)
    configure(REFUND_WALLET_KEYPAIR=list(bytes(keypair)))
    run = run_operation("refund", ids=[payment.pk])  # suggested for an overpaid payment: the excess
    item = run.items.get()
    assert (item.outcome, item.amount) == ("done", 100_000_000)
    assert "from the refund wallet" in item.reason
    assert shop.localnet.get_balance(customer.pubkey()) == customer_before + 100_000_000
    assert shop.localnet.get_balance(keypair.pubkey()) == 2_000_000_000 - 100_000_000
    payment.refresh_from_db()
    assert payment.refunded_amount == 100_000_000 and payment.refund_marker == "partly refunded"
    assert payment.wallet.refunded == {}  # nothing left the one-time wallet
    assert shop.received("SOL") == 600_000_000


def test_partial_refunds_add_up_and_more_than_was_received_is_refused(shop, refund_wallet):
    payment, customer = settled(shop, "USDC", 25_000_000)
    run_operation("sweep", trigger="schedule")
    first = run_operation("refund", ids=[payment.pk], amount="10")
    second = run_operation("refund", ids=[payment.pk], amount="12.5")
    assert [r.items.get().amount for r in (first, second)] == [10_000_000, 12_500_000]
    payment.refresh_from_db()
    assert payment.refunded_amount == 22_500_000 and payment.refund_marker == "partly refunded"

    too_much = run_operation("refund", ids=[payment.pk], amount="2.500001")
    item = too_much.items.get()
    assert item.outcome == "skipped"
    assert "more than was received and not yet refunded (2.5 USDC: received 25 USDC, refunded 22.5 USDC)" in (
        item.reason
    )
    rest = run_operation("refund", ids=[payment.pk])  # suggested: what is left
    assert rest.items.get().amount == 2_500_000
    payment.refresh_from_db()
    assert payment.refund_marker == "refunded"
    assert shop.balance(customer.pubkey(), "USDC") == 25_000_000
    assert shop.balance(refund_wallet.pubkey(), "USDC") == 100_000_000 - 25_000_000
    nothing = run_operation("refund", ids=[payment.pk])
    assert "nothing to suggest" in nothing.items.get().reason
    assert payment.refunds.filter(status="landed").count() == 3


def test_refund_to_an_address_without_a_token_account_creates_it_and_records_the_rent(
    shop, configure, approver
):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment, _ = expired_underpaid(shop, "PYUSD", 5_000_000)
    friend = Keypair().pubkey()  # a wallet that never held PYUSD (nor any SOL)
    fee_payer = shop.localnet.fee_payer.pubkey()
    fee_payer_before = shop.localnet.get_balance(fee_payer)
    out = StringIO()
    call_command("solana_payments_refund", ids=str(payment.pk), to=str(friend), json=True, stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "awaiting_approval"  # every refund waits for a second person
    run = OperationRun.objects.get(pk=summary["run"])
    assert run.parameters["plan"] == {str(payment.pk): {"amount": 5_000_000, "to": str(friend)}}
    approvals.approve(run, approver)
    jobs.execute(run.pk)
    run.refresh_from_db()
    summary = run_summary(run)
    assert summary["status"] == "succeeded" and summary["counts"]["refunded"] == 1
    item = run.items.get()
    assert (item.destination, item.amount, item.rent) == (str(friend), 5_000_000, PYUSD_RENT)
    assert shop.balance(friend, "PYUSD") == 5_000_000
    assert shop.localnet.get_balance(fee_payer) == fee_payer_before - PYUSD_RENT - item.fee
    assert summary["fees_paid"] == item.fee


def test_bad_destinations_and_amounts_are_refused_before_a_run(shop):
    payment, customer = settled(shop, "USDC", 25_000_000)
    ata = shop.localnet.ata(customer.pubkey(), shop.localnet.mints["USDC"])
    runs = OperationRun.objects.count()
    with pytest.raises(CommandError, match="off curve"):
        call_command("solana_payments_refund", ids=str(payment.pk), to=str(ata))
    with pytest.raises(CommandError, match="not a Solana address"):
        call_command("solana_payments_refund", ids=str(payment.pk), to="nope")
    with pytest.raises(CommandError, match="positive number"):
        call_command("solana_payments_refund", ids=str(payment.pk), amount="-1")
    with pytest.raises(ValueError, match="give their ids"):
        run_operation("refund")
    assert OperationRun.objects.count() == runs
    too_fine = run_operation("refund", ids=[payment.pk], amount="0.0000001")
    assert (
        "more than 6 decimal places" in too_fine.items.get().reason
        or "decimal" in too_fine.items.get().reason
    )
    unpaid = shop.new_payment({"SOL": "1"})
    run = run_operation("refund", ids=[unpaid.pk])
    assert "nothing was received" in run.items.get().reason
    assert shop.balance(customer.pubkey(), "USDC") == 0


def test_dry_run_previews_and_moves_nothing(shop, configure):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment, customer = expired_underpaid(shop, "SOL", 200_000_000)
    out = StringIO()
    call_command("solana_payments_refund", ids=str(payment.pk), dry_run=True, json=True, stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["dry_run"] and summary["fees_paid"] == 0
    item = OperationRun.objects.get(pk=summary["run"]).items.get()
    assert (item.outcome, item.amount, item.destination) == ("would-do", 200_000_000, str(customer.pubkey()))
    assert not Refund.objects.exists()
    assert shop.balance(payment.wallet.address, "SOL") == 200_000_000


def test_a_lost_response_is_resent_as_the_same_bytes_and_refunds_once(shop, configure):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",), CONFIRM_TIMEOUT_SECONDS=0.3)
    payment, customer = expired_underpaid(shop, "USDC", 20_000_000)
    shop.localnet.set_faults(lose_send_response=1.0, confirmation_delay=30, methods=("sendTransaction",))
    to = str(customer.pubkey())  # with confirmation held back the payer's transfer is not confirmed either
    first = run_operation("refund", ids=[payment.pk], amount="20", to=to)
    assert first.status == RunStatus.PARTIAL, list(first.items.values_list("outcome", "reason"))
    pending = Refund.objects.get()
    assert pending.status == "pending" and first.items.get().signature == pending.signature

    blocked = run_operation("refund", ids=[payment.pk], amount="20", to=to, dry_run=True)
    assert "in flight" in blocked.items.get().reason

    shop.localnet.clear_faults()
    second = run_operation("refund", ids=[payment.pk], amount="20", to=to)
    pending.refresh_from_db()
    assert pending.status == "landed"
    assert second.counts["recovered"] == 1
    done = second.items.get(outcome="done")
    assert (done.signature, done.amount) == (pending.signature, 20_000_000)
    assert "earlier transaction landed" in done.reason
    assert "not refunding again" in second.items.get(outcome="skipped").reason
    assert shop.balance(customer.pubkey(), "USDC") == 20_000_000  # once, not twice
    payment.refresh_from_db()
    assert payment.refunded_amount == 20_000_000
    assert_conserved(shop, {"USDC": 20_000_000})


def test_refund_runs_on_a_real_cluster(shop, configure, q_cluster, admin_user, approver):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment, customer = expired_underpaid(shop, "SOL", 300_000_000)
    run = jobs.enqueue("refund", ids=[payment.pk], amount="0.1", user=admin_user, trigger="admin_action")
    assert run.status == RunStatus.AWAITING_APPROVAL
    approvals.approve(run, approver)
    run = wait_for_run(run)
    assert run.status == RunStatus.SUCCEEDED and run.counts["refunded"] == 1
    assert run.parameters["amount"] == "0.1"
    assert shop.balance(payment.wallet.address, "SOL") == 200_000_000
    assert Payment.objects.get(pk=payment.pk).refund_marker == "partly refunded"


def test_a_sol_refund_that_would_strand_less_than_rent_comes_from_the_refund_wallet(shop, configure):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment = shop.new_payment({"SOL": "0.5"})
    customer, _ = shop.pay(payment, "SOL", 300_000_000)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=5))
    run_operation("expire", trigger="schedule")
    refunder = Keypair()
    shop.localnet.airdrop(refunder.pubkey(), 1_000_000_000)
    configure(REFUND_WALLET_KEYPAIR=list(bytes(refunder)))
    before = shop.localnet.get_balance(customer.pubkey())
    run = run_operation("refund", ids=[payment.pk], amount="0.2995")  # would leave 500,000 lamports
    item = run.items.get()
    assert item.outcome == "done" and "from the refund wallet" in item.reason
    assert shop.localnet.get_balance(customer.pubkey()) == before + 299_500_000
    assert shop.balance(payment.wallet.address, "SOL") == 300_000_000  # the one-time wallet is untouched


def test_sweep_leaves_a_wallet_alone_while_a_refund_out_of_it_may_still_land(shop, configure):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",), CONFIRM_TIMEOUT_SECONDS=0.3)
    payment, customer = expired_underpaid(shop, "USDC", 20_000_000)
    to = str(customer.pubkey())
    shop.localnet.set_faults(lose_send_response=1.0, confirmation_delay=30, methods=("sendTransaction",))
    first = run_operation("refund", ids=[payment.pk], amount="20", to=to)
    assert first.status == RunStatus.PARTIAL and Refund.objects.get().status == "pending"

    # The merchant stops holding while the refund's transaction is not confirmed yet: sweep must not take
    # the wallet (nor read its emptiness as a lagging node), the refund run settles it first.
    configure(HOLD_FLAGGED_FUNDS=())
    shop.localnet.set_faults(confirmation_delay=30, methods=("sendTransaction",))
    sends = shop.localnet.request_counts.get("sendTransaction", 0)
    sweep = run_operation("sweep", trigger="schedule")
    item = sweep.items.get()
    assert (item.outcome, item.wallet_id) == ("skipped", payment.wallet_id)
    assert "refund out of this wallet is still pending" in item.reason
    assert shop.localnet.request_counts.get("sendTransaction", 0) == sends  # nothing sent for it

    shop.localnet.clear_faults()
    second = run_operation("refund", ids=[payment.pk], amount="20", to=to)
    assert second.counts["recovered"] == 1 and Refund.objects.get().status == "landed"
    after = run_operation("sweep", trigger="schedule")
    assert after.status == RunStatus.SUCCEEDED, list(after.items.values_list("reason", flat=True))
    assert shop.balance(customer.pubkey(), "USDC") == 20_000_000  # refunded once
    assert_conserved(shop, {"USDC": 20_000_000})
