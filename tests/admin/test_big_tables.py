"""Changelists of big tables: bounded counts, exact searches by index, a run's page with many items."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from solana_payments.admin import paging
from solana_payments.models import OperationItem, OperationRun, Payment
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db


def counts_in(queries):
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_a_changelist_counts_at_most_the_cap(admin_client, tokens, monkeypatch):
    make_payments(7, tokens)
    monkeypatch.setattr(paging.CappedCountPaginator, "count_cap", 5)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:solana_payments_payment_changelist"))
    assert response.status_code == 200
    counts = counts_in(queries.captured_queries)
    assert "LIMIT 6" in counts[0]  # the bounded count: more than 5 rows, so...
    assert len(counts) == 2  # ...the exact count only where no estimate exists (SQLite), never a total count
    assert response.context["cl"].result_count == 7
    assert not response.context["cl"].show_full_result_count


def test_a_short_list_is_counted_once_and_exactly(admin_client, tokens):
    make_payments(3, tokens)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(
            reverse("admin:solana_payments_payment_changelist") + "?status__exact=initiated"
        )
    assert response.context["cl"].result_count == 3
    assert len(counts_in(queries.captured_queries)) == 1


@pytest.mark.parametrize("model", ["payment", "onetimewallet", "operationitem"])
def test_searching_a_reference_or_an_address_is_an_exact_lookup(admin_client, tokens, model):
    payments, _ = make_payments(3, tokens)
    target = Payment.objects.select_related("wallet").get(pk=payments[1].pk)
    run = OperationRun.objects.create(kind="sweep", trigger="command", status="succeeded")
    for payment in payments:
        OperationItem.objects.create(run=run, payment=payment, wallet=payment.wallet, outcome="done")
    url = reverse(f"admin:solana_payments_{model}_changelist")
    for term in (str(target.reference), target.wallet.address):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(url, {"q": term})
        assert response.context["cl"].result_count == 1, term
        listed = "\n".join(q["sql"] for q in queries.captured_queries)
        assert "LIKE" not in listed.upper(), listed  # no substring scan
    response = admin_client.get(url, {"q": "no such text"})
    assert response.context["cl"].result_count == 0  # other text: the usual search


def test_a_run_page_lists_its_first_items_and_links_to_all(admin_client):
    run = OperationRun.objects.create(
        kind="sweep", trigger="command", status="succeeded", total=120, done=120
    )
    OperationItem.objects.bulk_create(
        [OperationItem(run=run, outcome="done", reason=f"item {i}") for i in range(120)]
    )
    response = admin_client.get(reverse("admin:solana_payments_operationrun_change", args=[run.pk]))
    page = response.content.decode()
    assert "item 49<" in page and "item 50<" not in page
    assert f"?run__id__exact={run.pk}" in page
    listing = admin_client.get(
        reverse("admin:solana_payments_operationitem_changelist") + f"?run__id__exact={run.pk}"
    )
    assert listing.context["cl"].result_count == 120
