"""A real browser on the demo's checkout page: the customer's page turns to paid by itself.

Debian's Chromium (Playwright, never a downloaded browser) opens a payment's checkout page at the demo's
``/pay/<reference>/``; in a second tab an operator presses the demo's "Simulate customer payment"
button, which pays the one-time wallet for real on the local chain. The checkout page, polling the
status endpoint, shows the payment as paid within seconds, without being reloaded.
"""

import time

import pytest

from solana_payments.models import OperationRun, PaymentStatus
from tests.support.browser import ARTIFACTS

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
