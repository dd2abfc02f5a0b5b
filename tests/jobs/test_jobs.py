"""The job layer without a cluster: claims, cancellation, stale runs, retries and schedules."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from solana_payments import jobs
from solana_payments.models import OperationRun, RunStatus
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_queue_carries_the_run_id_only(shop):
    make_payments(1, shop.tokens)
    run = jobs.enqueue("recheck", ids=[1], trigger="admin_action")
    (task,) = OrmQ.objects.all()
    assert task.task["args"] == (run.pk,)
    assert task.task["kwargs"] == {}
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.task_id == task.task["id"]


def test_a_task_delivered_twice_runs_the_operation_once(shop):
    payment = shop.new_payment({"SOL": "1"})
    shop.pay(payment, "SOL", 1_000_000_000)
    run = jobs.enqueue("recheck", trigger="admin_action")
    assert jobs.execute(run.pk) == RunStatus.SUCCEEDED
    assert jobs.execute(run.pk) is None  # the second delivery finds the run claimed
    run.refresh_from_db()
    assert run.items.count() == 1 and run.counts["reconciled"] == 1


def test_a_queued_run_can_be_cancelled_and_then_never_runs(shop):
    run = jobs.enqueue("recheck", trigger="admin_action")
    assert jobs.cancel(run) is True
    assert jobs.execute(run.pk) is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and not run.items.exists()
    assert jobs.cancel(run) is False


def test_a_run_left_running_by_a_dead_worker_is_failed_and_can_be_retried(shop):
    dead = OperationRun.objects.create(
        kind="sweep",
        trigger="schedule",
        status=RunStatus.RUNNING,
        parameters={"ids": None},
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=jobs.stale_after_seconds() + 1),
    )
    alive = OperationRun.objects.create(
        kind="sweep", trigger="schedule", status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert jobs.fail_stale_runs() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == RunStatus.FAILED and "worker" in dead.error
    assert alive.status == RunStatus.RUNNING
    again = jobs.retry(dead)
    assert again.status == RunStatus.QUEUED and again.kind == "sweep"


def test_retry_takes_the_failed_records_only(shop, configure):
    from cryptography.fernet import Fernet

    payments = []
    for _ in range(2):
        payment = shop.new_payment({"SOL": "0.5"})
        shop.pay(payment, "SOL", 500_000_000)
        payments.append(payment)
    jobs.execute(jobs.enqueue("recheck", trigger="command").pk)
    good_key = configure()["ONE_TIME_WALLETS_ENCRYPTION_KEY"]
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=Fernet.generate_key().decode())
    failed = OperationRun.objects.get(pk=jobs.enqueue("sweep", trigger="command").pk)
    jobs.execute(failed.pk)
    failed.refresh_from_db()
    assert failed.status == RunStatus.PARTIAL and failed.counts["failed"] == 2
    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=good_key)
    retried = jobs.retry(failed)
    assert sorted(retried.parameters["ids"]) == sorted(p.wallet_id for p in payments)
    assert jobs.execute(retried.pk) == RunStatus.SUCCEEDED
    assert shop.received("SOL") == 1_000_000_000


def test_maintenance_runs_expire_sweep_reclaim_as_child_runs(shop):
    run = jobs.enqueue("maintenance", trigger="dashboard")
    assert jobs.execute(run.pk) == RunStatus.SUCCEEDED
    run.refresh_from_db()
    assert [c.kind for c in run.children.order_by("pk")] == ["expire", "sweep", "reclaim"]
    assert set(run.counts) == {"expire", "sweep", "reclaim", "retention"}
    assert (run.done, run.total) == (3, 3)


def test_schedules_command_is_idempotent_and_removable(configure):
    out = StringIO()
    call_command("solana_payments_schedules", stdout=out)
    assert "created solana_payments maintenance (every 10 min)" in out.getvalue()
    assert "created solana_payments recheck (every 5 min)" in out.getvalue()
    assert "created solana_payments reconcile (every 1440 min)" in out.getvalue()
    out = StringIO()
    call_command("solana_payments_schedules", stdout=out)
    assert out.getvalue().strip().endswith("created=0 updated=0 unchanged=3")
    configure(SCHEDULES={"recheck": 2})
    out = StringIO()
    call_command("solana_payments_schedules", stdout=out)
    assert "updated solana_payments recheck (every 2 min)" in out.getvalue()
    assert Schedule.objects.get(name="solana_payments recheck").minutes == 2
    assert Schedule.objects.get(name="solana_payments recheck").func == "solana_payments.jobs.run_scheduled"
    call_command("solana_payments_schedules", "--remove", stdout=StringIO())
    assert not Schedule.objects.filter(name__startswith="solana_payments ").exists()


def test_unknown_schedule_is_a_clear_error(configure):
    from django.core.management import CommandError

    configure(SCHEDULES={"sweep-everything": 1})
    with pytest.raises(CommandError, match="cannot be scheduled"):
        call_command("solana_payments_schedules", stdout=StringIO())
