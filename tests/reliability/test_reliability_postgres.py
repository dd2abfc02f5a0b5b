"""Four worker processes run sweep and reclaim on the same 300 wallets at the same moment, on PostgreSQL.

Each test makes its own PostgreSQL database (``solana_payments_test_<pid>_...``), migrates it, and drops it
afterwards. The workers are separate processes running the real management commands against it and
against the test's localnet; they start together on a shared clock. The claims (a conditional update of
``claimed_by``) must let exactly one of them take each wallet: the chain shows one transaction signed by
each wallet, the runs record one sweep (or one closing) per wallet, and every lamport and token unit is
where it should be. A control run without the claims shows what they prevent.
"""

import json
import os
import time
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
from django.conf import settings

from tests.support.reliability import (
    Process,
    postgres_database,
    run_json,
    run_python,
    signed_transactions,
    worker_env,
)
from tests.support.services import require_postgres

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SWEEP = "send_solana_payments_from_one_time_wallets"
RECLAIM = "close_expired_one_time_wallets_and_reclaim_funds"
PRICE = {"SOL": ("0.5", 500_000_000), "USDC": ("25", 25_000_000), "PYUSD": ("25", 25_000_000)}
TAKEN = "taken by another run"


@pytest.fixture
def postgres(shop, request):
    """The worker environment on a fresh, migrated PostgreSQL database; dropped after the test."""
    require_postgres()
    name = f"solana_payments_test_{os.getpid()}_{request.node.name.split('[')[0][-20:]}".lower()
    with postgres_database(name) as database:
        env = worker_env(
            solana_payments=settings.SOLANA_PAYMENTS, database=database, mints=shop.localnet.mints
        )
        run_python(["-m", "django", "migrate", "--noinput"], env)
        yield env


def make_wallets(shop, env, spec):
    """Payments as ``spec`` says (``[(symbol, plan)]``), made by a worker process; returns their rows."""
    rows = [
        [symbol, PRICE[symbol][0], "expired" if plan.startswith("expired") else "paid"]
        for symbol, plan in spec
    ]
    created = run_json(["-m", "tests.support.reliability_worker", "setup", json.dumps(rows)], env)["payments"]
    for row, (symbol, plan) in zip(created, spec, strict=True):
        row.update(symbol=symbol, plan=plan)
        if plan in ("paid", "expired_paid_late"):  # a customer pays (the late one after its deadline)
            shop.pay(
                SimpleNamespace(wallet=SimpleNamespace(address=row["address"])), symbol, PRICE[symbol][1]
            )
    return created


