"""The run contract's edges: bad ids, default limits, fees of failed transactions, signals that fail."""

import datetime

import pytest
from django.utils import timezone

from solana_payments import jobs
from solana_payments.models import ItemOutcome, OperationRun, RunStatus
from solana_payments.operations.base import run_operation
from solana_payments.payments import create_payment
from solana_payments.signals import payment_initiated
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("ids", [["x"], [-1], [0], [2**63], [True]])
def test_bad_ids_are_refused_before_any_run_is_recorded(shop, ids):
    with pytest.raises(ValueError, match="is not a record id"):
        run_operation("recheck", ids=ids, trigger="api")
    assert not OperationRun.objects.exists()


def test_recheck_takes_200_by_default_wherever_it_starts(shop):
    make_payments(201, shop.tokens)
    assert run_operation("recheck", trigger="api").counts["scanned"] == 200
    assert jobs.run_scheduled("recheck") == RunStatus.SUCCEEDED
    assert OperationRun.objects.get(trigger="schedule").counts["scanned"] == 200


def test_fees_of_failed_transactions_count_in_the_fees_paid(shop):
    from solana_payments.chain.client import ChainClient
    from solana_payments.operations.recheck import RecheckOperation

    run = OperationRun.objects.create(kind="recheck", trigger="api", status=RunStatus.RUNNING)
    operation = RecheckOperation(run, ChainClient(shop.localnet.url))
    operation.record(ItemOutcome.DONE, fee=5_000)
    operation.record(ItemOutcome.FAILED, reason="failed on chain", fee=10_000)
    operation.finish()
    run.refresh_from_db()
    assert run.fees_paid == 15_000 == sum(run.items.values_list("fee", flat=True))


def test_expire_reports_skipped_records_in_its_summary(shop, capsys):
    from io import StringIO

    from django.core.management import call_command

    payments, _ = make_payments(1, shop.tokens)
    out = StringIO()
    call_command("close_expired_solana_payments_with_wallets", "--ids", str(payments[0].pk), stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == (
        "scanned=0 expired=0 settled=0 underpaid=0 closed=0 skipped=1 failed=0"
    )


def test_a_failing_payment_initiated_receiver_is_logged_and_the_payment_stands(tokens, caplog):
    def explode(sender, payment, **kwargs):
        raise RuntimeError("a shop's receiver that fails")

    payment_initiated.connect(explode, weak=False, dispatch_uid="explode")
    try:
        payment = create_payment({"SOL": "1"})
    finally:
        payment_initiated.disconnect(dispatch_uid="explode")
    assert payment.pk and "payment_initiated receiver" in caplog.text


def test_a_dead_workers_run_is_failed_when_the_next_job_runs(shop):
    dead = OperationRun.objects.create(
        kind="sweep",
        trigger="schedule",
        status=RunStatus.RUNNING,
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=jobs.stale_after_seconds() + 5),
    )
    jobs.execute(jobs.enqueue("recheck", trigger="api").pk)
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED


def test_a_long_chunk_keeps_writing_its_heartbeat(shop, configure):
    """Between chain round trips a run writes its progress every PROGRESS_EVERY_SECONDS, so a slow node
    never makes a live run look dead."""
    from solana_payments.operations.base import Operation

    configure(PROGRESS_EVERY_SECONDS=0.05)
    beats = []
    real = Operation.save_progress

    def counting(self):
        beats.append(self.run.heartbeat_at)
        return real(self)

    import unittest.mock

    for _ in range(12):
        payment = shop.new_payment({"SOL": "0.5"})
        shop.pay(payment, "SOL", 500_000_000)
    run_operation("recheck", trigger="api")
    shop.localnet.set_faults(latency=0.06)
    with unittest.mock.patch.object(Operation, "save_progress", counting):
        run = run_operation("sweep", sleep=0.01, trigger="api")
    assert run.status == RunStatus.SUCCEEDED
    assert len(beats) >= 3  # one chunk, yet several heartbeats while its transactions went out
