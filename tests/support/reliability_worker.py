"""Work done in a separate process by the reliability tests: ``python -m tests.support.reliability_worker ACTION``.

Run with ``DJANGO_SETTINGS_MODULE=tests.worker_settings`` (the test's database and chain come from the
environment, see ``tests/reliability.py``). Each action prints one JSON document on its last line.

- ``setup SPEC``: the localnet's tokens, then payments as SPEC (JSON ``[[symbol, amount, plan], ...]``)
  says; plan ``paid`` leaves the payment initiated (the customer pays next), ``expired`` makes it an
  expired payment whose wallet still has its (empty) token accounts: expire could not close them.
- ``recheck``: a recheck run over everything (settles the payments customers paid).
- ``work START_AT COMMAND...``: wait until the unix time START_AT, then run these management commands one
  after the other, with ``--json``. With ``SOLANA_PAYMENTS_TEST_NO_CLAIMS=1`` the operations skip their
  claims (a control run that shows what the claims prevent).
- ``claim-race KIND``: two runs of KIND claim the same wallets from two connections; the first holds
  its claim in an open transaction while the second's claim starts, then commits. Reports what each got.
- ``refund-runs PAYMENT TO AMOUNT``: two queued refund runs carrying the same approved plan (as two
  requests racing past the check, or a retry), by their ids.
- ``execute START_AT RUN``: wait until the unix time START_AT, then execute the queued run as django-q2's
  task does; reports its status, error and items.
- ``report``: wallets, payments and the items of every run, for the test to check.
"""

import io
import json
import os
import sys
import time


def setup(spec):
    from decimal import Decimal

    from django.utils import timezone

    from solana_payments.demo_data import seed_tokens
    from solana_payments.models import OneTimeWallet, Payment, PaymentStatus, PaymentToken, WalletState
    from solana_payments.payments import create_payment
    from tests.support.reliability import localnet_mints

    if not PaymentToken.objects.exists():
        seed_tokens(localnet_mints())
    created = []
    past = timezone.now() - timezone.timedelta(minutes=5)
    for symbol, amount, plan in spec:
        payment = create_payment({symbol: Decimal(amount)}, label=f"{plan} {symbol}")
        if plan == "expired":
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.EXPIRED, expires_at=past)
            OneTimeWallet.objects.filter(pk=payment.wallet_id).update(state=WalletState.PAYMENT_EXPIRED)
        created.append(
            {"payment": payment.pk, "wallet": payment.wallet_id, "address": payment.wallet.address}
        )
    return {"payments": created}


def recheck():
    from solana_payments.operations.base import run_operation

    run = run_operation("recheck", limit=100_000, trigger="command")
    return {"status": run.status, "counts": run.counts}


def work(start_at, commands):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    if os.environ.get("SOLANA_PAYMENTS_TEST_NO_CLAIMS") == "1":
        from solana_payments.operations.base import Operation

        Operation.claim = lambda self, wallets, states, refs: list(wallets)

    results = []
    time.sleep(max(0.0, float(start_at) - time.time()))
    for command in commands:
        out = io.StringIO()
        try:
            call_command(command, "--json", stdout=out)
            error = ""
        except CommandError as exc:  # exit status 1: some item failed (the summary is in `out`)
            error = str(exc)
        lines = [line for line in out.getvalue().splitlines() if line.startswith("{")]
        results.append(
            {"command": command, "summary": json.loads(lines[-1]) if lines else None, "error": error}
        )
    return {"pid": os.getpid(), "results": results}


def claim_race(kind):
    import threading

    from django.db import connections, transaction

    from solana_payments.models import SWEEPABLE_STATES, OneTimeWallet, OperationRun, RunStatus, WalletState
    from solana_payments.operations.base import get_operation_class
    from solana_payments.operations.wallets import wallet_refs

    state, states = (
        (WalletState.RECEIVED_FUNDS, SWEEPABLE_STATES)
        if kind == "sweep"
        else (WalletState.PAYMENT_EXPIRED, [WalletState.PAYMENT_EXPIRED])
    )
    OneTimeWallet.objects.bulk_create(
        OneTimeWallet(address=f"claim-race-{kind}-{i}", encrypted_secret="-", state=state) for i in range(20)
    )
    wallets = list(OneTimeWallet.objects.filter(address__startswith=f"claim-race-{kind}-"))
    operation_class = get_operation_class(kind)
    runs = [OperationRun.objects.create(kind=kind, trigger="api", status=RunStatus.RUNNING) for _ in range(2)]
    first, second = (operation_class(run, None) for run in runs)
    got, first_claimed, second_started = {}, threading.Event(), threading.Event()

    def claim(name, operation):
        got[name] = [w.pk for w in operation.claim(wallets, states, wallet_refs)]

    def hold_first():
        try:
            with transaction.atomic():
                claim("first", first)
                first_claimed.set()
                second_started.wait(10)
                time.sleep(0.5)  # the second claim is now waiting for these rows
        finally:
            connections.close_all()

    def then_second():
        try:
            first_claimed.wait(10)
            second_started.set()
            claim("second", second)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold_first), threading.Thread(target=then_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    holders = list(
        OneTimeWallet.objects.filter(pk__in=[w.pk for w in wallets]).values_list("claimed_by", flat=True)
    )
    return {
        "wallets": len(wallets),
        "first": len(got.get("first", [])),
        "second": len(got.get("second", [])),
        "held_by_first": holders.count(runs[0].pk),
    }


def refund_runs(payment, to, amount):
    from solana_payments.models import OperationRun, RunStatus

    plan = {str(payment): {"amount": int(amount), "to": to}}
    parameters = {"ids": [int(payment)], "limit": None, "sleep": 0, "dry_run": False, "plan": plan}
    runs = [
        OperationRun.objects.create(
            kind="refund", trigger="api", parameters=parameters, status=RunStatus.QUEUED
        )
        for _ in range(2)
    ]
    return {"runs": [run.pk for run in runs]}


def execute(start_at, run_id):
    from solana_payments import jobs
    from solana_payments.models import OperationRun

    time.sleep(max(0.0, float(start_at) - time.time()))
    status = jobs.execute(int(run_id))
    run = OperationRun.objects.get(pk=int(run_id))
    items = list(run.items.values("outcome", "reason", "signature", "amount"))
    return {"pid": os.getpid(), "run": run.pk, "status": status, "error": run.error, "items": items}


def report():
    from solana_payments.models import OneTimeWallet, OperationItem, OperationRun

    wallets = list(
        OneTimeWallet.objects.values(
            "pk", "address", "state", "pending_signature", "payment__status", "payment__exception"
        )
    )
    items = list(
        OperationItem.objects.values("run_id", "run__kind", "wallet_id", "outcome", "reason", "signature")
    )
    runs = list(OperationRun.objects.values("pk", "kind", "status", "counts", "error"))
    return {"wallets": wallets, "items": items, "runs": runs}


def main(argv):
    import django

    django.setup()
    action, args = argv[0], argv[1:]
    if action == "setup":
        result = setup(json.loads(args[0]))
    elif action == "recheck":
        result = recheck()
    elif action == "work":
        result = work(args[0], args[1:])
    elif action == "refund-runs":
        result = refund_runs(*args)
    elif action == "execute":
        result = execute(*args)
    elif action == "claim-race":
        result = claim_race(args[0])
    elif action == "report":
        result = report()
    else:
        raise SystemExit(f"unknown action {action!r}")
    sys.stdout.write(json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
