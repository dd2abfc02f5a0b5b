"""The checkout watch: every open checkout read at once, and held status requests (long polling).

The pages here are customers on 127.0.0.0/8 (one address each, so the per-client throttle holds as it
does in production) asking the project's ASGI application in this process, as an ASGI server would.
"""

import asyncio
import itertools
import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.backends.signals import connection_created
from django.urls import reverse
from django.utils import timezone

from solana_payments import checkout_watch
from solana_payments.models import OperationRun, Payment
from solana_payments.operations.base import run_operation
from solana_payments.payment_status import status_key
from solana_payments.payments import create_payment
from tests.support import asgi

pytestmark = pytest.mark.django_db(transaction=True)


def status_path(payment):
    return reverse("solana_payments:status", args=[payment.reference])


def in_thread(query):
    """Run a query in a worker thread (the ORM never runs in the event loop) and close its connection."""
    from django.db import connection

    try:
        return query()
    finally:
        connection.close()


def no_held_requests_left(seconds=25):
    """Wait until no status request of an earlier test (a browser's, on the live server) is still held in
    this process: its driver would read this test's open checkouts too."""
    deadline = time.monotonic() + seconds
    while checkout_watch.bell.waiting():
        assert time.monotonic() < deadline, f"{checkout_watch.bell.waiting()} held requests never ended"
        time.sleep(0.1)


def assert_one_run_a_minute():
    """Every reading was appended to the run of its minute: a new run row only once the last is a minute old
    (a test whose pages stay open longer than a minute rightly sees a second one)."""
    runs = list(OperationRun.objects.order_by("created_at").values("pk", "created_at", "status", "trigger"))
    assert runs and all(r["trigger"] == "checkout" and r["status"] == "succeeded" for r in runs), runs
    gaps = [(b["created_at"] - a["created_at"]).total_seconds() for a, b in itertools.pairwise(runs)]
    assert all(gap >= checkout_watch.RUN_SECONDS for gap in gaps), runs


def customer(n):
    return f"127.0.{n // 250}.{n % 250 + 2}"


async def keep_open(app, payment, client, until, answers):
    """One checkout page with JavaScript: asks, then asks again with its key as soon as each answer
    arrives (the server holds the request until news), until ``until``."""
    first = await asgi.get(app, status_path(payment), client=client)
    assert first.status == 200
    key = status_key(first.json())
    answers.append(first)
    while time.monotonic() < until:
        answer = await asgi.get(app, status_path(payment), client=client, query={"wait": key})
        assert answer.status == 200, answer.body
        answers.append(answer)
        key = status_key(answer.json())


@pytest.mark.slow  # 20 s of open checkouts
def test_a_hundred_open_checkouts_cost_one_batched_read_a_second_and_one_run_a_minute(shop, configure):
    n, seconds = 100, 20
    no_held_requests_left()
    configure(STATUS_CHAIN_CHECK_SECONDS=1, CHECKOUT_HOLD_SECONDS=5)
    payments = [shop.new_payment({"SOL": Decimal("0.5"), "USDC": Decimal("25")}) for _ in range(n)]
    app, localnet = asgi.application(), shop.localnet
    answers = []

    def requests_made():
        return sum(localnet.request_counts.values())

    async def main():
        until = time.monotonic() + seconds + 10
        pages = [
            asyncio.create_task(keep_open(app, p, customer(i), until, answers))
            for i, p in enumerate(payments)
        ]
        # The window starts just after a reading ended: the node's count stands still between readings.
        while not await asyncio.to_thread(in_thread, OperationRun.objects.filter(kind="recheck").exists):
            await asyncio.sleep(0.05)
        before = requests_made()
        while requests_made() == before:
            await asyncio.sleep(0.005)
        while True:
            settled = requests_made()
            await asyncio.sleep(0.1)
            if requests_made() == settled:
                break
        started, at_start, by_method = time.monotonic(), requests_made(), dict(localnet.request_counts)
        await asyncio.sleep(seconds)
        elapsed, made = time.monotonic() - started, requests_made() - at_start
        after = dict(localnet.request_counts)
        await asyncio.gather(*pages)
        return (
            elapsed,
            made,
            {m: after[m] - by_method.get(m, 0) for m in after if after[m] != by_method.get(m)},
        )

    elapsed, made, methods = asyncio.run(main())
    print(f"{n} open checkouts for {elapsed:.1f} s: {made} RPC requests ({made / elapsed:.2f}/s), {methods}")
    assert set(methods) == {"getMultipleAccounts"}  # nothing read payment by payment
    assert made <= (n / 100 + 1) * seconds, f"{made} requests in {elapsed:.1f} s"
    runs = OperationRun.objects.all()
    # One run row for the whole minute: every reading appended to it.
    assert runs.count() == 1, list(
        runs.values("pk", "trigger", "created_at", "status", "parameters", "total")
    )
    run = runs.get()
    assert (run.kind, run.trigger, run.status) == ("recheck", "checkout", "succeeded")
    assert run.counts["pending"] == run.counts["scanned"] >= n * seconds * 0.8  # about one reading a second
    assert set(run.rpc_calls) == {"getMultipleAccounts"}
    assert not run.items.exists()  # nothing arrived anywhere: not one row written per reading
    # The pages were held: about one answer per CHECKOUT_HOLD_SECONDS each, not one per poll interval.
    assert len(answers) <= n * (1 + (seconds + 10) / 5 + 1)
    assert all(a.json()["status"] == "initiated" for a in answers)


