"""The exceptions desk in the admin: refund and decision forms with their preview, the approval page."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from solana_payments import jobs
from solana_payments.models import OperationRun, Payment, RunStatus
from solana_payments.operations.base import run_operation

pytestmark = pytest.mark.django_db(transaction=True)


def staff(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def alice(django_user_model):
    return staff(django_user_model, "alice", "view_payment", "view_operationrun", "run_refund", "run_resolve")


@pytest.fixture
def bob(django_user_model):
    return staff(django_user_model, "bob", "view_payment", "view_operationrun", "approve_runs")


def underpaid(shop, configure):
    configure(HOLD_FLAGGED_FUNDS=("underpaid",))
    payment = shop.new_payment({"USDC": "25"}, label="Order 25", email="buyer@example.com")
    customer, _ = shop.pay(payment, "USDC", 10_000_000)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=5))
    run_operation("expire", trigger="schedule")
    return payment, customer


def test_refund_form_previews_then_asks_for_approval_and_bob_approves(shop, configure, client, alice, bob):
    payment, customer = underpaid(shop, configure)
    client.force_login(alice)
    page = client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk]))
    refund_url = reverse("admin:solana_payments_payment_refund", args=[payment.pk])
    assert refund_url in page.content.decode()

    bad = client.post(refund_url, {"amount": "", "to": "not-an-address", "reason": "x"})
    assert "is not a Solana address" in bad.content.decode()
    unexplained = client.post(refund_url, {"amount": "", "to": ""})
    assert "This field is required" in unexplained.content.decode()  # the approver is told why
    preview = client.post(refund_url, {"amount": "", "to": "", "reason": "customer  asked\nby mail"})
    text = preview.content.decode()
    assert "10 USDC" in text and str(customer.pubkey()) in text and "Ask for approval" in text
    assert 'class="button default" id="sp-desk-confirm"' in text  # the admin's primary button
    assert 'value="Preview again" class="sp-secondary"' in text
    assert shop.balance(customer.pubkey(), "USDC") == 0

    form = {"amount": "", "to": "", "reason": "customer  asked\nby mail", "post": "yes"}
    done = client.post(refund_url, form, follow=True)
    assert "awaits approval by a second person" in done.content.decode()
    run = OperationRun.objects.get(kind="refund", status=RunStatus.AWAITING_APPROVAL)
    assert run.requested_by == alice and run.parameters["reason"] == "customer asked by mail"

    approval_url = reverse("admin:solana_payments_operationrun_approval", args=[run.pk])
    assert client.get(approval_url).status_code == 403  # alice lacks approve_runs (and asked for it)

    client.force_login(bob)
    dashboard = client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert "1 run awaiting approval" in dashboard
    review = client.get(approval_url).content.decode()
    assert "10 USDC" in review and "Approve and run" in review
    # What Bob needs to judge it: why, and the payment's label, email, price and what it received.
    assert '<dd id="sp-request-reason">customer asked by mail</dd>' in review
    row = review[review.index('id="sp-approval-payments"') :]
    row = row[: row.index("</table>")]
    for shown in ("Order 25", "buyer@example.com", "<td>25 USDC</td>", "<td>10 USDC</td>", "underpaid"):
        assert shown in row, shown
    assert (
        'class="button default" id="sp-approve"' in review
        and 'class="button default" id="sp-reject"' in review
    )
    client.post(approval_url, {"decision": "approve"})
    run.refresh_from_db()
    assert (run.status, run.decided_by) == (RunStatus.QUEUED, bob)
    jobs.execute(run.pk)
    assert shop.balance(customer.pubkey(), "USDC") == 10_000_000
    page = client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk])).content.decode()
    refund = Payment.objects.get(pk=payment.pk).refunds.get()
    assert refund.signature[:8] in page and "(refunded)" in page


def test_the_requester_is_told_to_find_someone_else(shop, configure, client, django_user_model):
    payment, _ = underpaid(shop, configure)
    both = staff(django_user_model, "dora", "view_operationrun", "run_refund", "approve_runs")
    run = jobs.enqueue("refund", ids=[payment.pk], user=both, trigger="admin_action")
    client.force_login(both)
    url = reverse("admin:solana_payments_operationrun_approval", args=[run.pk])
    assert "another user with the approve_runs permission must decide" in client.get(url).content.decode()
    client.post(url, {"decision": "approve"})
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL


def test_accept_form_records_the_decision_on_the_payment(shop, configure, client, alice):
    payment, _ = underpaid(shop, configure)
    client.force_login(alice)
    url = reverse("admin:solana_payments_payment_resolve", args=[payment.pk])
    missing = client.post(url, {"decision": "accept", "reason": ""})
    assert "This field is required" in missing.content.decode()
    short = client.post(url, {"decision": "accept", "reason": "regular customer"}).content.decode()
    assert "short of the price" in short and "accept the shortfall explicitly" in short
    assert "Accept although short of the price" in short
    accepted = {"decision": "accept", "reason": "regular customer", "accept_short": "on"}
    preview = client.post(url, accepted)
    assert "accepted by alice: regular customer" in preview.content.decode()
    client.post(url, {**accepted, "post": "yes"})
    run = OperationRun.objects.get(kind="resolve", parameters__dry_run=False)
    assert run.status == RunStatus.QUEUED  # a decision moves no money: it is not held
    jobs.execute(run.pk)
    payment.refresh_from_db()
    assert payment.status == "confirmed"
    page = client.get(reverse("admin:solana_payments_payment_change", args=[payment.pk])).content.decode()
    assert "accepted by alice: regular customer" in page


def test_the_dashboard_shows_the_refund_wallet_and_warns_when_it_is_low(shop, configure, admin_client):
    from solders.keypair import Keypair

    keypair = Keypair()
    shop.localnet.airdrop(keypair.pubkey(), 50_000_000)
    configure(REFUND_WALLET_KEYPAIR=list(bytes(keypair)), DASHBOARD_CACHE_SECONDS=0)
    page = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert "0.05 SOL" in page and "low: refunds of swept payments may fail" in page
    shop.localnet.airdrop(keypair.pubkey(), 950_000_000)
    page = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    assert "1 SOL" in page and "low: refunds" not in page
    assert str(bytes(keypair)) not in page and str(keypair) not in page  # the secret never shows


def test_the_dashboard_lists_flagged_payments_as_work_to_do(tokens, configure, admin_client):
    from solana_payments.payments import create_payment

    configure(DASHBOARD_CACHE_SECONDS=0)
    flagged = {"underpaid": 3, "overpaid": 2, "paid_late": 1}
    for exception, count in flagged.items():
        for _ in range(count):
            payment = create_payment({"SOL": "0.5"})
            Payment.objects.filter(pk=payment.pk).update(exception=exception)
    refunded = create_payment({"SOL": "0.5"})  # refunded already: no longer work
    Payment.objects.filter(pk=refunded.pk).update(exception="overpaid", refunded_amount=1)

    page = admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    notices = page[page.index('class="messagelist sp-desk-notices"') :]
    notices = notices[: notices.index("</ul>")]
    assert notices.count('<li class="warning">') == 3 and 'class="success"' not in notices
    assert 'class="info"' not in notices
    assert "3 underpaid payments not refunded" in notices
    assert "2 overpaid payments not refunded" in notices
    assert "1 paid late payment not refunded" in notices
    assert "?exception__exact=paid_late" in notices
