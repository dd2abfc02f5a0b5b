"""Retention of run items: old items of finished runs go in batches; unfinished runs and write-aheads stay."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from solana_payments.jobs import housekeeping
from solana_payments.models import OneTimeWallet, OperationItem, OperationRun
from solana_payments.retention import prune_run_items

pytestmark = pytest.mark.django_db

DAYS = 30


def make_run(status, *, age_days, items=3, **fields):
    finished = timezone.now() - datetime.timedelta(days=age_days)
    run = OperationRun.objects.create(
        kind="sweep",
        trigger="schedule",
        status=status,
        total=items,
        done=items,
        counts={"swept": items, "failed": 0},
        fees_paid=5_000 * items,
        finished_at=finished if status not in ("queued", "running") else None,
        created_at=finished,
        **fields,
    )
    OperationItem.objects.bulk_create(
        [OperationItem(run=run, outcome="done", fee=5_000, created_at=finished) for _ in range(items)]
    )
    return run


def test_off_by_default_nothing_is_pruned():
    make_run("succeeded", age_days=3650)
    assert prune_run_items() == 0
    assert OperationItem.objects.count() == 3


def test_old_items_of_finished_runs_go_and_the_totals_stay(configure):
    configure(RUN_ITEMS_RETENTION_DAYS=DAYS, RETENTION_BATCH_SIZE=2)
    old = [make_run(status, age_days=DAYS + 1) for status in ("succeeded", "partial", "failed", "cancelled")]
    recent = make_run("succeeded", age_days=DAYS - 1)
    running = make_run("running", age_days=DAYS + 5)
    queued = make_run("queued", age_days=DAYS + 5)
    before = {r.pk: (r.total, r.done, r.counts, r.fees_paid, r.status) for r in OperationRun.objects.all()}

    with CaptureQueriesContext(connection) as queries:
        assert prune_run_items() == 12
    deletes = [q for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 6  # 12 items, 2 a statement

    for run in old:
        assert not run.items.exists()
    for run in (recent, running, queued):
        assert run.items.count() == 3
    after = {r.pk: (r.total, r.done, r.counts, r.fees_paid, r.status) for r in OperationRun.objects.all()}
    assert after == before


def test_a_run_holding_an_unsettled_write_ahead_keeps_its_items(configure):
    configure(RUN_ITEMS_RETENTION_DAYS=DAYS)
    holder = make_run("failed", age_days=DAYS + 10)
    settled = make_run("failed", age_days=DAYS + 10)
    OneTimeWallet.objects.create(
        address="H" * 44,
        encrypted_secret="x",
        state="processing_funds",
        pending_signature="5" * 88,
        claimed_by=holder,
    )
    OneTimeWallet.objects.create(
        address="S" * 44, encrypted_secret="x", state="sent_funds", claimed_by=settled
    )
    assert prune_run_items() == 3
    assert holder.items.count() == 3 and not settled.items.exists()


def test_the_maintenance_housekeeping_step_prunes(configure):
    configure(RUN_ITEMS_RETENTION_DAYS=DAYS)
    make_run("succeeded", age_days=DAYS + 1, items=4)
    assert housekeeping() == {"items_pruned": 4, "exports_deleted": 0}
    assert not OperationItem.objects.exists()


def test_a_maintenance_run_prunes_old_items_and_records_it(shop, configure):
    from solana_payments import jobs

    configure(RUN_ITEMS_RETENTION_DAYS=DAYS)
    old = make_run("succeeded", age_days=DAYS + 1, items=5)
    run = jobs.enqueue("maintenance", trigger="schedule")
    assert jobs.execute(run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.counts["retention"] == {"items_pruned": 5, "exports_deleted": 0}
    assert not old.items.exists() and OperationRun.objects.get(pk=old.pk).done == 5


@pytest.mark.parametrize("days", [0, -3, 1.5, "30", True])
def test_a_bad_retention_setting_is_a_system_check_error(configure, days):
    from solana_payments.checks import check_settings

    configure(RUN_ITEMS_RETENTION_DAYS=days)
    assert "solana_payments.E021" in [error.id for error in check_settings()]
