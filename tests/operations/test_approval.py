"""Four-eyes approval: held runs, approval, rejection, the requester refused, a chain that changed."""

import datetime
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from solana_payments import approvals, jobs
from solana_payments.models import OneTimeWallet, OperationRun, Payment, RunStatus
from solana_payments.operations.base import run_operation

pytestmark = pytest.mark.django_db(transaction=True)


def staff(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)  # a fresh permission cache


@pytest.fixture
def alice(django_user_model):
    return staff(django_user_model, "alice", "run_refund", "run_sweep", "approve_runs")


@pytest.fixture
def bob(django_user_model):
    return staff(django_user_model, "bob", "approve_runs")


def held_underpaid(shop, configure, amount=15_000_000):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment = shop.new_payment({"USDC": "25"})
    customer, _ = shop.pay(payment, "USDC", amount)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=5))
    run_operation("expire", trigger="schedule")
    return payment, customer


def test_a_refund_waits_and_runs_what_was_previewed_once_another_user_approves(shop, configure, alice, bob):
    payment, customer = held_underpaid(shop, configure)
    run = jobs.enqueue("refund", ids=[payment.pk], user=alice, trigger="admin_action")
    assert run.status == RunStatus.AWAITING_APPROVAL and not run.task_id
    assert run.parameters["held"] == "every refund waits for a second person"
    preview = run.preview
    assert preview.parameters["dry_run"] and preview.items.get().amount == 15_000_000
    assert shop.balance(customer.pubkey(), "USDC") == 0

    approved = approvals.approve(run, bob)
    assert (approved.status, approved.decision, approved.decided_by) == ("queued", "approved", bob)
    assert approved.decided_at is not None
    jobs.execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.items.get(outcome="done").amount == 15_000_000
    assert shop.balance(customer.pubkey(), "USDC") == 15_000_000
    with pytest.raises(ValueError, match="not awaiting approval"):
        approvals.approve(run, bob)


def test_a_rejected_run_moves_nothing(shop, configure, alice, bob):
    payment, customer = held_underpaid(shop, configure)
    run = jobs.enqueue("refund", ids=[payment.pk], user=alice, trigger="admin_action")
    approvals.reject(run, bob, "customer asked for store credit")
    run.refresh_from_db()
    assert (run.status, run.decision, run.decided_by, run.decision_reason) == (
        "rejected",
        "rejected",
        bob,
        "customer asked for store credit",
    )
    assert jobs.execute(run.pk) is None  # a task delivered anyway finds nothing to do
    assert shop.balance(customer.pubkey(), "USDC") == 0
    assert shop.balance(payment.wallet.address, "USDC") == 15_000_000


def test_the_requester_and_users_without_the_permission_cannot_decide(
    shop, configure, alice, django_user_model
):
    payment, _ = held_underpaid(shop, configure)
    run = jobs.enqueue("refund", ids=[payment.pk], user=alice, trigger="admin_action")
    with pytest.raises(PermissionDenied, match="someone other than"):
        approvals.approve(run, alice)
    with pytest.raises(PermissionDenied, match="someone other than"):
        approvals.reject(run, alice)
    carol = staff(django_user_model, "carol", "run_refund")
    with pytest.raises(PermissionDenied, match="approve_runs"):
        approvals.approve(run, carol)
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL and run.decided_by is None


