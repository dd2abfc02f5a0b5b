"""A real browser: a preview is marked in the runs list, hidden until asked for, and not in the metrics.

Debian's Chromium previews a sweep from the dashboard (a recorded dry run), finds the runs list without it,
shows it with the previews filter (marked in the preview column), then scrapes the metrics endpoint as
the logged-in staff user: the preview is no run and no success there.
"""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solana_payments.models import OperationRun
from tests.support.browser import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def settled_payment(shop):
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    return payment


def test_a_preview_is_marked_and_left_out_of_the_metrics(
    chromium, settled_payment, admin_user, live_server, browser_page, configure
):
    configure(METRICS_CACHE_SECONDS=0, DASHBOARD_CACHE_SECONDS=0)
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page
    dashboard = "/admin/solana_payments/dashboard/"
    page.goto(f"{live_server.url}/admin/login/?next={dashboard}")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")  # pytest-django's admin_user
    page.click("input[type=submit]")
    page.wait_for_url(f"**{dashboard}")

    page.click("input[value='Run recheck…']")
    page.wait_for_selector("#sp-preview-records")
    preview = OperationRun.objects.get()
    assert preview.parameters["dry_run"] is True and preview.status == "succeeded"

    runs = f"{live_server.url}/admin/solana_payments/operationrun/"
    page.goto(runs)
    assert (
        page.locator("#result_list").count() == 0
        or page.locator(f"#result_list a[href*='/{preview.pk}/']").count() == 0
    )
    page.click("#changelist-filter a:text('shown too')")
    row = page.locator("#result_list tbody tr", has=page.locator(f"a[href*='/operationrun/{preview.pk}/']"))
    assert row.locator("td.field-preview_display img").get_attribute("alt") == "True"
    page.screenshot(path=str(ARTIFACTS / "runs-previews-shown.png"), full_page=True)

    metrics = page.evaluate("url => fetch(url).then(r => r.text())", "/pay/metrics/")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics)
        for s in family.samples
    }
    assert ("solana_payments_runs", (("kind", "recheck"), ("status", "succeeded"))) not in samples
    assert not [key for key in samples if key[0] == "solana_payments_last_success_timestamp_seconds"]
