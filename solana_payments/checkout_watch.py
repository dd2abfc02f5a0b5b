"""The checkout watch: one reader of the chain for every open checkout, and the news it gives held requests.

**The hot set.** Payments whose checkout page or status endpoint was asked about in the last minute
(``Payment.checkout_seen_at``, in the database, so every web process shares it; written at most every
``SEEN_EVERY_SECONDS`` per payment).

**The reading.** At most once every ``STATUS_CHAIN_CHECK_SECONDS``, whichever request comes first reads
the whole hot set: the recheck operation with ``hot_seconds`` (one ``getMultipleAccounts`` per 100
accounts, the same settling as every other entry point). The readings of one minute are appended to one
recorded run, so a hundred open checkouts cost one run row a minute, not one a second. Two gates keep it
to one reading at a time: the cache (a hint of when the next reading is due: cheap, shared when the cache
is) and the run row itself (a conditional update on its status and ``started_at``, shared through the
database even when each process has a cache of its own).

**The news.** After a reading, the payments it recorded something about (settled, flagged, money seen)
are rung on this process's bell at once and stamped in the cache for the other processes. A held status
request (long polling, ``views.payment_status``) sleeps in its event loop, without a database connection,
until the bell wakes it with news of its payment or its hold ends. One held request of each process, the
driver, does the process's duties meanwhile: it starts a reading when one is due, and reads the cache's
stamps of every payment waited on in the process every ``LISTEN_EVERY_SECONDS``.
"""

import datetime
import logging
import threading
import time
from collections import Counter

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .conf import app_settings
from .exceptions import SolanaPaymentsError
from .models import (
    FINISHED_RUN_STATUSES,
    OperationItem,
    OperationRun,
    OperationTrigger,
    Payment,
    PaymentStatus,
    RunStatus,
)
from .throttling import PREFIX, end_interval, first_in_interval

logger = logging.getLogger(__name__)

HOT_SECONDS = 60  # a payment asked about this recently is read at every reading
SEEN_EVERY_SECONDS = 10  # checkout_seen_at is written at most this often per payment
RUN_SECONDS = 60  # the readings of this long are appended to one run
STALE_READING_SECONDS = 60  # a reading left running this long (its process died) is taken over
CHECK_MAX_RETRY_SECONDS = 3.0  # a customer is waiting: a failing node is given up on sooner
LISTEN_EVERY_SECONDS = 0.25  # how often a process reads the cache's stamps of its held requests
DUTY_EVERY_SECONDS = 0.05  # how often the driving held request of a process looks whether a reading is due
HOT_SET_LIMIT = 10_000  # payments one reading takes, least recently checked first
FIRST_READING = "checkout-watch-first"  # the cache gate of an installation's first reading


def mark_seen(payment, now=None):
    """Put ``payment`` in the hot set (or keep it there) while it is ``initiated``."""
    if payment.status != PaymentStatus.INITIATED:
        return
    now = now or timezone.now()
    seen = payment.checkout_seen_at
    if seen is not None and (now - seen).total_seconds() < SEEN_EVERY_SECONDS:
        return
    Payment.objects.filter(pk=payment.pk).update(checkout_seen_at=now)
    payment.checkout_seen_at = now


def next_key():
    return f"{PREFIX}:checkout-watch-next"


def read_if_due():
    """Read the hot set now if no reading started in the last ``STATUS_CHAIN_CHECK_SECONDS`` anywhere.

    Returns the watch's run after a reading, or None when none was due (or the setting is 0)."""
    interval = app_settings.STATUS_CHAIN_CHECK_SECONDS
    if not interval:
        return None
    due_at = cache.get(next_key())  # a hint: the run row decides
    if due_at is not None and time.time() < due_at:
        return None
    since = timezone.now() - datetime.timedelta(seconds=HOT_SECONDS)
    if not Payment.objects.hot(since).exists():  # no open checkout: nothing to read, no run
        return None
    try:
        return _read(interval)
    except Exception:  # a reading never breaks the customer's page: the next one tries again
        logger.exception("the checkout watch's reading failed")
        return None


def _start_recheck(run, chain):
    """The one place the watch starts its recheck: a new run requested like any other, or the next
    reading of the minute's run already recorded (``run``), appended to it."""
    if run is None:
        from .runs import request_run

        return request_run(
            "recheck",
            None,
            trigger=OperationTrigger.CHECKOUT,
            limit=HOT_SET_LIMIT,
            options={"hot_seconds": HOT_SECONDS},
            inline=True,
            chain=chain,
        )
    from .operations.base import run_operation

    return run_operation(
        "recheck",
        hot_seconds=HOT_SECONDS,
        limit=HOT_SET_LIMIT,
        trigger=OperationTrigger.CHECKOUT,
        run=run,
        chain=chain,
    )


