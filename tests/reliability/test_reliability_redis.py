"""The whole admin -> job -> result path with django-q2's Redis broker, against the real Redis server.

A staff user presses the dashboard's recheck button and runs the "sweep the wallets of selected payments"
action on the payment changelist (preview, then confirm). The runs are queued on Redis under a queue name
of this test alone; a real ``qcluster`` process with two workers, configured with the Redis broker,
takes them from there; the runs, django-q2's task records and the chain show the result. The queue's keys
are deleted afterwards.
"""

import os
import uuid

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from solana_payments.models import OperationRun, OperationTrigger, RunStatus, WalletState
from tests.support.reliability import Process, current_database, wait_until, worker_env
from tests.support.runs import wait_for_run
from tests.support.services import require_redis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_q_cluster(monkeypatch):
    """``Q_CLUSTER`` with the Redis broker and a queue name of this test; this process enqueues there too.

    django-q2 reads its settings once, at import: the test process's ``Conf`` is pointed at the same
    broker for the test (and restored afterwards) so that the admin views enqueue on Redis.
    """
    require_redis()
    import redis
    from django_q.conf import Conf

    name = f"solana-payments-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    q_cluster = {"name": name, "redis": REDIS_URL, "workers": 2, "timeout": 60, "retry": 90, "sync": False}
    for attribute, value in {
        "REDIS": REDIS_URL,
        "ORM": None,
        "PREFIX": name,
        "CLUSTER_NAME": name,
        "Q_STAT": f"django_q:{name}:cluster",
        "WORKERS": 2,
        "SYNC": False,
    }.items():
        monkeypatch.setattr(Conf, attribute, value)
    client = redis.from_url(REDIS_URL)
    try:
        yield q_cluster
    finally:
        for key in client.scan_iter(match=f"django_q:{name}:*"):
            client.delete(key)
        client.close()


@pytest.fixture
def staff_client(client, django_user_model):
    """A staff user who may view the records and run recheck and sweep (not a superuser)."""
    user = django_user_model.objects.create_user("operator", password="pw", is_staff=True)
    codenames = ["view_payment", "view_onetimewallet", "view_operationrun", "run_recheck", "run_sweep"]
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="solana_payments", codename__in=codenames)
    )
    client.force_login(user)
    client.user = user
    return client


def test_admin_to_job_to_result_over_redis(shop, redis_q_cluster, staff_client, tmp_path):
    import redis
    from django_q.models import Task

    from solana_payments.health import cluster_health

    paid = shop.new_payment({"USDC": "25"})
    shop.pay(paid, "USDC", 25_000_000)
    other = shop.new_payment({"SOL": "0.5"})
    shop.pay(other, "SOL", 500_000_000)

    env = worker_env(
        solana_payments=settings.SOLANA_PAYMENTS,
        database=current_database(),
        q_cluster=redis_q_cluster,
    )
    worker = Process(["-m", "django", "qcluster"], env, tmp_path / "qcluster.log")
    try:
        # The cluster reports itself through Redis: the dashboard sees it, with its two workers.
        health = wait_until(
            lambda: (lambda h: h if h["workers"] == 2 else None)(cluster_health()),
            timeout=30,
            message="the cluster and its two workers registered in Redis",
        )
        assert health["broker"].startswith("Redis") and health["workers"] == 2, health

        # 1. The dashboard's recheck button (everything eligible).
        run_url = reverse("admin:solana_payments_operationrun_run", args=["recheck"])
        response = staff_client.post(run_url, {"all": "1", "trigger": "dashboard", "post": "yes"})
        assert response.status_code == 302
        recheck = OperationRun.objects.get(kind="recheck")
        assert recheck.trigger == OperationTrigger.DASHBOARD and recheck.requested_by == staff_client.user
        recheck = wait_for_run(recheck, timeout=60)
        assert recheck.status == RunStatus.SUCCEEDED and recheck.counts["reconciled"] == 2, recheck.error

        # 2. The changelist action on one payment: the preview page, then the confirmation.
        changelist = reverse("admin:solana_payments_payment_changelist")
        selection = {"action": "sweep_payment_wallets", "_selected_action": [paid.pk]}
        preview = staff_client.post(changelist, selection)
        assert preview.status_code == 200 and b"post" in preview.content
        assert not OperationRun.objects.filter(kind="sweep").exclude(parameters__dry_run=True).exists()
        assert redis.from_url(REDIS_URL).llen(f"django_q:{redis_q_cluster['name']}:q") == 0
        response = staff_client.post(changelist, {**selection, "post": "yes"})
        assert response.status_code == 302
        sweep = OperationRun.objects.filter(kind="sweep").exclude(parameters__dry_run=True).get()
        assert sweep.trigger == OperationTrigger.ADMIN_ACTION and sweep.parameters["ids"] == [paid.wallet_id]
        sweep = wait_for_run(sweep, timeout=60)
        # The cluster's monitor saves a task's record after the run has finished: wait for both.
        wait_until(
            lambda: Task.objects.filter(id__in=[recheck.task_id, sweep.task_id]).count() == 2 or None,
            timeout=30,
            message="django-q2 saved both task records",
        )
    finally:
        worker.stop()
    log = worker.output()
    assert sweep.status == RunStatus.SUCCEEDED, (sweep.error, log[-3000:])
    assert sweep.counts["swept"] == 1 and sweep.requested_by == staff_client.user

    # django-q2's own records: both tasks ran on the Redis cluster and succeeded, carrying the run id only.
    tasks = {t.id: t for t in Task.objects.all()}
    for run in (recheck, sweep):
        task = tasks[run.task_id]
        assert task.success and task.func == "solana_payments.jobs.execute" and task.args == (run.pk,)
        assert task.cluster == redis_q_cluster["name"]

    # The chain: the selected payment's wallet was swept, the other one left for later.
    assert shop.received("USDC") == 25_000_000 and shop.in_wallets("USDC") == 0
    assert shop.received("SOL") == 0 and shop.in_wallets("SOL") == 500_000_000
    paid.wallet.refresh_from_db()
    other.wallet.refresh_from_db()
    assert paid.wallet.state == WalletState.SENT_FUNDS and other.wallet.state == WalletState.RECEIVED_FUNDS
    assert shop.outgoing_sweeps(paid.wallet) == 1
    shop.assert_money_conserved()
