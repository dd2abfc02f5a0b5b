"""The transfer ledger on the localnet: a stranger's dust decides nothing, several senders need an explicit
refund address, refunds and accept read what was really received and refunded. SOL, SPL Token and
Token-2022 each; balances checked on chain."""

import datetime
import time

import pytest
from django.utils import timezone
from solders.keypair import Keypair

from solana_payments import jobs
from solana_payments.models import Payment, Refund, RunStatus, Transfer
from solana_payments.operations.base import run_operation
from tests.support.payments import overdue

pytestmark = pytest.mark.django_db(transaction=True)

PRICES = {"SOL": 500_000_000, "USDC": 25_000_000, "PYUSD": 25_000_000}
UNITS = {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}
SYMBOLS = ["SOL", "USDC", "PYUSD"]


def new_payment(shop, symbol, **kwargs):
    return shop.new_payment({symbol: UNITS[symbol]}, **kwargs)


def assert_conserved(shop, refunded):
    """What customers paid = receiver + what is still in one-time wallets + what was refunded to them."""
    for symbol in shop.tokens:
        assert shop.paid[symbol] == shop.received(symbol) + shop.in_wallets(symbol) + refunded.get(symbol, 0)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_dust_after_an_underpayment_does_not_take_the_refund(shop, symbol):
    payment = new_payment(shop, symbol)
    part = PRICES[symbol] * 2 // 5
    customer, _ = shop.pay(payment, symbol, part)
    stranger, _ = shop.pay(payment, symbol, 1)  # anyone can send anything to a public address
    overdue(payment)
    run_operation("expire", trigger="schedule")
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("expired", "underpaid")

    rows = list(Transfer.objects.filter(payment=payment).order_by("slot", "id"))
    assert [(r.direction, r.kind, r.amount, r.counterparty, r.is_dust) for r in rows] == [
        ("in", "payment", part, str(customer.pubkey()), False),
        ("in", "payment", 1, str(stranger.pubkey()), True),
    ]

    preview = run_operation("refund", ids=[payment.pk], dry_run=True).items.get()  # what an approver sees
    assert preview.destination == str(customer.pubkey())
    assert f"it sent {str_units(shop, symbol, part)} {symbol} on " in preview.reason
    customer_before = shop.balance(customer.pubkey(), symbol)
    stranger_before = shop.balance(stranger.pubkey(), symbol)
    run = run_operation("refund", ids=[payment.pk], trigger="command")  # no --to: the sender of the money
    item = run.items.get()
    assert (item.outcome, item.destination, item.amount) == ("done", str(customer.pubkey()), part + 1)
    assert "it sent" in item.reason
    assert shop.balance(customer.pubkey(), symbol) == customer_before + part + 1
    assert shop.balance(stranger.pubkey(), symbol) == stranger_before
    assert_conserved(shop, {symbol: part + 1})
    refund_row = Transfer.objects.get(payment=payment, kind="refund")
    assert (refund_row.direction, refund_row.amount, refund_row.signature) == (
        "out",
        part + 1,
        item.signature,
    )


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_dust_before_recheck_of_an_overpayment_does_not_become_the_payer(shop, symbol):
    payment = new_payment(shop, symbol)
    excess = PRICES[symbol] // 5
    customer, paying = shop.pay(payment, symbol, PRICES[symbol] + excess)
    stranger, _ = shop.pay(payment, symbol, 1)
    stranger_before = shop.balance(stranger.pubkey(), symbol)
    run_operation("recheck", trigger="schedule")
    payment.refresh_from_db()
    assert payment.is_settled and payment.exception == "overpaid"
    assert (payment.payer, payment.paid_signature) == (str(customer.pubkey()), paying)

    run = run_operation("refund", ids=[payment.pk], trigger="command")  # the suggested amount: the excess
    item = run.items.get()
    assert (item.outcome, item.destination) == ("done", str(customer.pubkey()))
    assert item.amount == excess + 1
    assert shop.balance(stranger.pubkey(), symbol) == stranger_before
    assert_conserved(shop, {symbol: excess + 1})


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_dust_after_the_deadline_does_not_make_an_on_time_payment_late(shop, configure, symbol):
    configure(HOLD_FLAGGED_FUNDS=("paid_late",))
    payment = new_payment(shop, symbol)
    customer, paying = shop.pay(payment, symbol, PRICES[symbol])
    deadline = timezone.now() + datetime.timedelta(seconds=1)
    Payment.objects.filter(pk=payment.pk).update(expires_at=deadline)
    time.sleep(2.2)  # block times are whole seconds: the dust lands at least a second after the deadline
    shop.pay(payment, symbol, 1)
    run_operation("expire", trigger="schedule")  # the first run to look: it finds the money at the deadline
    payment.refresh_from_db()
    assert payment.is_settled and payment.exception == ""
    assert (payment.payer, payment.paid_signature) == (str(customer.pubkey()), paying)
    assert payment.paid_at <= deadline
    sweep = run_operation("sweep", trigger="schedule")
    assert sweep.counts["swept"] == 1 and sweep.counts.get("held", 0) == 0
    assert shop.received(symbol) == PRICES[symbol] + 1
    assert_conserved(shop, {})


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_two_senders_are_flagged_and_a_refund_needs_an_address(shop, symbol):
    payment = new_payment(shop, symbol)
    half = PRICES[symbol] // 2
    first, _ = shop.pay(payment, symbol, half)
    second, _ = shop.pay(payment, symbol, PRICES[symbol] - half)
    run_operation("recheck", trigger="schedule")
    payment.refresh_from_db()
    assert payment.is_settled and payment.exception == "several_payers" and payment.payer == ""
    item = payment_item(payment, "recheck")
    assert str(first.pubkey()) in item.reason and str(second.pubkey()) in item.reason

    refused = run_operation("refund", ids=[payment.pk], amount=str_units(shop, symbol, half))
    reason = refused.items.get().reason
    assert "several senders" in reason and str(first.pubkey()) in reason and "--to" in reason
    assert not Refund.objects.exists()

    first_before = shop.balance(first.pubkey(), symbol)
    run = run_operation(
        "refund", ids=[payment.pk], amount=str_units(shop, symbol, half), to=str(first.pubkey())
    )
    assert run.items.get().outcome == "done"
    assert shop.balance(first.pubkey(), symbol) == first_before + half
    assert_conserved(shop, {symbol: half})


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_accept_refuses_a_payment_refunded_in_full(shop, symbol):
    payment = new_payment(shop, symbol)
    part = PRICES[symbol] // 5
    customer, _ = shop.pay(payment, symbol, part)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    customer_before = shop.balance(customer.pubkey(), symbol)
    run_operation("refund", ids=[payment.pk], trigger="command")
    assert shop.balance(customer.pubkey(), symbol) == customer_before + part

    for accept_short in (False, True):  # accepting a shortfall never accepts a payment refunded in full
        run = run_operation(
            "resolve", ids=[payment.pk], decision="accept", reason="ship it", accept_short=accept_short
        )
        item = run.items.get()
        assert item.outcome == "skipped" and "refunded" in item.reason and "nothing is kept" in item.reason
    payment.refresh_from_db()
    assert payment.status == "expired"
    assert_conserved(shop, {symbol: part})


