"""The admin pages for every model render, never show a secret, and make a fixed number of queries."""

import json

import pytest
from django.urls import reverse
from solders.pubkey import Pubkey

from solana_payments.models import OperationItem, OperationRun
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

MODELS = ["paymenttoken", "payment", "onetimewallet", "operationrun", "operationitem"]


def secret_forms(keypair, wallet):
    raw = bytes(keypair)
    return [
        str(keypair),  # base58 of the 64 bytes
        str(Pubkey.from_bytes(raw[:32])),  # base58 of the 32-byte seed
        json.dumps(list(raw)),
        json.dumps(list(raw), separators=(",", ":")),
        raw.hex(),
        wallet.encrypted_secret,
    ]


@pytest.fixture
def records(tokens):
    payments, keypairs = make_payments(3, tokens)
    run = OperationRun.objects.create(kind="sweep", trigger="command", status="succeeded", total=1, done=1)
    OperationItem.objects.create(
        run=run,
        payment=payments[0],
        wallet=payments[0].wallet,
        outcome="done",
        signature="5" * 88,
        token=tokens["USDC"],
        amount=25_000_001,
    )
    return payments, keypairs, run


@pytest.mark.parametrize("model", MODELS)
def test_every_changelist_renders(admin_client, records, model):
    response = admin_client.get(reverse(f"admin:solana_payments_{model}_changelist"))
    assert response.status_code == 200


def test_change_pages_render(admin_client, records):
    payments, _, run = records
    for url in (
        reverse("admin:solana_payments_payment_change", args=[payments[0].pk]),
        reverse("admin:solana_payments_onetimewallet_change", args=[payments[0].wallet_id]),
        reverse("admin:solana_payments_operationrun_change", args=[run.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert (
        b"25.000001 USDC"
        in admin_client.get(reverse("admin:solana_payments_operationrun_change", args=[run.pk])).content
    )


def test_no_page_contains_the_secret(admin_client, records):
    payments, keypairs, _ = records
    payment, keypair = payments[0], keypairs[0]
    payment.wallet.refresh_from_db()
    pages = [
        reverse("admin:solana_payments_onetimewallet_change", args=[payment.wallet_id]),
        reverse("admin:solana_payments_onetimewallet_changelist"),
        reverse("admin:solana_payments_payment_change", args=[payment.pk]),
        reverse("admin:solana_payments_payment_changelist"),
        reverse("admin:solana_payments_operationitem_changelist"),
    ]
    for url in pages:
        html = admin_client.get(url).content.decode()
        assert payment.wallet.address in html or "operationitem" in url
        for form in secret_forms(keypair, payment.wallet):
            assert form not in html, url


def test_wallets_and_runs_cannot_be_added_or_deleted(admin_client, records):
    payments, _, run = records
    assert admin_client.get(reverse("admin:solana_payments_onetimewallet_add")).status_code == 403
    assert admin_client.get(reverse("admin:solana_payments_operationrun_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:solana_payments_operationrun_delete", args=[run.pk])).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:solana_payments_onetimewallet_delete", args=[payments[0].wallet_id])
        ).status_code
        == 403
    )


def test_payments_changelist_queries_do_not_grow(admin_client, tokens, django_assert_max_num_queries):
    url = reverse("admin:solana_payments_payment_changelist")
    make_payments(5, tokens)
    with django_assert_max_num_queries(12) as small:
        admin_client.get(url)
    make_payments(195, tokens)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = admin_client.get(url + "?all=")
    assert response.context["cl"].result_count == 200
