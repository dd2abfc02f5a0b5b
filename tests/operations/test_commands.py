"""The four seed commands: names, flags, summary line, --json, exit status and a node that is down."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from solana_payments.models import OperationRun, Payment
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db(transaction=True)

COMMANDS = {
    "recheck_initiated_solana_payments": "recheck",
    "close_expired_solana_payments_with_wallets": "expire",
    "send_solana_payments_from_one_time_wallets": "sweep",
    "close_expired_one_time_wallets_and_reclaim_funds": "reclaim",
}


def run(name, *args):
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_runs_and_ends_with_a_summary(shop, name):
    output = run(name, "--sleep", "0")
    last = output.strip().splitlines()[-1]
    assert last.startswith("scanned=0 ")
    assert OperationRun.objects.get().kind == COMMANDS[name]
    assert OperationRun.objects.get().trigger == "command"


def test_recheck_summary_has_the_seeds_form(shop):
    payment = shop.new_payment({"SOL": "1"})
    shop.pay(payment, "SOL", 1_000_000_000)
    make_payments(2, shop.tokens)
    output = run("recheck_initiated_solana_payments", "--limit", "500", "--sleep", "0.01")
    assert output.strip().splitlines()[-1] == "scanned=3 reconciled=1 pending=2 failed=0"
    assert OperationRun.objects.get().parameters["limit"] == 500


def test_recheck_limit_defaults_to_200_and_logs_plain_progress(shop):
    make_payments(201, shop.tokens)
    output = run("recheck_initiated_solana_payments")
    assert OperationRun.objects.get().counts["scanned"] == 200
    assert "recheck: 200/200" in output.splitlines()


class Terminal(StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar(shop):
    make_payments(150, shop.tokens)
    out = Terminal()
    call_command("recheck_initiated_solana_payments", stdout=out)
    assert "\r[" + "#" * 30 + "] 150/150" in out.getvalue()


def test_json_summary(shop):
    payments, _ = make_payments(2, shop.tokens)
    output = run("recheck_initiated_solana_payments", "--ids", f"{payments[0].pk}", "--dry-run", "--json")
    summary = json.loads(output.strip().splitlines()[-1])
    assert summary["kind"] == "recheck" and summary["dry_run"] is True
    assert summary["counts"]["scanned"] == 1
    assert summary["rpc_calls"] == {"getMultipleAccounts": 1}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sleep", "-1"], "--sleep"),
        (["--sleep", "abc"], "--sleep"),
        (["--ids", "1,x"], "--ids"),
        (["--ids", "-3"], "--ids"),
        (["--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_bad_flags_are_refused_before_anything_runs(shop, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("recheck_initiated_solana_payments", *args, stdout=StringIO())
    assert not OperationRun.objects.exists()


def test_node_down_is_a_clear_error_and_changes_nothing(shop, configure):
    payments, _ = make_payments(3, shop.tokens)
    Payment.objects.update(expires_at="2000-01-01T00:00:00Z")
    configure(RPC_URL="http://127.0.0.1:9", RPC_MAX_RETRY_SECONDS=0.5)
    with pytest.raises(CommandError, match=r"RPC node http://127.0.0.1:9 unavailable"):
        call_command("close_expired_solana_payments_with_wallets", stdout=StringIO())
    assert set(Payment.objects.values_list("status", flat=True)) == {"initiated"}
    assert OperationRun.objects.get().status == "failed"


def test_failed_items_give_a_non_zero_exit(shop, configure):
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    call_command("recheck_initiated_solana_payments", stdout=StringIO())
    from cryptography.fernet import Fernet

    configure(
        ONE_TIME_WALLETS_ENCRYPTION_KEY=Fernet.generate_key().decode()
    )  # the wallet can't be signed for
    with pytest.raises(CommandError, match="1 item\\(s\\) failed") as excinfo:
        call_command("send_solana_payments_from_one_time_wallets", stdout=StringIO())
    assert excinfo.value.returncode == 1
    assert shop.received("SOL") == 0
