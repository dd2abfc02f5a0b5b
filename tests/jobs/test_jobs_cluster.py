"""Every operation through a real django-q2 cluster: enqueue, a worker runs it, the chain shows it."""

import pytest

from solana_payments import jobs
from solana_payments.models import OneTimeWallet, OperationRun, RunStatus, WalletState
from tests.support.runs import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_operation_runs_on_a_real_cluster(shop, q_cluster, admin_user):
    paid = shop.new_payment({"USDC": "25"})
    shop.pay(paid, "USDC", 25_000_000)
    abandoned = shop.new_payment({"PYUSD": "5"}, expires_in=1)
    import time

    time.sleep(1.1)

    recheck = wait_for_run(jobs.enqueue("recheck", user=admin_user, trigger="admin_action"))
    assert recheck.status == RunStatus.SUCCEEDED and recheck.counts["reconciled"] == 1
    assert recheck.task_id and recheck.requested_by == admin_user

    expire = wait_for_run(jobs.enqueue("expire", ids=[abandoned.pk], user=admin_user, trigger="admin_action"))
    assert expire.counts["expired"] == 1 and expire.counts["closed"] == 1

    sweep = wait_for_run(jobs.enqueue("sweep", ids=[paid.wallet_id], user=admin_user, trigger="dashboard"))
    assert sweep.counts["swept"] == 1
    assert shop.received("USDC") == 25_000_000

    reclaim = wait_for_run(jobs.enqueue("reclaim", trigger="admin_action"))
    assert reclaim.status == RunStatus.SUCCEEDED

    maintenance = wait_for_run(jobs.enqueue("maintenance", trigger="dashboard"))
    assert maintenance.status == RunStatus.SUCCEEDED
    assert [c.kind for c in maintenance.children.order_by("pk")] == ["expire", "sweep", "reclaim"]
    assert (
        OneTimeWallet.objects.get(pk=abandoned.wallet_id).state
        == WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
    )
    shop.assert_money_conserved()


def test_schedule_runs_on_the_cluster(shop, q_cluster, settings):
    from django.utils import timezone
    from django_q.models import Schedule

    jobs.install_schedules()
    Schedule.objects.filter(name="solana_payments recheck").update(next_run=timezone.now())
    import time

    deadline = time.monotonic() + 60
    while not OperationRun.objects.filter(trigger="schedule", kind="recheck").exists():
        assert time.monotonic() < deadline, "the schedule never ran"
        time.sleep(0.3)
    run = wait_for_run(OperationRun.objects.get(trigger="schedule", kind="recheck"))
    assert run.status == RunStatus.SUCCEEDED