def test_a_sweep_over_the_threshold_waits_and_fails_when_more_arrived_after_approval(
    shop, configure, alice, bob
):
    configure(APPROVAL_THRESHOLDS={"USDC": "10"})
    small = shop.new_payment({"USDC": "5"})
    shop.pay(small, "USDC", 5_000_000)
    big = shop.new_payment({"USDC": "25"})
    shop.pay(big, "USDC", 25_000_000)
    run_operation("recheck", trigger="schedule")

    under = jobs.enqueue("sweep", ids=[small.wallet_id], user=alice, trigger="admin_action")
    assert under.status == RunStatus.QUEUED  # 5 USDC: below the threshold
    jobs.execute(under.pk)
    assert shop.received("USDC") == 5_000_000

    over = jobs.enqueue("sweep", ids=[big.wallet_id], user=alice, trigger="admin_action")
    assert over.status == RunStatus.AWAITING_APPROVAL
    assert over.parameters["held"] == (
        "would move 25 USDC (30 USDC with what the same requester's runs moved in the last 86400 s), "
        "more than the approval threshold of 10 USDC"
    )
    approvals.approve(over, bob)
    shop.pay(big, "USDC", 7_000_000)  # the customer sends more before the run starts
    jobs.execute(over.pk)
    over.refresh_from_db()
    assert over.status == RunStatus.FAILED
    assert "the chain changed since the approved preview" in over.error
    assert "32 USDC would move, 25 USDC were approved" in over.error
    assert shop.received("USDC") == 5_000_000  # nothing was sent
    assert OneTimeWallet.objects.get(pk=big.wallet_id).pending_signature == ""

    scheduled = run_operation("sweep", trigger="schedule")  # schedules are never held
    assert scheduled.counts["swept"] == 1
    assert shop.received("USDC") == 37_000_000
    shop.assert_money_conserved()


def test_an_approved_refund_fails_when_the_money_left_the_wallet_meanwhile(shop, configure, alice, bob):
    payment, customer = held_underpaid(shop, configure)
    run = jobs.enqueue("refund", ids=[payment.pk], user=alice, trigger="admin_action")
    approvals.approve(run, bob)
    configure(HOLD_FLAGGED_FUNDS=())
    run_operation("sweep", trigger="schedule")  # swept before the refund ran; no refund wallet
    jobs.execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert f"#{payment.pk} would now not be done" in run.error and "REFUND_WALLET_KEYPAIR" in run.error
    assert shop.balance(customer.pubkey(), "USDC") == 0
    assert shop.received("USDC") == 15_000_000


