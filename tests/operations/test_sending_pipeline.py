"""The order of a pipeline of batches: each started before the one before it is finished, never finished
before its own sending is done, nothing left in flight when it stops; and batches small enough that two in
flight go out inside their blockhash's window."""

import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from solana_payments.operations.sending import Flight, in_pipeline


def pipeline(batches, events, *, failing_land=None, failing_start=None):
    """Run ``batches`` through ``in_pipeline``; ``events`` gets each start and land, in order."""
    pool = ThreadPoolExecutor(2)

    def send(batch):
        return f"sent {batch}"

    def start(batch):
        events.append(("start", batch))
        if failing_start is not None and batch == failing_start:
            raise RuntimeError(f"start {batch}")
        if batch is None:
            return None  # nothing to send in this batch

        def finish(sent):
            assert sent == f"sent {batch}"  # its own confirmation is in before it is finished
            events.append(("land", batch))
            if batch == failing_land:
                raise RuntimeError(f"land {batch}")

        return Flight(pool.submit(send, batch), finish)

    try:
        in_pipeline(batches, start)
    finally:
        pool.shutdown(wait=True)


def test_each_batch_starts_before_the_one_before_is_finished():
    order = []
    pipeline([1, 2, 3], order)
    assert order == [("start", 1), ("start", 2), ("land", 1), ("start", 3), ("land", 2), ("land", 3)]


def test_a_batch_with_nothing_to_send_is_skipped():
    order = []
    pipeline([1, None, 2], order)
    assert order == [("start", 1), ("start", None), ("land", 1), ("start", 2), ("land", 2)]


def test_a_failed_batch_stops_the_pipeline():
    order = []
    with pytest.raises(RuntimeError, match="land 1"):
        pipeline([1, 2, 3], order, failing_land=1)
    assert order == [("start", 1), ("start", 2), ("land", 1)]  # batch 3 never started
    order = []
    with pytest.raises(RuntimeError, match="start 2"):
        pipeline([1, 2, 3], order, failing_start=2)
    assert order == [("start", 1), ("start", 2), ("land", 1)]  # batch 1 still finished


def test_a_failed_land_waits_for_the_batch_behind_it():
    """Batch 2 is still being sent when batch 1 fails: the error goes up only once batch 2 is done."""
    done = []
    pool = ThreadPoolExecutor(1)

    def send_slowly():
        time.sleep(0.3)
        done.append(2)
        return "sent"

    def fail(sent):
        raise RuntimeError("land 1")

    def start(batch):
        if batch == 1:
            sending = Future()
            sending.set_result("sent")
            return Flight(sending, fail)
        return Flight(pool.submit(send_slowly), lambda sent: None)

    with pytest.raises(RuntimeError, match="land 1"):
        in_pipeline([1, 2], start)
    assert done == [2]
    pool.shutdown()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "rate_limit, sleep, sizes",
    [
        (0, 0, [594, 406]),  # about 100 transactions a batch
        (0, 1, [180] * 5 + [100]),  # --sleep 1: 30 transactions' worth, 30 s of sends
        (3, 0, [450, 450, 100]),  # 3 requests a second: 75 transactions, 25 s of sends
        (1, 0, [144] * 6 + [136]),
    ],
)
def test_batches_hold_no_more_sends_than_fit_the_blockhash_window(rate_limit, sleep, sizes):
    """Two batches in flight at RPC_RATE_LIMIT still go out well inside their blockhash's minute."""
    from solana_payments.chain.client import ChainClient
    from solana_payments.models import OperationRun
    from solana_payments.operations.sweep import SweepOperation

    run = OperationRun.objects.create(kind="sweep", trigger="command")
    with ChainClient("http://127.0.0.1:9", rate_limit=rate_limit) as chain:
        operation = SweepOperation(run, chain, sleep=sleep)
        assert [len(batch) for batch in operation.send_batches(list(range(1000)))] == sizes