@pytest.mark.slow  # 200 pages held for 30 s
def test_two_hundred_held_requests_hold_no_database_connection_and_the_server_still_answers(shop, configure):
    n, hold = 200, 30
    configure(STATUS_CHAIN_CHECK_SECONDS=1, CHECKOUT_HOLD_SECONDS=hold)
    payments = [shop.new_payment({"SOL": Decimal("0.5")}) for _ in range(n)]
    app = asgi.application()
    wrappers = []
    lock = threading.Lock()

    def opened(sender, connection, **kwargs):
        with lock:
            wrappers.append((connection, threading.current_thread()))

    connection_created.connect(opened)

    def open_connections():
        """Threads holding an open database connection (the one reading the chain, at most)."""
        with lock:
            return len({t for w, t in wrappers if w.connection is not None and t.is_alive()})

    async def held(payment, client):
        first = await asgi.get(app, status_path(payment), client=client)
        started = time.monotonic()
        answer = await asgi.get(
            app, status_path(payment), client=client, query={"wait": status_key(first.json())}
        )
        return time.monotonic() - started, answer

    async def main():
        waiting = [asyncio.create_task(held(p, customer(i))) for i, p in enumerate(payments)]
        while checkout_watch.bell.waiting() < n:  # every page has had its first answer and now waits
            await asyncio.sleep(0.1)
        assert (
            await asyncio.to_thread(in_thread, Payment.objects.filter(checkout_seen_at__isnull=False).count)
            == n
        )
        early = [t for t in waiting if t.done()]
        assert not early, [t.exception() or t.result() for t in early[:3]]  # all 200 held at once
        connections_while_held = max(
            [open_connections()] + [await sleep_then(open_connections) for _ in range(10)]
        )
        # The server is not exhausted: another customer's page and a plain status request answer at once.
        asked = time.monotonic()
        page = await asgi.get(
            app, reverse("solana_payments:checkout", args=[payments[0].reference]), client="127.0.9.9"
        )
        plain = await asgi.get(app, status_path(payments[1]), client="127.0.9.9")
        answered_in = time.monotonic() - asked
        # News reaches the one page it is about, and only that one.
        _customer, _signature = await asyncio.to_thread(shop.pay, payments[7], "SOL", 500_000_000)
        paid_at = time.time()
        while not waiting[7].done():
            await asyncio.sleep(0.01)
        heard_in = time.time() - paid_at
        still_held = sum(1 for task in waiting if not task.done())
        results = await asyncio.gather(*waiting)
        return connections_while_held, page, plain, answered_in, heard_in, still_held, results

    async def sleep_then(check):
        await asyncio.sleep(0.1)
        return check()

    try:
        connections_while_held, page, plain, answered_in, heard_in, still_held, results = asyncio.run(main())
    finally:
        connection_created.disconnect(opened)
    print(f"{n} held: {connections_while_held} threads with a database connection open, others answered in "
          f"{answered_in:.2f} s, news heard in {heard_in:.2f} s")  # fmt: skip
    assert connections_while_held <= 2  # a held request waits without a database connection
    assert page.status == 200 and plain.status == 200 and answered_in < 2
    assert heard_in < 1.5 and still_held == n - 1
    waited, answer = results[7]
    assert answer.json()["settled"] and waited < hold
    for i, (waited, answer) in enumerate(results):
        if i != 7:
            assert answer.status == 200 and answer.json()["status"] == "initiated"
            assert hold - 1 <= waited <= hold + 5  # held for the whole CHECKOUT_HOLD_SECONDS
    assert_one_run_a_minute()
    shop.assert_money_conserved()