def test_a_second_refund_run_of_a_payment_is_refused_while_one_is_open(shop, configure):
    payment = new_payment(shop, "USDC")
    shop.pay(payment, "USDC", 5_000_000)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    held = jobs.enqueue("refund", ids=[payment.pk], trigger="admin_action")  # every refund waits for approval
    assert held.status == RunStatus.AWAITING_APPROVAL
    with pytest.raises(ValueError, match=f"already in open refund run #{held.pk}"):
        jobs.enqueue("refund", ids=[payment.pk], trigger="admin_action")
    with pytest.raises(ValueError, match="already in open refund run"):
        run_operation("refund", ids=[payment.pk], trigger="command")
    preview = run_operation("refund", ids=[payment.pk], dry_run=True)  # a preview is not a run that acts
    assert preview.status == RunStatus.SUCCEEDED
    assert not Refund.objects.exists()


def test_a_refund_re_reads_what_is_left_under_the_payments_lock(shop, configure, monkeypatch):
    """Two runs carrying the same plan: the second read the payment before the first landed, and is refused
    when it writes its refund, instead of sending the money a second time."""
    from solana_payments.models import OperationRun
    from solana_payments.operations.refund import RefundOperation

    refund_wallet = Keypair()
    shop.localnet.airdrop(refund_wallet.pubkey(), 2_000_000_000)
    shop.localnet.mint_to(shop.localnet.mints["USDC"], refund_wallet.pubkey(), 50_000_000)
    configure(REFUND_WALLET_KEYPAIR=list(bytes(refund_wallet)))
    payment = new_payment(shop, "USDC")
    customer, _ = shop.pay(payment, "USDC", 5_000_000)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    run_operation(
        "sweep", trigger="schedule"
    )  # the money left the wallet: both runs pay from the refund wallet
    assert shop.received("USDC") == 5_000_000
    plan = {str(payment.pk): {"amount": 5_000_000, "to": str(customer.pubkey())}}
    build = RefundOperation.build
    other_done = []

    def build_then_let_the_other_worker_land_first(self, *args, **kwargs):
        built = build(self, *args, **kwargs)
        if not other_done:  # the other worker, past every check, sends and lands its refund now
            other_done.append(True)
            run = OperationRun.objects.create(kind="refund", trigger="api", status=RunStatus.RUNNING)
            other = RefundOperation(run, self.chain, ids=[payment.pk], options={"plan": plan})
            other.execute()
            assert Refund.objects.filter(status="landed").count() == 1
        return built

    monkeypatch.setattr(RefundOperation, "build", build_then_let_the_other_worker_land_first)
    customer_before = shop.balance(customer.pubkey(), "USDC")
    run = run_operation("refund", ids=[payment.pk], plan=plan)
    item = run.items.get()
    assert item.outcome == "skipped" and "more than is left to refund" in item.reason
    assert list(Refund.objects.values_list("status", flat=True)) == ["landed"]
    assert shop.balance(customer.pubkey(), "USDC") == customer_before + 5_000_000
    assert shop.balance(refund_wallet.pubkey(), "USDC") == 45_000_000
    assert_conserved(shop, {})


