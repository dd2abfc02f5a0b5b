"""A real browser on the demo's checkout page: the customer's page turns to paid by itself.

Debian's Chromium (Playwright, never a downloaded browser) opens a payment's checkout page at the demo's
``/pay/<reference>/``; in a second tab an operator presses the demo's "Simulate customer payment"
button, which pays the one-time wallet for real on the local chain. The checkout page, polling the
status endpoint, shows the payment as paid within seconds, without being reloaded.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from solana_payments.models import OperationRun, PaymentStatus
from tests.support.browser import ARTIFACTS
from tests.support.qr import read_qr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_checkout(shop, settings, configure):
    settings.DEBUG = True  # the simulate button exists in the demo only (DEBUG and the local chain)
    configure(STATUS_CHAIN_CHECK_SECONDS=2, CHECKOUT_POLL_SECONDS=1)
    return shop.new_payment({"SOL": "0.5", "USDC": "25"}, label="Demo order", email="buyer@example.com")


def test_the_checkout_page_turns_to_paid_without_reloading(
    chromium, demo_checkout, admin_user, live_server, browser_page
):
    payment, page = demo_checkout, browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{live_server.url}/pay/{payment.reference}/")
    status = page.locator("[data-sp-status-text]")
    assert status.inner_text() == "Waiting for your payment."
    assert page.locator(".sp-option svg").count() == 2
    assert (
        page.locator("a.sp-button")
        .first.get_attribute("href")
        .startswith(f"solana:{payment.wallet.address}?")
    )
    assert page.locator("[data-sp-copy]").is_visible()  # the copy button appears with JavaScript
    page.wait_for_function(
        "() => /^1[45]:[0-5][0-9]$/.test(document.querySelector('[data-sp-time-left]').textContent)"
    )  # fmt: skip
    page.evaluate("window.spNotReloaded = true")
    page.set_viewport_size({"width": 390, "height": 844})  # phone width
    page.screenshot(path=str(ARTIFACTS / "checkout-phone.png"), full_page=True)

    operator = page.context.new_page()
    operator.goto(f"{live_server.url}/admin/login/?next=/admin/")
    operator.fill("#id_username", admin_user.username)
    operator.fill("#id_password", "password")  # pytest-django's admin_user
    operator.click("input[type=submit]")
    operator.wait_for_url("**/admin/")
    operator.goto(f"{live_server.url}/admin/solana_payments/payment/{payment.pk}/simulate-payment/")
    operator.select_option("#id_token", "USDC")
    operator.fill("#id_amount", "25")
    operator.click("input[type=submit]")
    operator.wait_for_selector("ul.messagelist .success")
    paid_at = time.monotonic()

    page.bring_to_front()
    page.wait_for_function(
        "() => document.querySelector('[data-sp-status-text]').textContent.startsWith('Paid')", timeout=10_000
    )
    waited = time.monotonic() - paid_at
    assert waited < 2 + 1 + 3, f"the page showed the payment paid only after {waited:.1f} s"
    assert page.evaluate("window.spNotReloaded") is True  # the same page: it was never reloaded
    assert status.inner_text() == "Paid. Thank you!"
    assert not page.locator("[data-sp-open]").is_visible()  # the options and the countdown are gone
    page.screenshot(path=str(ARTIFACTS / "checkout-paid.png"), full_page=True)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CONFIRMED and payment.paid_amount == 25_000_000
    checks = OperationRun.objects.filter(kind="recheck", trigger="checkout")
    assert checks.filter(counts__reconciled=1).count() == 1  # settled by the status endpoint's recheck run


def pay_outside_the_browser_loop(shop, payment, symbol, amount):
    """A customer's transfer, sent from a thread of its own: Playwright's sync API holds this one's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(shop.pay, payment, symbol, amount).result()


