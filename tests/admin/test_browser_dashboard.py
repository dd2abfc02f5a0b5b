"""A real browser on the dashboard, with a real django-q2 cluster working the queue.

Debian's Chromium (driven by Playwright, never a downloaded browser) logs in, presses "Run recheck…",
confirms on the preview page, and watches the run's progress bar reach 100% while a ``qcluster``
process, sharing the test database file, runs the job against the localnet. Screenshots are saved in
``test-artifacts/`` at the repository root.
"""

import pytest

from solana_payments.models import OperationRun, RunStatus
from tests.support.browser import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def unnoticed_payment(shop):
    """Paid on chain, but the shop never noticed: recheck will. (Made before the browser starts: the
    customer's transfer runs its own event loop, which cannot nest in Playwright's.)"""
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    return payment


def test_run_recheck_from_the_dashboard_and_watch_it_finish(
    chromium, unnoticed_payment, admin_user, cluster, live_server, browser_page
):
    ARTIFACTS.mkdir(exist_ok=True)
    payment, page = unnoticed_payment, browser_page

    dashboard = "/admin/solana_payments/dashboard/"
    page.goto(f"{live_server.url}/admin/login/?next={dashboard}")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")  # pytest-django's admin_user
    page.click("input[type=submit]")
    page.wait_for_url(f"**{dashboard}")
    assert "No django-q2 cluster is running" not in page.content()  # the cluster reports here

    page.click("input[value='Run recheck…']")
    page.wait_for_selector("#sp-preview-records")
    assert page.inner_text("#sp-preview-records") == "1"
    assert "paid 0.5 SOL" in page.inner_text(".sp-items-would-do")
    page.screenshot(path=str(ARTIFACTS / "confirmation.png"), full_page=True)

    page.click("input[value='Yes, run recheck']")
    page.wait_for_url(f"**{dashboard}")
    run = OperationRun.objects.filter(kind="recheck", parameters__dry_run=False).get()
    assert run.trigger == "dashboard" and run.requested_by == admin_user
    assert f"run #{run.pk}" in page.inner_text("ul.messagelist")

    row = f"tr[data-run-id='{run.pk}']"
    page.wait_for_function(
        """(row) => {
            const bar = document.querySelector(row + " progress");
            const status = document.querySelector(row + " .sp-run-status");
            return bar && bar.value === 100 && status.textContent.trim() === "succeeded";
        }""",
        arg=row,
        timeout=60_000,
    )
    assert page.inner_text(f"#sp-tile-recheck [data-run-status='{run.pk}']") == "succeeded"
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.emulate_media(color_scheme="dark")  # the admin's dark mode: our colours are its variables
    page.screenshot(path=str(ARTIFACTS / "dashboard-dark.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # phone width
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.counts["reconciled"] == 1 and run.task_id
    payment.refresh_from_db()
    assert payment.is_settled and payment.paid_amount == 500_000_000
