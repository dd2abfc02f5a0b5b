"""The ledger as operators and accountants see it: a seeded demo shop's export adds up against the chain,
the backfill fills wallets never read, the payment page lists the transfers, the changelist filters."""

import csv
import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from solana_payments.amounts import to_base_units
from solana_payments.demo_data import seed_shop
from solana_payments.models import OneTimeWallet, Payment, Refund, Transfer
from solana_payments.operations.base import run_operation
from tests.support.demo import demo_price_feeds

pytestmark = pytest.mark.django_db(transaction=True)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_accounting_export_of_a_seeded_demo_shop_adds_up(shop, tmp_path):
    with demo_price_feeds(shop.localnet):
        made = seed_shop(shop.localnet.url, seed=3)
    underpaid = made["underpaid"][0]
    run_operation("expire", trigger="schedule")
    run_operation("recheck", trigger="schedule")
    run_operation("refund", ids=[underpaid.pk], trigger="command")
    run_operation("sweep", trigger="schedule")
    # Wallets no operation read since (abandoned, or settled before the ledger was read): the backfill
    never_read = OneTimeWallet.objects.filter(history_cursor={}).count()
    assert never_read > 0
    dry = tmp_path / "dry.txt"
    with open(dry, "w") as out:
        call_command("solana_payments_backfill_transfers", "--dry-run", stdout=out)
    assert OneTimeWallet.objects.filter(history_cursor={}).count() == never_read
    call_command("solana_payments_backfill_transfers", "--batch-size", "7", stdout=open(tmp_path / "o", "w"))
    assert not OneTimeWallet.objects.filter(history_cursor={}).exists()

    path = tmp_path / "transfers.csv"
    call_command("solana_payments_export_transfers", "--output", str(path), stdout=open(tmp_path / "e", "w"))
    rows = read_csv(path)
    assert len(rows) == Transfer.objects.count() > 60
    tokens = {t.symbol: t for t in shop.tokens.values()}
    sums = Counter()
    for row in rows:
        base = to_base_units(Decimal(row["amount"]), tokens[row["token"]].decimals)
        sums[(row["token"], row["direction"], row["kind"])] += base
    refunded = Counter()
    for refund in Refund.objects.filter(status="landed"):
        refunded[refund.token.symbol] += refund.amount
    assert refunded, "the underpaid payment was refunded"
    for symbol in ("SOL", "USDC", "PYUSD"):
        customers_in = sums[(symbol, "in", "payment")]
        on_chain = shop.received(symbol) + refunded[symbol] + wallets_hold(shop, symbol)
        assert customers_in == on_chain, symbol
        assert sums[(symbol, "out", "sweep")] == shop.received(symbol), symbol
    assert {row["label"] for row in rows} >= {"Order #1001"}
    assert all(row["email"].endswith("@example.com") for row in rows)


def wallets_hold(shop, symbol):
    return sum(shop.balance(w.address, symbol) for w in OneTimeWallet.objects.all())


def test_the_export_command_filters_by_date_and_token_and_refuses_bad_input(shop, tmp_path):
    payment = shop.new_payment({"SOL": "0.5", "USDC": "25"})
    shop.pay(payment, "SOL", 500_000_000)
    shop.pay(payment, "USDC", 1_000_000)
    run_operation("recheck", trigger="schedule")
    path = tmp_path / "usdc.csv"
    today = timezone.now().date()
    tomorrow = today + datetime.timedelta(days=1)
    call_command(
        "solana_payments_export_transfers",
        "--since", str(today), "--until", str(tomorrow), "--token", "usdc", "--output", str(path),
        stdout=open(tmp_path / "o", "w"),
    )  # fmt: skip
    assert [(r["token"], r["amount"]) for r in read_csv(path)] == [("USDC", "1")]
    call_command(
        "solana_payments_export_transfers", "--until", str(today), "--output", str(path),
        stdout=open(tmp_path / "o", "w"),
    )  # fmt: skip
    assert read_csv(path) == []
    with pytest.raises(CommandError, match="not a date"):
        call_command("solana_payments_export_transfers", "--since", "yesterday", "--output", str(path))
    with pytest.raises(CommandError, match="Unknown token: DOGE"):
        call_command("solana_payments_export_transfers", "--token", "DOGE", "--output", str(path))
    xlsx = tmp_path / "all.xlsx"
    call_command(
        "solana_payments_export_transfers", "--format", "xlsx", "--output", str(xlsx),
        stdout=open(tmp_path / "o", "w"),
    )  # fmt: skip
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert sheet.max_row == 3  # the header and two transfers


def test_the_payment_page_lists_its_transfers_with_a_running_total(shop, admin_client):
    payment = shop.new_payment({"USDC": "25"})
    first, _ = shop.pay(payment, "USDC", 10_000_000)
    second, _ = shop.pay(payment, "USDC", 15_000_000)
    shop.pay(payment, "USDC", 1)
    run_operation("recheck", trigger="schedule")
    payment.refresh_from_db()
    assert payment.exception == "several_payers"
    page = admin_client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk]))
    html = page.content.decode()
    assert "the payment&#x27;s ledger" in html
    for text in ("+10 USDC", "+15 USDC", "+0.000001 USDC (dust)", "25.000001 USDC", str(first.pubkey())):
        assert text in html, text
    assert html.index("+10 USDC") < html.index("+15 USDC")

    changelist = reverse("admin:solana_payments_payment_changelist")
    other = shop.new_payment({"SOL": "0.5"})
    shop.pay(other, "SOL", 500_000_000)
    run_operation("recheck", trigger="schedule")
    several = admin_client.get(changelist, {"payers": "several"}).context["cl"].result_list
    assert [p.pk for p in several] == [payment.pk]
    dusty = admin_client.get(changelist, {"dust": "yes"}).context["cl"].result_list
    assert [p.pk for p in dusty] == [payment.pk]
    clean = admin_client.get(changelist, {"dust": "no"}).context["cl"].result_list
    assert payment.pk not in [p.pk for p in clean] and other.pk in [p.pk for p in clean]

    transfers = admin_client.get(
        reverse("admin:solana_payments_transfer_changelist"), {"is_dust__exact": "1"}
    )
    assert [t.amount for t in transfers.context["cl"].result_list] == [1]
    assert Payment.objects.get(pk=payment.pk).transfers.count() == 3