def _read(interval):
    claimed = _claim(interval)
    if claimed is None:
        return None
    run, before = claimed
    from .chain_client import chain_client

    retry = min(app_settings.RPC_MAX_RETRY_SECONDS, CHECK_MAX_RETRY_SECONDS)
    try:
        chain = chain_client(max_retry_seconds=retry)
    except (SolanaPaymentsError, ValueError):  # no usable RPC_URL: the run records why
        chain = None
    appending = before is not None
    last_item = run.items.order_by("-pk").values_list("pk", flat=True).first() if appending else None
    try:
        finished = _start_recheck(run if appending else None, chain)
    except BaseException:  # the run never started (the database refused): free it for the next reading
        if appending:
            OperationRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(status=run.status)
        raise
    finally:
        if chain is not None:
            chain.close()
        if run is None:  # the first reading: its run is recorded now, or the next request tries again
            end_interval(FIRST_READING)
        if run is not None and not appending:  # the previous minute's run, held while starting this one
            OperationRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(status=run.status)
    _hint(_last_reading(finished), interval)
    if appending:
        _append(finished, before)
    items = OperationItem.objects.filter(run=finished, payment__isnull=False)
    if last_item is not None:
        items = items.filter(pk__gt=last_item)
    ring(set(items.values_list("payment_id", flat=True)))
    return finished


def _last_reading(run):
    """When the run's latest reading ended (or began, while it runs): the next is due ``interval`` later,
    so readings are never closer than that however long one takes."""
    return max((t for t in (run.started_at, run.finished_at) if t is not None), default=None)


def _hint(last, interval):
    """Tell every process (through the cache) when the next reading is due."""
    if last is not None:
        cache.set(next_key(), last.timestamp() + interval, timeout=max(1, int(interval) + 1))


