"""A real browser at the exceptions desk: an underpaid payment is refunded with a second person's approval.

Alice finds the underpaid payment from the dashboard, opens its refund form, previews the refund and asks
for it; Bob, who holds ``approve_runs``, finds the run awaiting approval on the dashboard, reviews the same
preview and approves it; a ``qcluster`` process runs it against the localnet, and the payment page shows
the refund with its signature. Screenshots go to ``test-artifacts/`` (the docs use them).
"""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from solana_payments.models import OperationRun, Payment, RunStatus
from solana_payments.operations.base import run_operation
from tests.support.browser import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def staff(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def underpaid(shop, configure):
    """10 of 25 USDC arrived before the deadline; the shop holds underpaid money in the wallet."""
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment = shop.new_payment({"USDC": "25"}, label="Order 25", email="buyer@example.com")
    customer, _ = shop.pay(payment, "USDC", 10_000_000)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=5))
    run_operation("expire", trigger="schedule")
    return payment, customer


def log_in(page, live_server, user, next_url):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{next_url}")


@pytest.mark.usefixtures("chromium", "cluster")
def test_an_operator_refunds_an_underpaid_payment_and_a_second_user_approves(
    shop, underpaid, django_user_model, live_server, request
):
    ARTIFACTS.mkdir(exist_ok=True)
    payment, customer = underpaid
    page = request.getfixturevalue("browser_page")  # after the customer's transfer: see unnoticed_payment
    views = ("view_payment", "view_operationrun", "view_onetimewallet")
    alice = staff(django_user_model, "alice", *views, "run_refund", "run_resolve")
    bob = staff(django_user_model, "bob", *views, "approve_runs")
    dashboard = "/admin/solana_payments/dashboard/"

    log_in(page, live_server, alice, dashboard)
    assert "1 underpaid payment not refunded" in page.inner_text("#sp-underpaid")
    # Work to do is a warning, styled as the admin styles its own warning messages, never as good news.
    notice_colour = page.eval_on_selector(
        "#sp-underpaid", "a => getComputedStyle(a.parentNode).backgroundColor"
    )
    warning_colour = page.evaluate(
        """() => { const ul = document.createElement('ul'); ul.className = 'messagelist';
                   const li = document.createElement('li'); li.className = 'warning'; ul.append(li);
                   document.body.append(ul); const c = getComputedStyle(li).backgroundColor; ul.remove();
                   return c; }"""
    )
    success_colour = page.evaluate(
        """() => { const ul = document.createElement('ul'); ul.className = 'messagelist';
                   const li = document.createElement('li'); li.className = 'success'; ul.append(li);
                   document.body.append(ul); const c = getComputedStyle(li).backgroundColor; ul.remove();
                   return c; }"""
    )
    assert notice_colour == warning_colour != success_colour
    page.click("#sp-underpaid")
    page.click(f"#result_list a[href*='/payment/{payment.pk}/change/']")
    page.click("a.sp-desk-link:text('Refund')")
    page.wait_for_selector("#sp-desk-preview")
    page.fill("#id_reason", "The customer wrote: the shop sold out")
    page.click("#sp-desk-preview")  # amount and address empty: the suggested amount, to the payer
    page.wait_for_selector("#sp-preview-amounts")
    assert page.inner_text("#sp-preview-amounts") == "10 USDC"
    assert str(customer.pubkey()) in page.inner_text(".sp-items-would-do")
    page.screenshot(path=str(ARTIFACTS / "desk-refund-preview.png"), full_page=True)
    page.click("#sp-desk-confirm")
    page.wait_for_selector("ul.messagelist")
    assert "awaits approval by a second person" in page.inner_text("ul.messagelist")
    run = OperationRun.objects.get(kind="refund", parameters__dry_run=False)
    assert run.status == RunStatus.AWAITING_APPROVAL and run.requested_by == alice

    log_in(page, live_server, bob, dashboard)
    page.click("#sp-awaiting-approval")
    page.click(f"#result_list a[href*='/operationrun/{run.pk}/change/']")
    page.click("#sp-review")
    page.wait_for_selector("#sp-approve")
    assert page.inner_text("#sp-preview-amounts") == "10 USDC"
    assert page.inner_text("#sp-request-reason") == "The customer wrote: the shop sold out"
    payments = page.inner_text("#sp-approval-payments")
    assert "Order 25" in payments and "buyer@example.com" in payments and "25 USDC" in payments
    page.screenshot(path=str(ARTIFACTS / "desk-approval.png"), full_page=True)
    page.click("#sp-approve")
    page.wait_for_selector("ul.messagelist")
    assert "approved" in page.inner_text("ul.messagelist")

    deadline = timezone.now() + datetime.timedelta(seconds=60)
    while timezone.now() < deadline:
        run.refresh_from_db()
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            break
        page.wait_for_timeout(300)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert shop.balance(customer.pubkey(), "USDC") == 10_000_000
    assert shop.balance(payment.wallet.address, "USDC") == 0

    refund = Payment.objects.get(pk=payment.pk).refunds.get()
    page.goto(f"{live_server.url}/admin/solana_payments/payment/{payment.pk}/change/")
    refunds = page.inner_text("#refunds-group")
    assert "landed" in refunds and refund.signature[:8] in refunds and "10 USDC" in refunds
    assert "(refunded)" in page.inner_text(".field-refund_display")
    page.screenshot(path=str(ARTIFACTS / "desk-payment-refunded.png"), full_page=True)


