"""The order of a pipeline of batches: each started before the one before it is finished, never finished
before its own sending is done, nothing left in flight when it stops."""

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
