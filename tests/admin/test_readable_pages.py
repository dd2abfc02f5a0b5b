"""Pages an operator can read: the payments list says who and what in an operator's words, a payment page
links its transaction and shows amounts in token units, a run page shows its figures with their units."""

import pytest
from django.urls import reverse

from solana_payments.models import OperationItem, OperationRun, Payment
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("admin:solana_payments_payment_changelist")


def decide(payment, decision):
    run = OperationRun.objects.create(
        kind="resolve", trigger="admin_action", status="succeeded", parameters={"decision": decision}
    )
    OperationItem.objects.create(run=run, payment=payment, wallet=payment.wallet, outcome="done", reason="x")


@pytest.fixture
def payments(tokens):
    (paid, short, cancelled, abandoned), _ = make_payments(4, tokens)
    Payment.objects.filter(pk=paid.pk).update(
        status="confirmed",
        paid_token=tokens["USDC"],
        paid_amount=25_000_000,
        paid_signature="4" * 87,
        label="Order 1001",
        email="ada@example.com",
    )
    Payment.objects.filter(pk=short.pk).update(status="confirmed", paid_token=tokens["USDC"], paid_amount=10)
    Payment.objects.filter(pk__in=[cancelled.pk, abandoned.pk]).update(status="expired")
    decide(short, "accept")
    decide(cancelled, "cancel")
    preview = OperationRun.objects.create(
        kind="resolve",
        trigger="admin_action",
        status="succeeded",
        parameters={"decision": "cancel", "dry_run": True},
    )
    OperationItem.objects.create(run=preview, payment=abandoned, wallet=abandoned.wallet, outcome="would_do")
    return paid, short, cancelled, abandoned


def row_of(page, payment):
    start = page.index(f"/payment/{payment.pk}/change/")
    start = page.rindex("<tr", 0, start)
    return page[start : page.index("</tr>", start)]


def test_the_payments_list_says_who_and_what_in_an_operators_words(admin_client, payments):
    paid, short, cancelled, abandoned = payments
    page = admin_client.get(PAYMENTS).content.decode()
    row = row_of(page, paid)
    assert "Order 1001" in row and "ada@example.com" in row
    assert "paid (confirmed)" in row and ">confirmed<" not in row
    assert (
        f'title="{paid.reference}">{str(paid.reference)[:8]}…</span>' in row
    )  # one line, whole in the title
    assert "paid (confirmed), accepted" in row_of(page, short)  # an accepted short payment says so
    assert "expired, cancelled" in row_of(page, cancelled)
    assert "cancelled" not in row_of(page, abandoned)  # a preview of a decision is no decision

    def listed(query):
        response = admin_client.get(PAYMENTS + query)
        return {p.pk for p in response.context["cl"].result_list}

    assert listed("?decision=cancel") == {cancelled.pk}
    assert listed("?decision=accept") == {short.pk}
    assert listed("?status__exact=confirmed") == {paid.pk, short.pk}  # the dashboard's links still work
    filters = admin_client.get(PAYMENTS).content.decode()
    assert ">paid (finalized)</a>" in filters and ">waiting for payment</a>" in filters


def test_a_payment_page_links_its_transaction_and_shows_token_units(admin_client, payments):
    paid = payments[0]
    page = admin_client.get(reverse("admin:solana_payments_payment_change", args=[paid.pk])).content.decode()
    signature = "4" * 87
    assert (
        f'href="https://explorer.solana.com/tx/{signature}?cluster=' in page and f">{signature}</a>" in page
    )
    assert "1000000000 SOL" not in page and "25000000 USDC" not in page  # no raw base units above the rows
    assert "1 SOL" in page and "25 USDC" in page
    assert '<div class="readonly"><span class="sp-cell-line">paid (confirmed)</span></div>' in page
    assert "sp-untitled-rows" in page and "solana_payments/admin.css" in page


def test_a_run_page_shows_its_figures_with_their_units(admin_client):
    run = OperationRun.objects.create(
        kind="sweep",
        trigger="schedule",
        status="succeeded",
        counts={"scanned": 60, "swept": 3, "failed": 0},
        rpc_calls={"getMultipleAccounts": 2, "sendTransaction": 3},
        fees_paid=85_000,
    )
    page = admin_client.get(
        reverse("admin:solana_payments_operationrun_change", args=[run.pk])
    ).content.decode()
    assert '<ul class="sp-inline-figures"><li>scanned <strong>60</strong></li>' in page
    assert "<li>total <strong>5</strong></li><li>getMultipleAccounts <strong>2</strong></li>" in page
    assert "85000 lamports (0.000085 SOL)" in page
    assert '{"scanned": 60' not in page and "{&quot;scanned&quot;" not in page  # no raw JSON
    runs = admin_client.get(reverse("admin:solana_payments_operationrun_changelist")).content.decode()
    assert "85000 lamports (0.000085 SOL)" in runs
