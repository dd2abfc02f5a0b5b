"""After a full cycle through a real cluster, no wallet secret appears anywhere an operator can look:
admin pages, exports, log lines (the workers' too), django-q2 task rows, run records."""

import base64
import json
import logging

import pytest
from django.urls import reverse
from django_q.models import OrmQ, Task
from solders.pubkey import Pubkey

from solana_payments import jobs
from solana_payments.models import OneTimeWallet, OperationItem, OperationRun
from tests.support.exports import export, text_of
from tests.support.runs import wait_for_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MODELS = ["payment", "onetimewallet", "paymenttoken", "operationrun", "operationitem"]


def encodings(wallet):
    keypair = wallet.keypair()
    raw = bytes(keypair)
    return {
        "base58 keypair": str(keypair),
        "base58 seed": str(Pubkey.from_bytes(raw[:32])),
        "json bytes": json.dumps(list(raw)),
        "json bytes compact": json.dumps(list(raw), separators=(",", ":")),
        "hex": raw.hex(),
        "hex seed": raw[:32].hex(),
        "base64": base64.b64encode(raw).decode(),
        "fernet token": wallet.encrypted_secret,
    }


def assert_clean(text, secrets, where):
    for name, secret in secrets.items():
        assert secret not in text, f"{name} of a wallet secret found in {where}"


def test_no_secret_anywhere_after_a_full_cycle(shop, q_cluster, admin_client, tmp_path, caplog, settings):
    # the workers are forked from this process: a file handler set up now logs what they log, too
    log_file = tmp_path / "all.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        paid = shop.new_payment({"SOL": "0.5", "USDC": "25"})
        shop.pay(paid, "USDC", 25_000_000)
        abandoned = shop.new_payment({"PYUSD": "3"}, expires_in=1)
        import time

        time.sleep(1.1)
        for kind in ("recheck", "maintenance"):
            run = wait_for_run(jobs.enqueue(kind, trigger="admin_action"))
            assert run.status == "succeeded", run.error
        previews = [  # a POST: the preview is a dry run, recorded and logged like any run
            admin_client.post(reverse("admin:solana_payments_operationrun_run", args=[kind]), {"all": "1"})
            for kind in ("recheck", "expire", "sweep", "reclaim")
        ]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    secrets = {}
    for wallet in OneTimeWallet.objects.filter(pk__in=[paid.wallet_id, abandoned.wallet_id]):
        for name, value in encodings(wallet).items():
            secrets[f"{name} ({wallet.pk})"] = value

    pages = [reverse(f"admin:solana_payments_{m}_changelist") for m in MODELS]
    pages += [
        reverse("admin:solana_payments_payment_change", args=[paid.pk]),
        reverse("admin:solana_payments_onetimewallet_change", args=[paid.wallet_id]),
        reverse("admin:solana_payments_onetimewallet_change", args=[abandoned.wallet_id]),
        reverse("admin:solana_payments_dashboard"),
        reverse("admin:solana_payments_dashboard_status"),
        reverse("admin:django_q_success_changelist"),
        reverse("admin:django_q_ormq_changelist"),
    ]
    pages += [
        reverse("admin:solana_payments_operationrun_change", args=[r.pk]) for r in OperationRun.objects.all()
    ]
    pages += [reverse("admin:django_q_success_change", args=[t.pk]) for t in Task.objects.all()]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_clean(response.content.decode(), secrets, url)
    for response in previews:
        assert_clean(response.content.decode(), secrets, "a confirmation page")

    for model in MODELS:
        for fmt in ("csv", "xlsx", "json"):
            assert_clean(text_of(export(admin_client, model, fmt), fmt), secrets, f"the {model} {fmt} export")

    logged = log_file.read_text() + "\n" + caplog.text
    assert "recheck" in logged  # the capture really saw the cycle's log lines
    assert_clean(logged, secrets, "the logs")

    assert Task.objects.exists()
    for task in Task.objects.all():
        assert_clean(
            repr((task.name, task.func, task.args, task.kwargs, task.result, task.group)),
            secrets,
            "a task row",
        )
        assert task.args in ((), None) or all(isinstance(a, int) for a in task.args)  # run ids only
    for queued in OrmQ.objects.all():
        assert_clean(repr(queued.task), secrets, "the queue")
    for item in OperationItem.objects.all():
        assert_clean(repr(vars(item)), secrets, "a run item")
    for run in OperationRun.objects.all():
        assert_clean(repr(vars(run)), secrets, "a run")
