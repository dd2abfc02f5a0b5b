"""A real browser at 1,280 x 800: the admin pages an operator reads fit their content box.

Debian's Chromium opens the payments and runs lists, a payment page, a run page with 100 items and the
dashboard, and finds no element wider than the admin's content area (``scrollWidth`` of each element at
most the ``clientWidth`` of ``#content``). Screenshots go to ``test-artifacts/`` (the docs use them).
"""

import pytest

from solana_payments.models import OperationItem, OperationRun, Payment
from tests.support.browser import ARTIFACTS
from tests.support.factories import make_payments

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOO_WIDE = """() => {
  const box = document.querySelector('#content');
  const limit = box.clientWidth;
  const wide = [];
  for (const el of box.querySelectorAll('*')) {
    const width = el.getBoundingClientRect().width;
    if (width > limit + 1 || el.scrollWidth > limit + 1) {
      wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${Math.round(width)}/${el.scrollWidth}`);
    }
  }
  return {limit, document: document.documentElement.scrollWidth, viewport: window.innerWidth, wide};
}"""


@pytest.fixture
def records(shop):
    payments, _ = make_payments(40, shop.tokens)
    for n, payment in enumerate(payments):
        Payment.objects.filter(pk=payment.pk).update(
            label=f"Order #{1000 + n} (a customer's long order name)", email=f"customer{n}@example.com"
        )
    paid = payments[0]
    Payment.objects.filter(pk=paid.pk).update(
        status="confirmed", paid_token=shop.tokens["USDC"], paid_amount=25_000_000, paid_signature="5" * 88
    )
    run = OperationRun.objects.create(
        kind="sweep",
        trigger="schedule",
        status="succeeded",
        total=100,
        done=100,
        counts={"scanned": 100, "swept": 100, "skipped": 0, "failed": 0},
        rpc_calls={"getMultipleAccounts": 1, "getLatestBlockhash": 12, "sendTransaction": 12},
        fees_paid=85_000,
    )
    OperationItem.objects.bulk_create(
        OperationItem(
            run=run,
            payment=payments[n % 40],
            wallet=payments[n % 40].wallet,
            outcome="done",
            reason=f"swept 25 USDC and 0.002039 SOL of rent to {payments[n % 40].wallet.address} in one transaction",
            signature="4" * 88,
            token=shop.tokens["USDC"],
            amount=25_000_000,
            destination=payments[(n + 1) % 40].wallet.address,
            fee=5000,
            rent=2_039_280,
        )
        for n in range(100)
    )
    return paid, run


PAGES = {
    "payments": "/admin/solana_payments/payment/",
    "runs": "/admin/solana_payments/operationrun/",
    "dashboard": "/admin/solana_payments/dashboard/",
}


def test_admin_pages_fit_their_content_box_at_1280(chromium, records, admin_user, live_server, browser_page):
    ARTIFACTS.mkdir(exist_ok=True)
    paid, run = records
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")  # pytest-django's admin_user
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")

    pages = {
        **PAGES,
        "payment": f"/admin/solana_payments/payment/{paid.pk}/change/",
        "run": f"/admin/solana_payments/operationrun/{run.pk}/change/",
    }
    found = {}
    for name, path in pages.items():
        page.goto(live_server.url + path)
        result = page.evaluate(TOO_WIDE)
        found[name] = result["wide"][:5]
        page.screenshot(path=str(ARTIFACTS / f"width-{name}.png"), full_page=False)
    assert not any(found.values()), found
