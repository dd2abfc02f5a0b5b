"""Every run is asked for in one place: retries are cleaned and held like a fresh request, a command's
held run records who asked, and one generic command runs every operation."""

import getpass
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client

from solana_payments import approvals, jobs
from solana_payments.keys import new_wallet_secret
from solana_payments.models import OneTimeWallet, OperationRun, RunStatus
from solana_payments.operations.base import run_operation

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = "/admin/solana_payments/operationrun/"


def staff(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)  # a fresh permission cache


def orphan_wallet():
    keypair, encrypted = new_wallet_secret()
    return OneTimeWallet.objects.create(address=str(keypair.pubkey()), encrypted_secret=encrypted)


def test_a_reconcile_retry_takes_the_wallets_that_failed(shop):
    """A reconcile run's ids are wallets: its retry takes the failed wallets, never the wallets whose ids
    happen to be their payments' ids."""
    broken, fine = shop.new_payment({"SOL": "0.5"}), shop.new_payment({"SOL": "0.5"})
    while broken.pk == broken.wallet_id:  # ids in step (a fresh database): put the wallets' one ahead
        broken.delete()
        orphan_wallet()
        broken = shop.new_payment({"SOL": "0.5"})
    # a wallet of no payment whose id is the broken payment's id: the one a retry that read payment ids
    # as wallet ids would take
    orphan = OneTimeWallet.objects.filter(pk=broken.pk).first()
    if orphan is None:
        keypair, encrypted = new_wallet_secret()
        orphan = OneTimeWallet.objects.create(
            pk=broken.pk, address=str(keypair.pubkey()), encrypted_secret=encrypted
        )
    assert broken.pk != broken.wallet_id and orphan.pk == broken.pk and orphan.pk != fine.wallet_id
    OneTimeWallet.objects.filter(pk=broken.wallet_id).update(address="not-an-address")
    run = jobs.enqueue("reconcile", ids=[broken.wallet_id, fine.wallet_id], trigger="command")
    assert jobs.execute(run.pk) == RunStatus.PARTIAL
    run.refresh_from_db()
    assert run.items.get(outcome="failed").wallet_id == broken.wallet_id

    retried = jobs.retry(run)
    assert retried.parameters["ids"] == [broken.wallet_id]
    jobs.execute(retried.pk)
    assert set(retried.items.values_list("wallet_id", flat=True)) == {broken.wallet_id}
    assert not retried.items.filter(wallet=orphan).exists()


def test_a_maintenance_retry_from_the_admin_waits_for_approval_like_a_fresh_request(
    shop, configure, django_user_model
):
    """Retrying a failed maintenance run whose sweep would move 2 SOL past a 1 SOL threshold holds it for
    a second person; it moves nothing until approved, then exactly what was paid."""
    configure(APPROVAL_THRESHOLDS={"SOL": "1"})
    alice = staff(django_user_model, "alice", "run_expire", "run_sweep", "run_reclaim", "view_operationrun")
    bob = staff(django_user_model, "bob", "approve_runs")
    payment = shop.new_payment({"SOL": "2"})
    shop.pay(payment, "SOL", 2_000_000_000)
    run_operation("recheck", trigger="schedule")
    failed = OperationRun.objects.create(
        kind="maintenance", trigger="schedule", status=RunStatus.FAILED, parameters={"ids": None}
    )

    client = Client()
    client.force_login(alice)
    response = client.post(RUNS, {"action": "retry_runs", "_selected_action": [failed.pk], "post": "yes"})
    assert response.status_code == 302
    retry = OperationRun.objects.filter(kind="maintenance", parent=None).latest("pk")
    assert retry.pk != failed.pk
    assert retry.status == RunStatus.AWAITING_APPROVAL and retry.requested_by == alice
    assert "would move 2 SOL, more than the approval threshold of 1 SOL" in retry.parameters["held"]
    assert shop.received("SOL") == 0

    with pytest.raises(PermissionDenied):
        approvals.approve(retry, alice)  # the requester never decides on their own run
    approvals.approve(retry, bob)
    assert jobs.execute(retry.pk) == RunStatus.SUCCEEDED
    assert shop.received("SOL") == 2_000_000_000
    shop.assert_money_conserved()


def held_sweep_by_command(shop, configure, *args):
    configure(APPROVAL_THRESHOLDS={"SOL": "0.1"})
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    run_operation("recheck", trigger="schedule")
    out = StringIO()
    call_command("send_solana_payments_from_one_time_wallets", "--json", *args, stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "awaiting_approval" and shop.received("SOL") == 0
    return OperationRun.objects.get(pk=summary["run"])


def test_a_held_command_run_records_requested_by_and_they_cannot_approve_it(
    shop, configure, django_user_model
):
    alice = staff(django_user_model, "alice", "approve_runs")
    bob = staff(django_user_model, "bob", "approve_runs")
    run = held_sweep_by_command(shop, configure, "--requested-by", "alice")
    assert (run.requested_by, run.requester) == (alice, "alice")
    with pytest.raises(PermissionDenied):
        approvals.approve(run, alice)
    approvals.approve(run, bob)
    assert jobs.execute(run.pk) == RunStatus.SUCCEEDED
    assert shop.received("SOL") == 500_000_000


def test_a_held_command_run_records_the_os_user_who_cannot_approve_it(shop, configure, django_user_model):
    os_user = staff(django_user_model, getpass.getuser(), "approve_runs")
    run = held_sweep_by_command(shop, configure)
    assert run.requester == getpass.getuser() and run.requested_by == os_user
    with pytest.raises(PermissionDenied):
        approvals.approve(run, os_user)


def test_a_requester_without_an_account_is_recorded_by_name(shop, configure, django_user_model):
    carol = staff(django_user_model, "carol", "approve_runs")
    run = held_sweep_by_command(shop, configure, "--requested-by", "night-shift")
    assert (run.requested_by, run.requester) == (None, "night-shift")
    approvals.approve(run, carol)


def test_the_generic_command_runs_every_operation_with_the_seed_flags(shop):
    out = StringIO()
    call_command("solana_payments_run", "recheck", "--sleep", "0", stdout=out)
    run = OperationRun.objects.get()
    assert (run.kind, run.trigger, run.parameters["limit"]) == ("recheck", "command", 200)
    assert out.getvalue().strip().splitlines()[-1].startswith("scanned=0 ")
    call_command("solana_payments_run", "maintenance", "--json", stdout=(out := StringIO()))
    summary = json.loads(out.getvalue())
    assert (summary["kind"], summary["status"]) == ("maintenance", "succeeded")
    assert [c.kind for c in OperationRun.objects.get(pk=summary["run"]).children.order_by("pk")] == [
        "expire",
        "sweep",
        "reclaim",
    ]


def test_the_seed_names_keep_their_flags(shop):
    call_command("recheck_initiated_solana_payments", "--sleep", "0.01", stdout=StringIO())
    run = OperationRun.objects.get()
    assert (run.parameters["limit"], run.parameters["sleep"]) == (200, 0.01)