def payment_item(payment, kind):
    from solana_payments.models import OperationItem

    return OperationItem.objects.filter(payment=payment, run__kind=kind).latest("pk")


def str_units(shop, symbol, amount):
    from solana_payments.amounts import format_units

    return format_units(amount, shop.tokens[symbol].decimals)


def test_the_ledger_is_read_once_per_new_transfer(shop):
    """History is read only for wallets whose balance changed; each transfer is fetched once."""
    payments = [new_payment(shop, "SOL") for _ in range(3)]
    shop.pay(payments[0], "SOL", PRICES["SOL"])
    first = run_operation("recheck", trigger="schedule")
    assert first.rpc_calls.get("getSignaturesForAddress") == 1
    assert first.rpc_calls.get("getTransaction") == 1
    again = run_operation("recheck", trigger="schedule")  # nothing changed: no history read at all
    assert "getSignaturesForAddress" not in again.rpc_calls and "getTransaction" not in again.rpc_calls
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize(
    "value, ok",
    [
        ({}, True),
        ({"SOL": "0.0001", "usdc": "0.01"}, True),
        ({"SOL": 0.001}, False),  # a float: never for money
        ({"SOL": "-1"}, False),
        ({"SOL": "1e999999999"}, False),
        ({"SOL": "NaN"}, False),
        (["SOL"], False),
    ],
)
def test_dust_thresholds_are_checked(configure, value, ok):
    from solana_payments.checks import check_settings

    configure(DUST_THRESHOLDS=value)
    errors = [e for e in check_settings() if e.id == "solana_payments.E015"]
    assert (errors == []) is ok


