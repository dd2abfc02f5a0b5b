"""Reconcile: each kind of difference between the database and the chain is found, on the localnet; it
changes nothing, keeps to its request budget, and its report exports."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from solders.signature import Signature

from solana_payments.models import Difference, OneTimeWallet, OperationItem, OperationRun, Payment, RunStatus
from solana_payments.operations.base import run_operation
from solana_payments.resources import DifferenceResource

pytestmark = pytest.mark.django_db(transaction=True)


def swept(shop, symbol="USDC", amount=25_000_000, options=None):
    payment = shop.new_payment(options or {"USDC": "25"})
    shop.pay(payment, symbol, amount)
    run_operation("recheck", trigger="schedule")
    run_operation("sweep", trigger="schedule")
    payment.refresh_from_db()
    assert payment.wallet.state == "sent_funds"
    return payment


def kinds(run):
    return sorted(run.differences.values_list("kind", "suggested_action"))


def test_a_wallet_that_agrees_with_the_chain_has_no_difference_and_costs_one_request_per_100(shop):
    for _ in range(3):
        payment = shop.new_payment({"SOL": "0.5"})
        shop.pay(payment, "SOL", 500_000_000)
    run_operation("recheck", trigger="schedule")
    run = run_operation("reconcile", trigger="command")
    assert run.status == RunStatus.SUCCEEDED
    assert (run.counts["scanned"], run.counts["agreed"], run.counts["differences"]) == (3, 3, 0)
    assert run.rpc_calls == {"getMultipleAccounts": 1}


def test_funds_in_a_swept_wallet_are_found_and_the_difference_closes_once_swept(shop):
    payment = swept(shop)
    shop.pay(payment, "USDC", 5_000_000)  # the customer sends more after the sweep
    balances_before = shop.balance(payment.wallet.address, "USDC")
    run = run_operation("reconcile", trigger="command")
    assert kinds(run) == [("funds_in_empty_wallet", "sweep")]
    difference = run.differences.get()
    assert (difference.recorded, difference.on_chain, difference.asset) == (
        0,
        5_000_000,
        shop.tokens["USDC"].mint,
    )
    assert difference.is_open and difference.payment == payment
    assert OneTimeWallet.objects.get(pk=payment.wallet_id).state == "sent_funds"  # read-only
    assert shop.balance(payment.wallet.address, "USDC") == balances_before

    run_operation("recheck", trigger="schedule")
    run_operation("sweep", trigger="schedule")
    again = run_operation("reconcile", trigger="command")
    assert kinds(again) == []
    assert not Difference.objects.filter(is_open=True).exists()
    shop.assert_money_conserved()


def test_late_money_in_an_expired_wallet_suggests_accept_or_refund(shop):
    full = shop.new_payment({"SOL": "0.5"}, expires_in=1)
    part = shop.new_payment({"SOL": "0.5"}, expires_in=1)
    import time

    time.sleep(1.1)
    run_operation("expire", trigger="schedule")
    shop.pay(full, "SOL", 500_000_000)
    shop.pay(part, "SOL", 100_000_000)
    run = run_operation("reconcile", trigger="command")
    by_payment = dict(run.differences.values_list("payment_id", "suggested_action"))
    assert by_payment == {full.pk: "accept", part.pk: "refund"}


def test_rent_money_and_sweeps_the_records_got_wrong_are_found(shop):
    rent = swept(shop, options={"USDC": "25"})
    # the records say the wallet's rent came back and its accounts are closed; the chain still has one
    fresh = shop.new_payment({"USDC": "25"})
    OneTimeWallet.objects.filter(pk=fresh.wallet_id).update(
        state="payment_expired_and_wallet_closed", rent_reclaimed=2_039_280
    )
    # a settled payment whose swept total was lost: its money is neither in the wallet nor swept
    OneTimeWallet.objects.filter(pk=rent.wallet_id).update(swept={})
    # a sweep recorded as done with a transaction the chain never saw
    ghost = str(Signature.new_unique())
    ghost_run = OperationRun.objects.create(kind="sweep", trigger="command", parameters={"dry_run": False})
    OperationItem.objects.create(
        run=ghost_run, wallet=rent.wallet, payment=rent, outcome="done", signature=ghost, reason="swept"
    )
    run = run_operation("reconcile", trigger="command")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert kinds(run) == [
        ("money_missing", "investigate"),
        ("rent_mismatch", "reclaim"),
        ("sweep_not_landed", "investigate"),
    ]
    rent_row = run.differences.get(kind="rent_mismatch")
    assert (rent_row.recorded, rent_row.on_chain, rent_row.wallet_id) == (0, 2_039_280, fresh.wallet_id)
    missing = run.differences.get(kind="money_missing")
    assert (missing.recorded, missing.on_chain) == (25_000_000, 0)
    assert run.differences.get(kind="sweep_not_landed").account == ghost
    assert run.rpc_calls == {"getMultipleAccounts": 1, "getSignatureStatuses": 1}


def test_deep_mode_finds_token_accounts_no_payment_accepted(shop):
    payment = shop.new_payment({"USDC": "25"})
    shop.localnet.mint_to(shop.localnet.mints["PYUSD"], _pubkey(payment), 7_000_000)
    shallow = run_operation("reconcile", ids=[payment.wallet_id], trigger="command")
    assert kinds(shallow) == []
    out = StringIO()
    call_command("solana_payments_reconcile", ids=str(payment.wallet_id), deep=True, json=True, stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["counts"]["differences"] == 1
    assert summary["rpc_calls"]["getTokenAccountsByOwner"] == 2  # Token and Token-2022
    difference = Difference.objects.get(is_open=True)
    assert (difference.kind, difference.suggested_action, difference.on_chain) == (
        "unknown_token_account",
        "refund",
        7_000_000,
    )
    assert difference.asset == shop.tokens["PYUSD"].mint


def _pubkey(payment):
    from solders.pubkey import Pubkey

    return Pubkey.from_string(payment.wallet.address)


def test_the_report_exports_and_the_dashboard_counts_open_differences(shop, admin_client):
    payment = swept(shop)
    shop.pay(payment, "USDC", 1_000_000)
    run_operation("reconcile", trigger="schedule")
    csv = DifferenceResource().export().csv
    assert "funds_in_empty_wallet" in csv and payment.wallet.address in csv and "sweep" in csv
    page = admin_client.get("/admin/solana_payments/dashboard/").content.decode()
    assert "1 open difference between the database and the chain" in page
    listing = admin_client.get("/admin/solana_payments/difference/?is_open__exact=1").content.decode()
    assert payment.wallet.address in listing
    assert Payment.objects.get(pk=payment.pk).status == "confirmed"


def test_reconcile_has_a_daily_schedule_of_its_own():
    from solana_payments.operations import default_schedules

    assert default_schedules()["reconcile"] == 24 * 60


def test_the_wallet_action_previews_then_queues_a_reconcile_run(shop, admin_client):
    payment = swept(shop)
    shop.pay(payment, "USDC", 1_000_000)
    url = "/admin/solana_payments/onetimewallet/"
    data = {"action": "reconcile_wallets", "_selected_action": [payment.wallet_id]}
    preview = admin_client.post(url, data).content.decode()
    assert "funds in a wallet whose state says empty" in preview
    assert not Difference.objects.filter(run__parameters__dry_run=False).exists()  # a preview records none
    admin_client.post(url, {**data, "post": "yes"})
    run = OperationRun.objects.get(kind="reconcile", parameters__dry_run=False)
    assert run.status == RunStatus.QUEUED  # read-only: never held for approval