def test_a_held_request_answers_at_once_when_its_key_is_old_and_at_the_deadline_otherwise(
    client, tokens, configure
):
    configure(STATUS_CHAIN_CHECK_SECONDS=0, CHECKOUT_HOLD_SECONDS=20)
    payment = create_payment({"SOL": Decimal("0.5")}, expires_in=3)
    url = status_path(payment)
    key = status_key(client.get(url).json())

    asked = time.monotonic()
    assert client.get(url, {"wait": "initiated|||1"}).json()["status"] == "initiated"  # not what it shows
    assert time.monotonic() - asked < 1

    body = client.get(url, {"wait": key}).json()  # held until the deadline, not for 20 s
    waited = time.monotonic() - asked
    assert body["expired"] is True and 1.5 < waited < 5
    asked = time.monotonic()
    assert client.get(url, {"wait": key}).json()["expired"] is True  # past the deadline: never held
    assert time.monotonic() - asked < 1


def test_with_holding_off_the_endpoint_answers_at_once(client, tokens, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=0, CHECKOUT_HOLD_SECONDS=0)
    payment = create_payment({"SOL": Decimal("0.5")})
    key = status_key(client.get(status_path(payment)).json())
    asked = time.monotonic()
    assert client.get(status_path(payment), {"wait": key}).status_code == 200
    assert time.monotonic() - asked < 1
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    assert 'data-sp-hold-seconds="0"' in page  # the page then polls every CHECKOUT_POLL_SECONDS


def test_the_watch_starts_a_new_run_each_minute_and_takes_no_ids(shop, client, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=1)
    payment = shop.new_payment({"SOL": Decimal("0.5")})
    client.get(status_path(payment))
    first = OperationRun.objects.get()
    time.sleep(1.1)
    client.get(status_path(payment))
    assert OperationRun.objects.get().counts["scanned"] == 2  # the second reading was appended
    OperationRun.objects.update(created_at=first.created_at - timedelta(seconds=61))
    time.sleep(1.1)
    client.get(status_path(payment))
    runs = list(OperationRun.objects.order_by("pk"))
    assert len(runs) == 2 and runs[1].counts["scanned"] == 1 and runs[0].status == "succeeded"
    assert runs[1].parameters["hot_seconds"] == 60
    with pytest.raises(ValueError, match="give no ids"):
        run_operation("recheck", ids=[payment.pk], hot_seconds=60)
    with pytest.raises(ValueError, match="hot_seconds must be"):
        run_operation("recheck", hot_seconds=0)


def watch_run(**fields):
    values = {"kind": "recheck", "trigger": "checkout", "parameters": {"hot_seconds": 60}, **fields}
    return OperationRun.objects.create(**values)


def test_a_reading_just_recorded_is_not_taken_over_before_its_first_heartbeat():
    # Another request's request_run has just recorded its run: running, not yet started, no heartbeat.
    run = watch_run(status="running")
    assert checkout_watch._claim(1) is None
    run.refresh_from_db()
    assert (run.status, run.heartbeat_at) == ("running", None)
    # A reading whose process died before its first heartbeat is taken over once it is stale.
    OperationRun.objects.filter(pk=run.pk).update(created_at=run.created_at - timedelta(seconds=61))
    claimed, before = checkout_watch._claim(1)
    assert claimed.pk == run.pk and claimed.status == "partial" and before is None  # a minute old: a new run


def test_the_next_reading_counts_its_interval_from_the_end_of_the_last():
    now = timezone.now()
    # A reading that began 3 s ago and took 2.5 s: with a 1 s interval the next is due 0.5 s from now.
    run = watch_run(
        status="succeeded",
        started_at=now - timedelta(seconds=3),
        finished_at=now - timedelta(seconds=0.5),
        heartbeat_at=now - timedelta(seconds=0.5),
    )
    assert checkout_watch._claim(1) is None
    assert cache.get(checkout_watch.next_key()) == pytest.approx(now.timestamp() + 0.5, abs=0.1)
    OperationRun.objects.filter(pk=run.pk).update(finished_at=now - timedelta(seconds=1.5))
    claimed, before = checkout_watch._claim(1)
    assert claimed.pk == run.pk and before["status"] == "succeeded"  # appended to the minute's run


def test_the_first_reading_holds_its_gate_until_it_ends(monkeypatch):
    from django.core.cache.backends import locmem

    assert checkout_watch._claim(1) == (None, None)  # an installation's first reading
    # Its run is not recorded yet, 30 s on (200 first requests each writing, one writer at a time on SQLite).
    later = time.time() + 30
    monkeypatch.setattr(locmem, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))
    assert checkout_watch._claim(1) is None  # no second run started beside it
    monkeypatch.undo()
    cache.clear()  # a fresh installation again

    def refused(run, chain):
        raise RuntimeError("the database refused")

    monkeypatch.setattr(checkout_watch, "_start_recheck", refused)
    with pytest.raises(RuntimeError):
        checkout_watch._read(1)  # that first reading ended without a run
    assert not OperationRun.objects.exists()
    assert checkout_watch._claim(1) == (None, None)  # the next request tries at once