def test_a_command_run_over_the_threshold_waits_for_approval(shop, configure, bob):
    configure(APPROVAL_THRESHOLDS={"SOL": "0.1"})
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    run_operation("recheck", trigger="schedule")
    out = StringIO()
    call_command("send_solana_payments_from_one_time_wallets", json=True, stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "awaiting_approval" and shop.received("SOL") == 0
    run = OperationRun.objects.get(pk=summary["run"])
    approvals.approve(run, bob)  # a command has no requester: any approver decides
    jobs.execute(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and shop.received("SOL") == 500_000_000


def paid_usdc_payments(shop, *amounts):
    payments = []
    for amount in amounts:
        payment = shop.new_payment({"USDC": str(amount)})
        shop.pay(payment, "USDC", amount * 1_000_000)
        payments.append(payment)
    run_operation("recheck", trigger="schedule")
    return payments


def test_threshold_symbols_match_whatever_their_case(shop, configure, alice):
    configure(APPROVAL_THRESHOLDS={"usdc": "10"})  # never held anything before
    (payment,) = paid_usdc_payments(shop, 25)
    run = jobs.enqueue("sweep", ids=[payment.wallet_id], user=alice, trigger="admin_action")
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert run.parameters["held"] == "would move 25 USDC, more than the approval threshold of 10 USDC"


def test_a_sweep_split_into_small_runs_is_held_once_the_window_adds_up(shop, configure, alice, bob):
    """Under a 10 USDC threshold, three 4 USDC sweeps by the same user: the third waits. Another user, a
    schedule, or a window of 0 are not affected."""
    configure(APPROVAL_THRESHOLDS={"USDC": "10"})
    first, second, third, other = paid_usdc_payments(shop, 4, 4, 4, 4)

    one = jobs.enqueue("sweep", ids=[first.wallet_id], user=alice, trigger="admin_action")
    jobs.execute(one.pk)
    # The second is asked for while still queued: what it is about to move counts already.
    two = jobs.enqueue("sweep", ids=[second.wallet_id], user=alice, trigger="admin_action")
    assert (one.status, two.status) == (RunStatus.QUEUED, RunStatus.QUEUED)
    three = jobs.enqueue("sweep", ids=[third.wallet_id], user=alice, trigger="admin_action")
    assert three.status == RunStatus.AWAITING_APPROVAL
    assert three.parameters["held"] == (
        "would move 4 USDC (12 USDC with what the same requester's runs moved in the last 86400 s), "
        "more than the approval threshold of 10 USDC"
    )
    by_bob = jobs.enqueue("sweep", ids=[other.wallet_id], user=bob, trigger="admin_action")
    assert by_bob.status == RunStatus.QUEUED  # bob's window is his own

    configure(APPROVAL_WINDOW_SECONDS=0)  # each run alone, as before
    approvals.reject(three, bob)
    again = jobs.enqueue("sweep", ids=[third.wallet_id], user=alice, trigger="admin_action")
    assert again.status == RunStatus.QUEUED


def test_commands_split_with_ids_are_held_too(shop, configure):
    configure(APPROVAL_THRESHOLDS={"USDC": "10"})
    payments = paid_usdc_payments(shop, 6, 6)
    statuses = []
    for payment in payments:
        out = StringIO()
        call_command(
            "send_solana_payments_from_one_time_wallets", ids=str(payment.wallet_id), json=True, stdout=out
        )
        statuses.append(json.loads(out.getvalue())["status"])
    assert statuses == ["succeeded", "awaiting_approval"]
    assert shop.received("USDC") == 6_000_000


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("APPROVAL_THRESHOLDS", {"SOL": "10", "USDC": "1000.5"}, True),
        ("APPROVAL_THRESHOLDS", {"SOL": 10.5}, False),  # a float: never for money
        ("APPROVAL_THRESHOLDS", {"SOL": "-1"}, False),
        ("APPROVAL_THRESHOLDS", ["SOL"], False),
        ("APPROVAL_THRESHOLDS", {"SOL": "1e999999999"}, False),  # passed, then overflowed when compared
        ("APPROVAL_THRESHOLDS", {"SOL": "18446744073709551615"}, True),
        ("APPROVAL_THRESHOLDS", {"SOL": "1", "sol": "2"}, False),
        ("APPROVAL_WINDOW_SECONDS", -1, False),
        ("APPROVAL_WINDOW_SECONDS", "3600", False),
        ("REFUND_WALLET_KEYPAIR", "not a keypair", False),
    ],
)
def test_the_new_settings_are_checked(configure, name, value, ok):
    from solana_payments.checks import check_settings

    configure(**{name: value})
    errors = [e for e in check_settings() if e.id in ("solana_payments.E013", "solana_payments.E014")]
    assert (errors == []) is ok
    assert all("not a keypair" not in e.msg for e in errors)  # a secret is never repeated


def test_a_threshold_naming_no_token_is_an_error(configure, tokens):
    from solana_payments.checks import check_settings

    configure(APPROVAL_THRESHOLDS={"sol": "10", "usdc": "5"})
    assert not [e for e in check_settings() if e.id == "solana_payments.E014"]
    configure(APPROVAL_THRESHOLDS={"SOL": "10", "USCD": "5"})  # a typo never holds anything
    (error,) = [e for e in check_settings() if e.id == "solana_payments.E014"]
    assert "['USCD'] names no token" in error.msg and "PYUSD, SOL, USDC" in error.msg


def test_a_run_awaiting_approval_can_be_withdrawn(shop, configure, alice, bob):
    payment, customer = held_underpaid(shop, configure)
    run = jobs.enqueue("refund", ids=[payment.pk], user=alice, trigger="admin_action")
    assert jobs.cancel(run)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    with pytest.raises(ValueError, match="not awaiting approval"):
        approvals.approve(run, bob)
    assert shop.balance(customer.pubkey(), "USDC") == 0