def test_the_dust_threshold_is_a_share_of_the_price_or_the_setting(shop, configure):
    from solana_payments.ledger.facts import dust_threshold

    sol, usdc = shop.tokens["SOL"], shop.tokens["USDC"]
    assert dust_threshold(sol, 500_000_000) == 1_000_000  # 0.001 SOL is less than 1% of 0.5 SOL
    assert dust_threshold(sol, 50_000_000) == 500_000  # 1% of 0.05 SOL is less than 0.001 SOL
    assert dust_threshold(usdc, 25_000_000) == 250_000
    configure(DUST_THRESHOLDS={"usdc": "0.0000015"})  # symbols match whatever their case; rounded up
    assert dust_threshold(usdc, 25_000_000) == 2


@pytest.mark.parametrize("held", [False, True])
def test_cancel_of_a_payment_with_funds_says_what_happens_to_them(shop, configure, held):
    if held:
        configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment = new_payment(shop, "USDC")
    shop.pay(payment, "USDC", 5_000_000)
    run = run_operation("resolve", ids=[payment.pk], decision="cancel", reason="customer gave up")
    item = run.items.get(reason__startswith="cancelled")
    where = (
        "it stays in the one-time wallet (HOLD_FLAGGED_FUNDS)"
        if held
        else "it goes to the receiver with the next sweep"
    )
    assert item.reason == (
        f"cancelled by a code: customer gave up; it had received 5 USDC: flagged underpaid, {where}; "
        "refund it from the desk"
    )
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("expired", "underpaid")


def test_each_customer_transfer_is_announced_with_the_running_total(shop, configure):
    from solana_payments.webhooks.models import WebhookDelivery, WebhookEndpoint

    configure(WEBHOOK_ALLOW_PRIVATE_NETWORKS=True)  # the endpoint is never called here: its rows are read
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hook", events=["payment.received"])
    payment = new_payment(shop, "SOL")
    _, first = shop.pay(payment, "SOL", 200_000_000)
    run_operation("recheck", trigger="schedule")
    shop.pay(payment, "SOL", 1)  # dust: recorded, not announced
    _, second = shop.pay(payment, "SOL", 300_000_000)
    run_operation("recheck", trigger="schedule")
    run_operation("recheck", trigger="schedule", ids=[payment.pk])  # nothing new: nothing announced again

    deliveries = WebhookDelivery.objects.filter(event="payment.received").order_by("pk")
    transfers = [d.payload["data"]["transfer"] for d in deliveries]
    assert [(t["signature"], t["amount"], t["received_total"], t["token"]) for t in transfers] == [
        (first, "0.2", "0.2", "SOL"),
        (second, "0.3", "0.500000001", "SOL"),
    ]
    assert Transfer.objects.filter(payment=payment, direction="in").count() == 3


def test_the_approval_page_shows_who_sent_what(shop, admin_client):
    from django.urls import reverse

    payment = new_payment(shop, "USDC", label="Order 77")
    customer, _ = shop.pay(payment, "USDC", 5_000_000)
    stranger, _ = shop.pay(payment, "USDC", 1)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    held = jobs.enqueue("refund", ids=[payment.pk], trigger="admin_action")
    page = admin_client.get(reverse("admin:solana_payments_operationrun_approval", args=[held.pk]))
    html = page.content.decode()
    table = html[html.index("Transfers of Order 77") :]
    assert "+5 USDC" in table and str(customer.pubkey()) in table
    assert "+0.000001 USDC" in table and "(dust)" in table and str(stranger.pubkey()) in table
    # and the preview the approver judges names the sender it will refund
    assert f"to {customer.pubkey()}" in html and "it sent 5 USDC on" in html
