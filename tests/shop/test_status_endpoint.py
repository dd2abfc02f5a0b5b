"""The status endpoint and checkout page: public fields only, throttled, and settling within the interval."""

import re
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from solana_payments.models import OperationRun, Payment, PaymentStatus
from solana_payments.payments import create_payment

pytestmark = pytest.mark.django_db

PUBLIC_KEYS = {
    "reference", "status", "exception", "settled", "expired", "expires_at", "seconds_left", "address",
    "options", "paid_token", "paid_signature", "paid_at", "price", "currency",
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # throttle windows and the checkout watch's hints live in the cache
    yield
    cache.clear()


def status_url(payment_or_reference):
    reference = getattr(payment_or_reference, "reference", payment_or_reference)
    return reverse("solana_payments:status", args=[reference])


def test_status_shows_public_fields_only(client, tokens, configure, django_user_model):
    configure(STATUS_CHAIN_CHECK_SECONDS=0)
    user = django_user_model.objects.create_user("buyer-login-name", password="x")
    payment = create_payment(
        {"SOL": Decimal("0.5"), "USDC": Decimal("25")},
        label="secret-label-text",
        message="secret-message-text",
        email="private.person@example.com",
        metadata={"order": "secret-metadata-value"},
        user=user,
    )
    response = client.get(status_url(payment))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert set(body) == PUBLIC_KEYS
    assert body["reference"] == str(payment.reference) and body["status"] == "initiated"
    assert body["address"] == payment.wallet.address
    assert 890 <= body["seconds_left"] <= 900
    assert body["options"] == [
        {"token": "SOL", "mint": None, "decimals": 9, "amount_due": "0.5", "amount_paid": "0",
         "amount_left": "0.5", "rate": None},
        {"token": "USDC", "mint": tokens["USDC"].mint, "decimals": 6, "amount_due": "25", "amount_paid": "0",
         "amount_left": "25", "rate": None},
    ]  # fmt: skip
    text = response.content.decode()
    for private in ("secret-label", "secret-message", "private.person", "secret-metadata", "buyer-login",
                    str(payment.pk) + ",", "encrypted", payment.wallet.encrypted_secret[:20]):  # fmt: skip
        assert private not in text
    # The checkout page shows no email, metadata or user either (label and message are the Solana Pay
    # request's own, shown by the customer's wallet, so they may appear in its URL).
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    for private in ("private.person", "secret-metadata", "buyer-login", payment.wallet.encrypted_secret[:20]):
        assert private not in page


def test_unknown_references_look_alike_and_are_throttled_per_client(client, tokens, configure):
    configure(STATUS_RATE_LIMIT=3, STATUS_CHAIN_CHECK_SECONDS=0)
    payment = create_payment({"SOL": Decimal("0.5")})
    answers = [client.get(status_url(uuid.uuid4())) for _ in range(2)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json() == {"error": "No such payment."}
    assert client.get(status_url(payment)).status_code == 200  # the third of three this minute
    throttled = client.get(status_url(payment))
    assert throttled.status_code == 429 and 1 <= int(throttled["Retry-After"]) <= 61
    assert client.get(status_url(uuid.uuid4())).status_code == 429  # guesses are counted too
    other = client.get(status_url(payment), REMOTE_ADDR="192.0.2.7")  # another client has its own budget
    assert other.status_code == 200
    # Only a UUID is a reference: ids and other strings are not routed at all.
    assert client.get(f"/pay/{payment.pk}/status/", REMOTE_ADDR="192.0.2.8").status_code == 404


def test_a_paid_payment_settles_within_the_interval(client, shop, configure):
    interval = 3
    configure(STATUS_CHAIN_CHECK_SECONDS=interval)
    payment = shop.new_payment({"SOL": Decimal("0.5"), "USDC": Decimal("25")}, label="Order 7")

    checked_at = time.monotonic()
    first = client.get(status_url(payment)).json()
    assert first["status"] == "initiated"
    watch = OperationRun.objects.get()  # the checkout watch's run: every open checkout, one read
    assert (watch.kind, watch.trigger, watch.status) == ("recheck", "checkout", "succeeded")
    assert watch.parameters["ids"] is None and watch.parameters["hot_seconds"] == 60
    assert watch.counts["pending"] == 1 and watch.counts["scanned"] == 1
    assert watch.rpc_calls == {"getMultipleAccounts": 1}  # one batched read for the payment's accounts
    assert not watch.items.exists()  # nothing arrived: nothing to record
    payment.refresh_from_db()
    assert payment.checkout_seen_at is not None  # in the hot set

    shop.pay(payment, "USDC", 25_000_000)
    paid_at = time.monotonic()
    if paid_at - checked_at < interval - 1:  # (a slow machine may have taken the whole interval to pay)
        assert client.get(status_url(payment)).json()["status"] == "initiated"  # read just now: no read
        assert OperationRun.objects.get().rpc_calls == {"getMultipleAccounts": 1}

    while True:
        body = client.get(status_url(payment)).json()
        if body["settled"]:
            break
        assert time.monotonic() - paid_at < interval + 2, "not settled within the interval"
        time.sleep(0.2)
    assert body["status"] == "confirmed" and body["exception"] == "" and body["paid_token"] == "USDC"
    assert {o["token"]: o["amount_paid"] for o in body["options"]} == {"SOL": "0", "USDC": "25"}
    assert body["paid_signature"] and body["seconds_left"] == 0
    watch = OperationRun.objects.get()  # the second read was appended to the minute's run
    assert watch.counts["reconciled"] == 1 and watch.counts["scanned"] == 2
    assert watch.rpc_calls["getMultipleAccounts"] == 2
    item = watch.items.get()
    assert item.payment_id == payment.pk and item.amount == 25_000_000
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.paid_amount == 25_000_000
    # Settled: it leaves the hot set, and the next read has nothing to read.
    time.sleep(interval)
    client.get(status_url(payment))
    watch = OperationRun.objects.get()
    assert watch.counts["scanned"] == 2 and watch.rpc_calls["getMultipleAccounts"] == 2
    assert shop.balance(payment.wallet.address, "USDC") == 25_000_000


def test_a_partial_payment_shows_what_arrived_and_asks_for_the_rest(client, shop, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=5)
    payment = shop.new_payment({"PYUSD": Decimal("10"), "SOL": Decimal("0.5")})
    shop.pay(payment, "PYUSD", 4_500_000)
    body = client.get(status_url(payment)).json()
    assert body["status"] == "initiated" and not body["settled"]
    assert {o["token"]: (o["amount_paid"], o["amount_left"]) for o in body["options"]} == {
        "PYUSD": ("4.5", "5.5"),
        "SOL": ("0", "0.5"),  # each option in its own token: there is no exchange rate
    }
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    assert "Received 4.5 of 10 PYUSD." in page  # the page does not settle what is not paid
    assert '<h2 class="sp-amount" data-sp-amount="PYUSD">5.5 PYUSD</h2>' in page
    assert "the rest of 10 PYUSD" in page
    assert '<h2 class="sp-amount" data-sp-amount="SOL">0.5 SOL</h2>' in page
    urls = re.findall(r'href="(solana:[^"]+)"', page)
    assert {dict(parse_qsl(urlsplit(url).query))["amount"] for url in urls} == {"5.5", "0.5"}
    assert "amount=10" not in page


def test_at_the_deadline_the_payment_is_expired_before_any_expire_run(client, tokens, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=0)
    payment = create_payment({"SOL": Decimal("0.5")})
    body = client.get(status_url(payment)).json()
    assert body["expired"] is False and body["seconds_left"] >= 890
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    body = client.get(status_url(payment)).json()
    assert body["status"] == "initiated"  # the record waits for expire, which looks at the chain first
    assert body["expired"] is True and body["seconds_left"] == 0 and not body["settled"]
    assert not OperationRun.objects.filter(kind="expire").exists()
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    assert "This payment has expired." in page and "Waiting for your payment." not in page
    assert "data-sp-open hidden" in page and 'data-sp-state="expired"' in page


def test_a_paid_checkout_says_what_was_paid_and_links_the_transaction(client, shop, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=5, CLUSTER="custom&customUrl=http%3A%2F%2F127.0.0.1%3A8899")
    payment = shop.new_payment({"SOL": Decimal("0.5"), "USDC": Decimal("19.99")}, label="Order 42")
    _customer, signature = shop.pay(payment, "USDC", 19_990_000)
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    payment.refresh_from_db()
    assert payment.is_settled and payment.paid_signature == signature
    assert "Paid. Thank you!" in page
    assert "<dd data-sp-paid-label>Order 42</dd>" in page
    assert "<dd data-sp-paid-amount>19.99 USDC</dd>" in page
    link = f"https://explorer.solana.com/tx/{signature}?cluster=custom&amp;customUrl=http%3A%2F%2F127.0.0.1%3A8899"
    assert f'href="{link}"' in page and f">{signature}</a>" in page
    assert "data-sp-open hidden" in page


def test_the_panel_is_the_checkout_section_alone(client, tokens, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=0)
    payment = create_payment({"SOL": Decimal("0.5")})
    panel = client.get(reverse("solana_payments:checkout_panel", args=[payment.reference]))
    assert panel.status_code == 200 and panel["Cache-Control"].startswith("max-age=0")
    html = panel.content.decode().strip()
    assert html.startswith('<section class="sp-checkout" data-sp-checkout') and "<html" not in html
    assert f'data-sp-panel-url="/pay/{payment.reference}/panel/"' in html
    assert 'data-sp-key="initiated|||0"' in html  # the key checkout.js builds from the status endpoint
    assert client.get(reverse("solana_payments:checkout_panel", args=[uuid.uuid4()])).status_code == 404


def test_the_checkout_page_works_without_javascript(client, tokens, configure):
    configure(STATUS_CHAIN_CHECK_SECONDS=0)
    payment = create_payment({"SOL": Decimal("0.5"), "PYUSD": Decimal("12.5")}, label="Shop")
    page = client.get(reverse("solana_payments:checkout", args=[payment.reference]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") == 2 and html.count("solana:" + payment.wallet.address) == 2
    assert "0.5 SOL" in html and "12.5 PYUSD" in html
    assert payment.wallet.address in html and 'data-sp-copy="' in html
    assert "Waiting for your payment." in html and "Reload this page" in html
    assert 'role="status"' in html and 'aria-live="polite"' in html
    assert (
        "http://" not in html.replace("http://testserver", "") and "https://" not in html
    )  # no external asset
    assert "/static/solana_payments/checkout.js" in html and "/static/solana_payments/checkout.css" in html

    payment.status, payment.exception = PaymentStatus.EXPIRED, ""
    payment.save()
    html = client.get(reverse("solana_payments:checkout", args=[payment.reference])).content.decode()
    assert "This payment has expired." in html and "data-sp-open hidden" in html
    assert client.get(reverse("solana_payments:checkout", args=[uuid.uuid4()])).status_code == 404


def test_the_payment_admin_links_to_its_checkout_page(admin_client, tokens):
    payment = create_payment({"SOL": Decimal("0.5")})
    page = admin_client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk]))
    assert f'href="/pay/{payment.reference}/"' in page.content.decode()


def test_a_dead_node_costs_the_customer_seconds_not_minutes(client, tokens, configure):
    configure(RPC_URL="http://127.0.0.1:9", RPC_TIMEOUT=1.0, STATUS_CHAIN_CHECK_SECONDS=5)  # nothing listens
    payment = create_payment({"SOL": Decimal("0.5")})
    started = time.monotonic()
    response = client.get(status_url(payment))
    assert time.monotonic() - started < 8
    assert response.status_code == 200 and response.json()["status"] == "initiated"
    run = OperationRun.objects.get()
    assert (run.trigger, run.status) == ("checkout", "failed") and run.error
