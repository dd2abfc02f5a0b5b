"""A django-q2 worker killed with SIGKILL in the middle of a sweep of 200 wallets.

A real ``qcluster`` process (ORM broker on the test's file database, the test's localnet) runs a sweep
whose transactions the node answers slowly. It is killed while they are being sent: some landed, some
were never sent, all were written ahead (signature, signed bytes, last valid block height). After a
restart, the stale-run detection fails the dead run, and its retry finishes the work: each wallet is
swept exactly once on chain, nothing is lost, and every signature written ahead is either confirmed on
chain or provably absent, then re-sent as the very same bytes (its blockhash still valid) or rebuilt
(its blockhash expired, so it can never land).
"""

import datetime
from collections import defaultdict

import pytest
from django.conf import settings
from django.utils import timezone

from solana_payments import jobs
from solana_payments.chain.commitment import status_reached
from solana_payments.models import (
    ItemOutcome,
    OneTimeWallet,
    OperationItem,
    OperationRun,
    RunStatus,
    WalletState,
)
from solana_payments.operations.base import run_operation
from tests.support.reliability import (
    Process,
    current_database,
    signature_statuses,
    signed_transactions,
    wait_until,
    worker_env,
)
from tests.support.runs import wait_for_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WALLETS = {"SOL": 100, "USDC": 50, "PYUSD": 50}  # 12 + 9 + 9 sweep transactions
PRICE = {"SOL": ("0.5", 500_000_000), "USDC": ("25", 25_000_000), "PYUSD": ("25", 25_000_000)}
SEND_LATENCY = 0.25  # seconds the node takes for each sendTransaction: the sweep lasts several seconds
KILL_AFTER_SENDS = 8
Q_CLUSTER = {"name": "tests", "orm": "default", "workers": 1, "timeout": 60, "retry": 90, "sync": False}


def start_cluster(tmp_path, name):
    env = worker_env(
        solana_payments=settings.SOLANA_PAYMENTS,
        database=current_database(),
        q_cluster=Q_CLUSTER,
    )
    return Process(["-m", "django", "qcluster"], env, tmp_path / f"{name}.log")


@pytest.mark.parametrize("blockhash", ["still_valid", "expired"])
def test_sweep_survives_a_killed_worker(shop, tmp_path, blockhash):
    assert settings.DATABASES["default"]["NAME"] != ":memory:"
    for symbol, count in WALLETS.items():
        for _ in range(count):
            payment = shop.new_payment({symbol: PRICE[symbol][0]})
            shop.pay(payment, symbol, PRICE[symbol][1])
    assert run_operation("recheck", limit=1000, trigger="command").counts["reconciled"] == 200
    localnet = shop.localnet
    localnet.set_faults(latency=SEND_LATENCY, methods=["sendTransaction"])
    localnet.reset_counts()

    worker = start_cluster(tmp_path, "first")
    try:
        run = jobs.enqueue("sweep", trigger="admin_action")
        wait_until(
            lambda: localnet.request_counts.get("sendTransaction", 0) >= KILL_AFTER_SENDS,
            timeout=60,
            message=f"{KILL_AFTER_SENDS} sweep transactions sent by the worker",
        )
        worker.kill()  # SIGKILL to the cluster and its forked worker, mid-sweep
        worker.wait(timeout=10)
    finally:
        worker.stop()
    localnet.clear_faults()
    sends_before_kill = localnet.request_counts["sendTransaction"]

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING, worker.output()[-3000:]
    written = dict(OneTimeWallet.objects.exclude(pending_signature="").values_list("pk", "pending_signature"))
    assert len(written) == 200, "every wallet of the batch was written ahead before the first send"
    statuses = signature_statuses(localnet.url, set(written.values()))
    landed = {s for s, status in statuses.items() if status is not None and status_reached(status)}
    absent = {s for s, status in statuses.items() if status is None}
    assert landed and absent and landed | absent == set(statuses), statuses
    if blockhash == "expired":
        localnet.advance_time(90)  # 225 slots: past every pending transaction's last valid block height
        height = localnet.block_height
        assert all(
            w.pending_valid_until < height for w in OneTimeWallet.objects.exclude(pending_signature="")
        )

    # The dead run still looks alive: it cannot be retried, and a new sweep would leave its wallets alone.
    with pytest.raises(ValueError, match="only a finished run can be retried"):
        jobs.retry(run)
    assert jobs.fail_stale_runs() == 0  # its heartbeat is recent: it might still be working
    OperationRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=jobs.stale_after_seconds() + 1)
    )
    assert jobs.fail_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "worker running it probably died" in run.error

    worker = start_cluster(tmp_path, "second")
    try:
        retry = wait_for_run(jobs.retry(run), timeout=60)
    finally:
        worker.stop()
    assert retry.status == RunStatus.SUCCEEDED, (retry.error, worker.output()[-3000:])

    # nothing pending, every wallet swept
    wallets = list(OneTimeWallet.objects.all())
    assert {w.state for w in wallets} == {WalletState.SENT_FUNDS}
    assert not any(w.pending_signature or w.pending_transaction for w in wallets)
    # nothing lost: customers' payments = receiver (+ nothing left in the wallets)
    shop.assert_money_conserved()
    assert all(shop.in_wallets(symbol) == 0 for symbol in WALLETS)

    # nothing sent twice: each wallet signed exactly one transaction on chain, and it succeeded
    signed = signed_transactions(localnet.url, [w.address for w in wallets])
    final = {}
    for wallet in wallets:
        assert [err for _, err in signed[wallet.address]] == [None], signed[wallet.address]
        final[wallet.pk] = signed[wallet.address][0][0]
    # ... and it is the signature the runs recorded for that wallet
    recorded = defaultdict(set)
    items = OperationItem.objects.filter(run__kind="sweep", outcome=ItemOutcome.DONE, wallet__isnull=False)
    items = items.exclude(signature="")
    for pk, signature in items.values_list("wallet_id", "signature"):
        recorded[pk].add(signature)
    assert recorded == {pk: {signature} for pk, signature in final.items()}

    # every signature written ahead: confirmed on chain, or provably absent and re-sent or rebuilt
    for pk, signature in written.items():
        if signature in landed:
            assert final[pk] == signature  # recognised as landed, not swept again
        elif blockhash == "still_valid":
            assert final[pk] == signature  # re-sent as the very same bytes
        else:
            assert final[pk] != signature  # expired: rebuilt, and the old one can never land
    if blockhash == "expired":
        assert all(status is None for status in signature_statuses(localnet.url, absent).values())
    # the retry asked the chain first: what had landed (or landed when re-sent) is recorded as such
    landed_items = retry.items.filter(reason__contains="earlier transaction landed").count()
    assert landed_items == sum(1 for s in written.values() if s in landed or blockhash == "still_valid")
    assert localnet.request_counts["sendTransaction"] > sends_before_kill