def _claim(interval):
    """``(run, its figures before this reading)`` to append to, ``(previous run or None, None)`` to start a
    new one, or None when another process is reading or one started less than ``interval`` ago."""
    now = timezone.now()
    run = (
        OperationRun.objects.filter(kind="recheck", trigger=OperationTrigger.CHECKOUT)
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is None:  # the very first reading: one at a time through the cache until its run is recorded
        return (None, None) if first_in_interval(FIRST_READING, STALE_READING_SECONDS) else None
    status = run.status
    if status == RunStatus.RUNNING:
        # A run just recorded by another request has no heartbeat yet: it is alive, not a dead reading.
        alive_at = run.heartbeat_at or run.created_at
        if (now - alive_at).total_seconds() < STALE_READING_SECONDS:
            return None
    elif status not in FINISHED_RUN_STATUSES:
        return None
    last = _last_reading(run)
    if last is not None and last > now - datetime.timedelta(seconds=interval):
        _hint(last, interval)
        return None
    claimed = OperationRun.objects.filter(pk=run.pk, status=status, started_at=run.started_at).update(
        status=RunStatus.RUNNING, heartbeat_at=now
    )
    if not claimed:
        return None
    run.status = RunStatus.PARTIAL if status == RunStatus.RUNNING else status  # a reading cut short
    young = (now - run.created_at).total_seconds() < RUN_SECONDS
    if young and run.parameters.get("hot_seconds") is not None:
        return run, _figures(run)
    return run, None  # held while a new run starts, then put back


def _figures(run):
    return {
        "status": run.status,
        "error": run.error,
        "counts": dict(run.counts or {}),
        "rpc_calls": dict(run.rpc_calls or {}),
        "total": run.total,
        "done": run.done,
        "fees_paid": run.fees_paid,
    }


def _sum(a, b):
    total = Counter(a)
    total.update(b)  # update() keeps zeros, unlike +
    return dict(total)


def _append(run, before):
    """Add this reading's figures to those of the minute's earlier readings. A run one of whose readings
    failed says so (``partial``, with the error) even when later readings of its minute succeeded."""
    failed = before["status"] in (RunStatus.FAILED, RunStatus.PARTIAL) or run.status != RunStatus.SUCCEEDED
    values = {
        "counts": _sum(before["counts"], run.counts or {}),
        "rpc_calls": _sum(before["rpc_calls"], run.rpc_calls or {}),
        "total": before["total"] + run.total,
        "done": before["done"] + run.done,
        "fees_paid": before["fees_paid"] + run.fees_paid,
        "status": RunStatus.PARTIAL if failed else RunStatus.SUCCEEDED,
        "error": run.error or before["error"],
    }
    OperationRun.objects.filter(pk=run.pk).update(**values)
    for name, value in values.items():
        setattr(run, name, value)


# -- the news ---------------------------------------------------------------------------------------------


def stamp_key(pk):
    return f"{PREFIX}:checkout-news:{pk}"


class Waiter:
    """One held request waiting for news of payment ``pk`` in its event loop (woken from any thread).

    ``asked_at`` (``time.time()``) and ``asked_mono`` (``time.monotonic()``) are when its answer was
    computed: news from then on is news to it."""

    def __init__(self, pk, asked_at, asked_mono):
        import asyncio

        self.pk, self.asked_at, self.asked_mono = pk, asked_at, asked_mono
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.news = False

    def wake(self, news=False):
        if news:
            self.news = True
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # its loop has closed: the request is over
            pass


class Bell:
    """This process's held requests: news of their payments wakes them, and one of them at a time (the
    driver) does the process's duties every ``DUTY_EVERY_SECONDS``; the others sleep until news or the end
    of their hold. No settings: a module-level object is safe here."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiters = {}  # payment pk -> set of Waiter
        self._driver = None
        self._rang = {}  # payment pk -> time.monotonic() of its latest news here
        self._heard = {}  # payment pk -> the cache stamp last heard
        self._next_listen = 0.0

    def join(self, waiter):
        with self._lock:
            self._waiters.setdefault(waiter.pk, set()).add(waiter)
            if self._driver is None:
                self._driver = waiter
            if self._rang.get(waiter.pk, float("-inf")) >= waiter.asked_mono:  # rung while it was answering
                waiter.news = True
                waiter.event.set()

    def leave(self, waiter):
        with self._lock:
            waiting = self._waiters.get(waiter.pk, set())
            waiting.discard(waiter)
            if not waiting:
                self._waiters.pop(waiter.pk, None)
                self._heard.pop(waiter.pk, None)
            if self._driver is not waiter:
                return
            self._driver = next((w for ws in self._waiters.values() for w in ws), None)
            successor = self._driver
        if successor is not None:
            successor.wake()

    def waiting(self):
        """How many held requests wait here now."""
        with self._lock:
            return sum(len(ws) for ws in self._waiters.values())

    def drives(self, waiter):
        with self._lock:
            return self._driver is waiter

    def ring(self, pks, at=None):
        at = time.monotonic() if at is None else at
        with self._lock:
            woken = [w for pk in pks for w in self._waiters.get(pk, ())]
            for pk in pks:
                self._rang[pk] = at
            if len(self._rang) > 10_000:  # old news: nobody can be waiting for it any more
                horizon = at - HOT_SECONDS
                self._rang = {pk: t for pk, t in self._rang.items() if t >= horizon}
        for waiter in woken:
            waiter.wake(news=True)

    def listening_due(self, now):
        """True for one caller every ``LISTEN_EVERY_SECONDS``: it reads the stamps for the process."""
        with self._lock:
            if now < self._next_listen:
                return False
            self._next_listen = now + LISTEN_EVERY_SECONDS
            return True

    def listen(self):
        """Read the cache's stamps of every payment waited on here; ring those with news (stamped after the
        earliest of its waiters computed its answer, and not heard before)."""
        with self._lock:
            asked = {pk: min(w.asked_at for w in ws) for pk, ws in self._waiters.items() if ws}
        if not asked:
            return
        stamps = cache.get_many([stamp_key(pk) for pk in asked])
        news = []
        with self._lock:
            for pk, asked_at in asked.items():
                stamp = stamps.get(stamp_key(pk))
                if stamp is None or stamp == self._heard.get(pk):
                    continue
                self._heard[pk] = stamp
                if float(stamp) >= asked_at:
                    news.append(pk)
        self.ring(news)

    def heard(self, pks, stamp):
        with self._lock:
            for pk in pks:
                if pk in self._waiters:
                    self._heard[pk] = stamp


bell = Bell()


def ring(pks):
    """News of ``pks``: at once for this process's held requests, through the cache for the others."""
    if not pks:
        return
    stamp = f"{time.time():.6f}"
    bell.heard(pks, stamp)
    bell.ring(pks)
    cache.set_many({stamp_key(pk): stamp for pk in pks}, timeout=HOT_SECONDS)


def release_connection():
    """Close this thread's database connection, so that a request waiting for news holds none (inside a
    transaction, as in a test, it stays)."""
    if not connection.in_atomic_block:
        connection.close()


def duties():
    """What the driving held request does for its process every ``DUTY_EVERY_SECONDS`` (sync: run it in a
    thread): the reading if one is due anywhere, and the cache's stamps of this process's held requests
    every ``LISTEN_EVERY_SECONDS``."""
    read_if_due()
    if bell.listening_due(time.monotonic()):
        bell.listen()
    release_connection()
