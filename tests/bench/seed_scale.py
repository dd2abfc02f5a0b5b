"""Seeding a shop that has run for years, on PostgreSQL, with COPY (psycopg 3).

``seed(payments, items)`` writes, with explicit ids ``1..N``:

- ``payments`` one-time wallets and their payments, created over three years, in the states such a shop
  has: most settled and swept (``sent_funds``), some swept after being flagged (paid late, under- or
  overpaid), many expired with their wallet closed, and a few checkouts still open (deadline six hours
  ahead, checked a moment ago). None of them is eligible for expire, sweep or reclaim, and the open ones
  come after any unchecked payment in recheck's order, so a scenario's eligible records are exactly the ones it adds;
- two options per payment (SOL and USDC);
- ``items`` run items spread over about ``items / 40`` finished runs of every kind, one of which has
  ``BIG_RUN_ITEMS`` items (the run page of the benchmark), a quarter with a signature.

Nothing here is a real secret: the background wallets hold a placeholder that no operation ever decrypts
(none of them is eligible). Rows are made in Python and streamed with ``COPY ... FROM STDIN``.
"""

import datetime
import hashlib
import json
import random
import uuid

from django.db import connection
from solders.pubkey import Pubkey
from solders.signature import Signature

BIG_RUN_ITEMS = 10_000
YEARS = 3
RUN_KINDS = ("expire", "sweep", "reclaim", "recheck")
TABLES = {
    "wallet": "solana_payments_onetimewallet",
    "payment": "solana_payments_payment",
    "option": "solana_payments_paymentoption",
    "run": "solana_payments_operationrun",
    "item": "solana_payments_operationitem",
}


def address_of(i):
    """A stable, unique base58 address for background wallet ``i`` (never a real account)."""
    return str(Pubkey(hashlib.sha256(b"wallet%d" % i).digest()))


def reference_of(i):
    return uuid.UUID(bytes=hashlib.md5(b"payment%d" % i).digest(), version=4)


def signature_of(i):
    return str(Signature(hashlib.sha512(b"signature%d" % i).digest()))


OPEN_SHARE = 0.01  # the newest payments that are checkouts in progress


def payment_plan(i, payments, open_share=OPEN_SHARE):
    """``(status, exception, wallet state)`` of background payment ``i`` (1-based)."""
    if i > payments - int(payments * open_share):  # the newest: checkouts in progress
        return "initiated", "", "created"
    r = i % 100
    if r < 68:
        return "finalized", "", "sent_funds"
    if r < 70:
        return "confirmed", "", "sent_funds"
    if r == 70:
        return "expired", "paid_late", "sent_funds"
    if r == 71:
        return "expired", "underpaid", "sent_funds"
    if r == 72:
        return "finalized", "overpaid", "sent_funds"
    return "expired", "", "payment_expired_and_wallet_closed"