def test_at_the_deadline_the_page_says_expired_without_any_run(
    chromium, shop, configure, live_server, browser_page
):
    configure(STATUS_CHAIN_CHECK_SECONDS=1, CHECKOUT_POLL_SECONDS=3)
    payment = shop.new_payment({"SOL": "0.5", "USDC": "25"}, expires_in=6)
    page = browser_page
    page.goto(f"{live_server.url}/pay/{payment.reference}/")
    assert page.locator("[data-sp-status-text]").inner_text() == "Waiting for your payment."
    assert page.locator(".sp-option svg").first.is_visible()

    page.wait_for_function(
        "() => document.querySelector('[data-sp-status-text]').textContent.trim() === "
        "'This payment has expired.'",
        timeout=15_000,
    )
    late = (timezone.now() - payment.expires_at).total_seconds()
    assert late < 2, f"the page said expired {late:.1f} s after the deadline"
    assert not page.locator(".sp-option svg").first.is_visible()  # no QR code, no address to pay
    assert not page.locator("[data-sp-address]").is_visible()
    # The server agrees from the deadline on, and the page settles on its markup.
    page.wait_for_selector("[data-sp-checkout][data-sp-state=expired] .sp-status-expired")
    status = page.evaluate("url => fetch(url).then(r => r.json())", f"/pay/{payment.reference}/status/")
    assert status["expired"] is True and status["seconds_left"] == 0 and status["status"] == "initiated"
    assert not OperationRun.objects.filter(kind="expire").exists()
    page.screenshot(path=str(ARTIFACTS / "checkout-expired.png"), full_page=True)


def test_after_a_partial_payment_the_page_and_its_qr_code_ask_for_the_rest(
    chromium, shop, configure, live_server, browser_page
):
    configure(STATUS_CHAIN_CHECK_SECONDS=1, CHECKOUT_POLL_SECONDS=1)
    payment = shop.new_payment({"SOL": "0.5", "USDC": "19.99"}, label="Order 19")
    page = browser_page
    page.goto(f"{live_server.url}/pay/{payment.reference}/")
    page.evaluate("window.spNotReloaded = true")
    usdc = page.locator("li.sp-option", has=page.locator("[data-sp-amount=USDC]"))
    assert usdc.locator("h2").inner_text() == "19.99 USDC"
    assert "amount=19.99&" in read_qr(usdc.locator("svg").evaluate("svg => svg.outerHTML"))

    pay_outside_the_browser_loop(shop, payment, "USDC", 10_000_000)  # 10 of 19.99 USDC
    page.wait_for_function(
        "() => document.querySelector('[data-sp-status-text]').textContent.startsWith('Received')",
        timeout=10_000,
    )
    assert page.locator("[data-sp-status-text]").inner_text() == "Received 10 of 19.99 USDC."
    usdc = page.locator("li.sp-option", has=page.locator("[data-sp-amount=USDC]"))
    assert usdc.locator("h2").inner_text() == "9.99 USDC"
    scanned = read_qr(usdc.locator("svg").evaluate("svg => svg.outerHTML"))
    assert scanned.startswith(
        f"solana:{payment.wallet.address}?amount=9.99&spl-token={shop.tokens['USDC'].mint}"
    )
    assert usdc.locator("a.sp-button").get_attribute("href") == scanned
    sol = page.locator("li.sp-option", has=page.locator("[data-sp-amount=SOL]"))
    assert sol.locator("h2").inner_text() == "0.5 SOL"  # its own token: nothing of it arrived
    assert "amount=0.5&" in read_qr(sol.locator("svg").evaluate("svg => svg.outerHTML"))
    assert page.evaluate("window.spNotReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "checkout-partly-paid.png"), full_page=True)

    _customer, signature = pay_outside_the_browser_loop(shop, payment, "USDC", 9_990_000)  # the rest
    page.wait_for_function(
        "() => document.querySelector('[data-sp-status-text]').textContent.startsWith('Paid')", timeout=10_000
    )
    assert page.locator("[data-sp-paid-label]").inner_text() == "Order 19"
    assert page.locator("[data-sp-paid-amount]").inner_text() == "19.99 USDC"
    link = page.locator("a[data-sp-paid-transaction]")
    assert link.inner_text() == signature and signature in link.get_attribute("href")
    assert not page.locator("[data-sp-open]").is_visible()
    page.screenshot(path=str(ARTIFACTS / "checkout-paid-details.png"), full_page=True)