def run_workers(env, orders, tmp_path, *, name="worker", extra_env=None):
    """One process per entry of ``orders`` (a list of commands), all starting at the same moment."""
    start_at = time.time() + 3  # every process has imported Django and connected by then
    workers = [
        Process(
            ["-m", "tests.support.reliability_worker", "work", str(start_at), *commands],
            {**env, **(extra_env or {})},
            tmp_path / f"{name}{index}.log",
        )
        for index, commands in enumerate(orders)
    ]
    try:
        codes = [worker.wait(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            worker.stop()
    outputs = [worker.output() for worker in workers]
    assert codes == [0] * len(workers), "\n\n".join(o[-3000:] for o in outputs)
    results = []
    for output in outputs:
        line = [line for line in output.splitlines() if line.startswith('{"pid"')][-1]
        results.append(json.loads(line))
    return results


def balances(shop, addresses, symbol):
    return sum(shop.balance(address, symbol) for address in addresses)


@pytest.mark.slow
def test_four_workers_sweep_and_reclaim_each_wallet_exactly_once(shop, postgres, tmp_path):
    spec = (
        [("SOL", "paid")] * 80
        + [("USDC", "paid")] * 80
        + [("PYUSD", "paid")] * 80
        + [("USDC", "expired")] * 24
        + [("PYUSD", "expired")] * 24
        + [("USDC", "expired_paid_late")] * 6
        + [("PYUSD", "expired_paid_late")] * 6
    )
    wallets = make_wallets(shop, postgres, spec)
    assert len(wallets) == 300
    assert (
        run_json(["-m", "tests.support.reliability_worker", "recheck"], postgres)["counts"]["reconciled"]
        == 240
    )
    shop.localnet.reset_counts()

    # Four workers at once: two sweep then reclaim, two reclaim then sweep.
    started = time.monotonic()
    concurrent = run_workers(
        postgres, [[SWEEP, RECLAIM], [SWEEP, RECLAIM], [RECLAIM, SWEEP], [RECLAIM, SWEEP]], tmp_path
    )
    seconds = time.monotonic() - started
    # The next scheduled pass: wallets that reclaim handed to sweep while every sweep was busy.
    final = run_workers(postgres, [[SWEEP, RECLAIM]], tmp_path, name="final")
    report = run_json(["-m", "tests.support.reliability_worker", "report"], postgres)
    summary = [
        (r["command"][:5], r["summary"]["status"], r["summary"]["counts"])
        for w in concurrent + final
        for r in w["results"]
    ]

    by_pk = {w["pk"]: w for w in report["wallets"]}
    plans = {row["wallet"]: row["plan"] for row in wallets}
    for pk, plan in plans.items():
        wallet = by_pk[pk]
        expected = "payment_expired_and_wallet_closed" if plan == "expired" else "sent_funds"
        assert (wallet["state"], wallet["pending_signature"]) == (expected, ""), (plan, wallet, summary)

    # Exactly once on chain: each wallet signed one transaction (its sweep or its closing), which landed.
    signed = signed_transactions(shop.localnet.url, [w["address"] for w in wallets])
    counts = Counter(len(transactions) for transactions in signed.values())
    assert counts == {1: 300}, (counts, summary)
    assert all(err is None for transactions in signed.values() for _, err in transactions)

    # Exactly once in the records: one sweep (or closing) per wallet over all runs, nothing failed.
    done = defaultdict(set)
    for item in report["items"]:
        assert item["outcome"] != "failed", (item, summary)
        settlement = item["reason"].startswith("paid ")  # late money reclaim found: the customer's signature
        if item["outcome"] == "done" and item["wallet_id"] and item["run__kind"] in ("sweep", "reclaim"):
            if not settlement:
                done[item["wallet_id"]].add((item["run__kind"], item["signature"]))
    for pk, plan in plans.items():
        kind = "reclaim" if plan == "expired" else "sweep"
        assert done[pk] == {(kind, signed[by_pk[pk]["address"]][0][0])}, (plan, pk, done[pk], summary)

    # The workers really overlapped: the claims turned some of them away.
    turned_away = sum(1 for item in report["items"] if item["reason"].startswith(TAKEN))
    assert turned_away > 0, summary

    # Conservation: what customers paid is at the receiver, nothing is left in the wallets.
    addresses = [w["address"] for w in wallets]
    for symbol in PRICE:
        assert balances(shop, addresses, symbol) == 0, symbol
        assert shop.received(symbol) == shop.paid[symbol] > 0, symbol
    assert seconds < 60, summary


@pytest.mark.parametrize("kind", ["sweep", "reclaim"])
def test_a_claim_waiting_for_another_gets_nothing(postgres, kind):
    """The claim's conditions are checked against the wallet row as the other claim left it.

    The second claim starts while the first one's transaction holds the rows; PostgreSQL makes it wait,
    then re-checks its conditions on the rows the first one committed. A claim whose conditions sat on a
    joined copy of the row (``claimed_by__status``) would pass that re-check and take every wallet too.
    """
    race = run_json(["-m", "tests.support.reliability_worker", "claim-race", kind], postgres)
    assert race == {"wallets": 20, "first": 20, "second": 0, "held_by_first": 20}


def test_without_claims_workers_would_sweep_twice(shop, postgres, tmp_path):
    """Control: the same race with the claims switched off records the same wallets swept twice or more."""
    wallets = make_wallets(shop, postgres, [("SOL", "paid")] * 36)
    assert (
        run_json(["-m", "tests.support.reliability_worker", "recheck"], postgres)["counts"]["reconciled"]
        == 36
    )
    shop.localnet.set_faults(latency=0.2, methods=["sendTransaction"])  # every worker reads before any lands
    run_workers(postgres, [[SWEEP]] * 4, tmp_path, extra_env={"SOLANA_PAYMENTS_TEST_NO_CLAIMS": "1"})
    shop.localnet.clear_faults()
    report = run_json(["-m", "tests.support.reliability_worker", "report"], postgres)

    attempts = Counter(
        item["wallet_id"]
        for item in report["items"]
        if item["run__kind"] == "sweep" and item["outcome"] != "skipped"
    )
    # Without the claims, several workers built and sent a sweep for the same wallets (and each recorded
    # it as its own); with them, exactly one does (the test above).
    assert len(attempts) == 36 and max(attempts.values()) > 1, attempts
    # The chain itself refused to move the same lamports twice, so the money is still right...
    assert shop.received("SOL") == shop.paid["SOL"]
    assert balances(shop, [w["address"] for w in wallets], "SOL") == 0


def test_two_refund_runs_of_one_payment_at_once_refund_once(shop, postgres, tmp_path):
    """Two worker processes execute two queued refund runs of one payment, with the same approved plan, at
    the same moment: one refunds, the other is refused, and the customer gets the money once."""
    (row,) = make_wallets(shop, postgres, [("USDC", "expired_unpaid")])
    customer, _ = shop.pay(SimpleNamespace(wallet=SimpleNamespace(address=row["address"])), "USDC", 7_000_000)
    (reclaim,) = run_workers(postgres, [[RECLAIM]], tmp_path, name="reclaim")  # finds it underpaid
    assert reclaim["results"][0]["summary"]["counts"]["flagged"] == 1, reclaim
    runs = run_json(
        ["-m", "tests.support.reliability_worker", "refund-runs", str(row["payment"]), str(customer.pubkey()),
         "7000000"],
        postgres,
    )["runs"]  # fmt: skip
    start_at = time.time() + 3
    workers = [
        Process(
            ["-m", "tests.support.reliability_worker", "execute", str(start_at), str(run)],
            postgres,
            tmp_path / f"refund{index}.log",
        )
        for index, run in enumerate(runs)
    ]
    try:
        assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    finally:
        for worker in workers:
            worker.stop()
    results = [json.loads(w.output().strip().splitlines()[-1]) for w in workers]
    refunded = [r for r in results if any(i["outcome"] == "done" for i in r["items"])]
    refused = [r for r in results if r not in refunded]
    assert len(refunded) == 1 and len(refused) == 1, results
    (other,) = refused
    reasons = other["error"] + " ".join(i["reason"] for i in other["items"])
    assert "already in open refund run" in reasons or "more than is left to refund" in reasons, other
    assert shop.balance(customer.pubkey(), "USDC") == 7_000_000
    assert shop.balance(row["address"], "USDC") == 0
    assert shop.paid["USDC"] == shop.received("USDC") + 7_000_000