def copy_rows(table, columns, rows):
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def seed(payments, items, *, receiver, tokens, open_share=OPEN_SHARE, out=None):
    """Write the background shop; returns seconds per table. ``tokens`` maps symbol to PaymentToken."""
    import time

    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=365 * YEARS)
    step = (now - start - datetime.timedelta(hours=1)) / payments
    sol, usdc = tokens["SOL"].pk, tokens["USDC"].pk
    # Open checkouts keep their deadline ahead for the whole benchmark, so expire never takes them.
    open_until = now + datetime.timedelta(hours=6)
    rng = random.Random(15)
    timings = {}

    def created(i):
        return start + step * i

    def wallets():
        for i in range(1, payments + 1):
            status, _, state = payment_plan(i, payments, open_share)
            at = created(i)
            checked = now if status == "initiated" else at + datetime.timedelta(minutes=5)
            rent = 2_039_280 if i % 2 else 0
            reclaimed = rent if state != "created" else 0
            yield (
                i,
                address_of(i),
                "placeholder: not a key",
                state,
                receiver,
                rent,
                reclaimed,
                "",
                "",
                None,
                None,
                "",
                checked,
                at,
                checked,
                "{}",  # balances: the last chain read saw nothing
                False,
                "{}",  # swept
                checked,  # last activity: the watch re-reads quiet wallets for WATCH_WINDOW after it
                "{}",  # refunded
                "{}",  # history_cursor: the transfer ledger was never read
            )

    def payment_rows():
        for i in range(1, payments + 1):
            status, exception, _ = payment_plan(i, payments, open_share)
            at = created(i)
            paid = status != "initiated" and (status != "expired" or exception)
            token = (sol if i % 3 else usdc) if paid else None
            amount = (500_000_000 if token == sol else 25_000_000) if paid else None
            yield (
                i,
                reference_of(i),
                status,
                exception,
                open_until if status == "initiated" else at + datetime.timedelta(minutes=15),
                i,
                token,
                amount,
                signature_of(i) if paid else "",
                address_of(-i) if paid else "",
                at + datetime.timedelta(minutes=3) if paid else None,
                "{}",
                f"order {i}",
                "",
                f"customer{i % 50_000}@example.com",
                None,
                at,
                at,
                0,  # refunded_amount
            )

    def options():
        for i in range(1, payments + 1):
            yield (2 * i - 1, i, sol, 500_000_000)
            yield (2 * i, i, usdc, 25_000_000)

    runs = run_count(items)

    def run_rows():
        run_step = (now - start) / runs
        for r in range(1, runs + 1):
            at = start + run_step * r
            kind = RUN_KINDS[r % len(RUN_KINDS)]
            status = "partial" if r % 50 == 0 else "succeeded"
            total = BIG_RUN_ITEMS if r == runs else 40
            counts = {"scanned": total, "done": total - (r % 50 == 0), "failed": int(r % 50 == 0)}
            yield (
                r,
                kind,
                "schedule",
                None,
                None,
                json.dumps({"ids": None}),
                status,
                total,
                total,
                json.dumps(counts),
                json.dumps({"getMultipleAccounts": 1 + total // 100}),
                5_000 * total,
                "",
                "",
                at,
                at,
                at + datetime.timedelta(seconds=20),
                at + datetime.timedelta(seconds=20),
                "",  # decision (no approval needed)
                "",  # decision_reason
            )

    def item_rows():
        run_step = (now - start) / runs
        for n in range(1, items + 1):
            run = runs if n > items - BIG_RUN_ITEMS else min(runs - 1, (n - 1) // 40 + 1)
            target = rng.randint(1, payments)
            failed = n % 997 == 0
            signed = n % 4 == 0 and not failed
            yield (
                n,
                run,
                target,
                target,
                "failed" if failed else "done",
                "chain unavailable" if failed else "",
                signature_of(payments + n) if signed else "",
                usdc if signed else None,
                25_000_000 if signed else None,
                5_000 if signed else 0,
                0,
                start + run_step * run,
                "",  # destination (refunds only)
            )

    columns = {
        "wallet": [
            "id",
            "address",
            "encrypted_secret",
            "state",
            "receiver_address",
            "rent_paid",
            "rent_reclaimed",
            "pending_signature",
            "pending_transaction",
            "pending_valid_until",
            "claimed_by_id",
            "last_error",
            "last_checked_at",
            "created_at",
            "updated_at",
            "balances",
            "holds_funds",
            "swept",
            "last_activity_at",
            "refunded",
            "history_cursor",
        ],
        "payment": [
            "id",
            "reference",
            "status",
            "exception",
            "expires_at",
            "wallet_id",
            "paid_token_id",
            "paid_amount",
            "paid_signature",
            "payer",
            "paid_at",
            "metadata",
            "label",
            "message",
            "email",
            "user_id",
            "created_at",
            "updated_at",
            "refunded_amount",
        ],
        "option": ["id", "payment_id", "token_id", "amount"],
        "run": [
            "id",
            "kind",
            "trigger",
            "requested_by_id",
            "parent_id",
            "parameters",
            "status",
            "total",
            "done",
            "counts",
            "rpc_calls",
            "fees_paid",
            "error",
            "task_id",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "decision",
            "decision_reason",
        ],
        "item": [
            "id",
            "run_id",
            "payment_id",
            "wallet_id",
            "outcome",
            "reason",
            "signature",
            "token_id",
            "amount",
            "fee",
            "rent",
            "created_at",
            "destination",
        ],
    }
    # The rows are consistent by construction: foreign keys are not checked row by row while copying
    # (session_replication_role needs a superuser, which the local benchmark database has).
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    for name, rows, count in (
        ("wallet", wallets(), payments),
        ("payment", payment_rows(), payments),
        ("option", options(), 2 * payments),
        ("run", run_rows(), runs),
        ("item", item_rows(), items),
    ):
        began = time.perf_counter()
        copy_rows(TABLES[name], columns[name], rows)
        timings[name] = (count, time.perf_counter() - began)
        if out:
            out(f"  {TABLES[name]}: {count:,} rows in {timings[name][1]:.1f} s")
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in TABLES.values():
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    timings["analyze"] = (0, time.perf_counter() - began)
    return timings


def run_count(items):
    return max(1, (items - BIG_RUN_ITEMS) // 40) + 1


def seeded_ids(payments, items):
    """The largest id of each table once seeded: rows above them are a scenario's."""
    return {
        "wallet": payments,
        "payment": payments,
        "option": 2 * payments,
        "run": run_count(items),
        "item": items,
    }


def seeded_counts():
    """Rows per table (exact counts: used once, to know whether a database is already seeded)."""
    with connection.cursor() as cursor:
        counts = {}
        for name, table in TABLES.items():
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[name] = cursor.fetchone()[0]
    return counts
