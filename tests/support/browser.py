"""Debian's Chromium driven by Playwright: fixtures for the browser tests (a pytest plugin of the suite)."""

from pathlib import Path

import pytest

from tests.support.services import require_chromium

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture
def chromium():
    """Debian's Chromium, or a skip (a failure in CI) before anything else is started."""
    return require_chromium()


@pytest.fixture
def browser_page(chromium, tmp_path, monkeypatch):
    from django.db import connections
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
            # Django keeps connections per context, and Playwright's sync API gives the test a context of its
            # own: the connection its ORM calls opened is closed here, or PostgreSQL cannot drop the test
            # database at the end of the session.
            connections.close_all()