def test_in_the_demo_a_swept_payment_is_refunded_from_its_refund_wallet(
    shop, configure, django_user_model, live_server, request, tmp_path
):
    """The demo's settings name a refund wallet and the demo funds it: after the scheduled sweep has
    emptied the one-time wallet, a refund asked for and approved in the browser still lands."""
    from solana_payments.chain.keypairs import parse_keypair
    from solana_payments.management.commands.solana_payments_demo import Command
    from tests.support.demo import demo_refund_wallet_setting

    setting = demo_refund_wallet_setting(tmp_path)
    configure(REFUND_WALLET_KEYPAIR=setting)
    refund_wallet = parse_keypair(setting, name="REFUND_WALLET_KEYPAIR").pubkey()
    Command().fund_refund_wallet(shop.localnet)  # what `make demo` does on every start
    payment = shop.new_payment({"USDC": "25"}, label="Order 26", email="buyer@example.com")
    customer, _ = shop.pay(payment, "USDC", 10_000_000)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=5))
    run_operation("expire", trigger="schedule")
    assert run_operation("sweep", trigger="schedule").counts["swept"] == 1  # the scheduled sweep
    assert shop.balance(payment.wallet.address, "USDC") == 0
    request.getfixturevalue("chromium")
    request.getfixturevalue("cluster")  # started with the refund wallet configured
    page = request.getfixturevalue("browser_page")
    views = ("view_payment", "view_operationrun", "view_onetimewallet")
    alice = staff(django_user_model, "alice", *views, "run_refund")
    bob = staff(django_user_model, "bob", *views, "approve_runs")

    log_in(page, live_server, alice, f"/admin/solana_payments/payment/{payment.pk}/refund/")
    page.fill("#id_reason", "Sold out")
    page.click("#sp-desk-preview")
    page.wait_for_selector("#sp-preview-amounts")
    assert page.inner_text("#sp-preview-amounts") == "10 USDC"
    assert "from the refund wallet" in page.inner_text(".sp-items-would-do")
    page.click("#sp-desk-confirm")
    page.wait_for_selector("ul.messagelist")
    run = OperationRun.objects.get(kind="refund", parameters__dry_run=False)

    log_in(page, live_server, bob, f"/admin/solana_payments/operationrun/{run.pk}/approval/")
    page.click("#sp-approve")
    page.wait_for_selector("ul.messagelist")
    deadline = timezone.now() + datetime.timedelta(seconds=60)
    while timezone.now() < deadline:
        run.refresh_from_db()
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            break
        page.wait_for_timeout(300)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert shop.balance(customer.pubkey(), "USDC") == 10_000_000
    assert shop.balance(refund_wallet, "USDC") == 10_000 * 10**6 - 10_000_000
