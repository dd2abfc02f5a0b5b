"""A real browser on the dashboard, with a real django-q2 cluster working the queue.

Debian's Chromium (driven by Playwright, never a downloaded browser) logs in, presses "Run recheck…",
confirms on the preview page, and watches the run's progress bar reach 100% while a ``qcluster``
process, sharing the test database file, runs the job against the localnet. Screenshots are saved in
``test-artifacts/`` at the repository root.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from solana_payments.models import OperationRun, RunStatus

from .services import require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The cluster's settings: the test settings, pointed at this test's database file, localnet and cache.
CLUSTER_SETTINGS = """
import json, os
from tests.settings import *  # noqa: F401,F403

DATABASES["default"]["NAME"] = os.environ["SP_BROWSER_DB"]
SOLANA_PAYMENTS = json.loads(os.environ["SP_BROWSER_SOLANA_PAYMENTS"])
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": os.environ["SP_BROWSER_CACHE"]}}
"""


@pytest.fixture
def shared_cache(settings, tmp_path):
    """django-q2 reports its clusters through the cache: one the web process and the cluster share."""
    location = tmp_path / "cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(location),
        }
    }
    return location


@pytest.fixture
def cluster(shop, shared_cache, settings, tmp_path):
    """A real ``manage.py qcluster`` process on the test database; stopped, by its own id, at the end."""
    (tmp_path / "sp_browser_settings.py").write_text(CLUSTER_SETTINGS)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sp_browser_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SP_BROWSER_DB": connection.settings_dict["NAME"],
        "SP_BROWSER_SOLANA_PAYMENTS": json.dumps(settings.SOLANA_PAYMENTS),
        "SP_BROWSER_CACHE": str(shared_cache),
    }
    log = tmp_path / "qcluster.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share its process group, so they stop with it
        )
    try:
        wait_for_cluster(process, log)
        yield process
    finally:
        stop(process)


def wait_for_cluster(process, log, timeout=30):
    from django_q.brokers import Broker
    from django_q.status import Stat

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"qcluster exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if any(stat.workers for stat in Stat.get_all(broker=Broker())):  # stats live in the cache
            return
        time.sleep(0.2)
    pytest.fail(f"qcluster did not report within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process):
    """SIGTERM lets the cluster stop its workers; then whatever is left of the process group this test
    started (by its id) is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


@pytest.fixture
def chromium():
    """Debian's Chromium, or a skip (a failure in CI) before anything else is started."""
    return require_chromium()


@pytest.fixture
def browser_page(chromium, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM calls are
    # plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()


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
