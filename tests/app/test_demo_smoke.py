"""`make demo`'s command, end to end: it starts, seeds, serves the admin, runs a recheck on its own
worker, and stops everything cleanly on Ctrl-C."""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.demo import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
# Slow, and still run on the newest Python and Django in CI (the `demo` mark), so `make demo` is known to work
# on both ends of the supported versions.
pytestmark = [pytest.mark.slow, pytest.mark.demo]


class Browser:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.read().decode()

    def post(self, path, data):
        page = self.get(path)[1] if "csrf" not in data else ""
        token = data.pop("csrf", None) or re.search(
            r'name="csrfmiddlewaretoken" value="([^"]+)"', page
        ).group(1)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        with self.opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()


def test_the_demo_runs_and_stops_cleanly(tmp_path):
    chain = free_port(span=2)
    web = free_port(avoid=(chain, chain + 1))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="demo.settings",
        SOLANA_PAYMENTS_DEMO_DIR=str(tmp_path),
        SOLANA_PAYMENTS_RPC_URL=f"http://127.0.0.1:{chain}",
        PYTHONUNBUFFERED="1",
    )
    log = open(tmp_path / "demo.log", "w+")
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "solana_payments_demo", "--addr", f"127.0.0.1:{web}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def password():
            log.seek(0)
            found = re.search(r"user 'admin', password '([^']+)'", log.read())
            assert demo.poll() is None, open(tmp_path / "demo.log").read()
            return found and found.group(1)

        secret = wait_for(password, 120, "the demo to print its login")
        browser = Browser(f"http://127.0.0.1:{web}")
        wait_for(lambda: _answers(browser, "/admin/login/"), 60, "the admin login page")
        status, page = browser.post("/admin/login/?next=/admin/", {"username": "admin", "password": secret})
        assert status == 200 and "Site administration" in page

        status, payments = browser.get("/admin/solana_payments/payment/?all=")
        assert "60 payments" in payments
        status, dashboard = browser.get("/admin/solana_payments/dashboard/")
        assert status == 200 and "Operations dashboard" in dashboard

        # The demo includes the app's URLs: an open payment's checkout page and its status endpoint.
        log.seek(0)
        checkout = re.search(r"checkout: +http://[^/\s]+(/pay/[0-9a-f-]{36}/)", log.read()).group(1)
        status, page = browser.get(checkout)
        assert status == 200 and "Pay with Solana" in page and page.count("<svg") >= 1
        assert " EUR" in page and "sp-worth" in page  # the shop prices in euros, from the chain's feeds
        status, body = browser.get(checkout + "status/")
        assert status == 200 and json.loads(body)["status"] == "initiated"

        def runs():
            return json.loads(browser.get("/admin/solana_payments/dashboard/status.json")[1])["runs"]

        seen = {r["id"] for r in runs()}
        browser.post(
            "/admin/solana_payments/operationrun/run/recheck/",
            {"all": "1", "trigger": "dashboard", "post": "yes"},
        )
        (queued,) = [r for r in runs() if r["id"] not in seen]
        assert queued["kind"] == "recheck"

        def finished():
            run = next(r for r in runs() if r["id"] == queued["id"])
            return run if run["finished"] else None

        run = wait_for(finished, 90, "the demo's worker to run the queued recheck")
        assert run["status"] == "succeeded" and run["percent"] == 100
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
        log.close()
    output = (tmp_path / "demo.log").read_text()
    assert "Stopped. The chain was saved" in output, output[-2000:]
    assert (tmp_path / "localnet-state.pickle").exists()
    assert not _children_alive(demo.pid)

    # a second run reuses the database and the chain: nothing is seeded again, the balances are there
    second = subprocess.run(
        [sys.executable, "manage.py", "recheck_initiated_solana_payments", "--dry-run", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode != 0  # no chain is running now: the command says so and changes nothing
    assert "unavailable" in second.stderr
    again = subprocess.Popen(
        [sys.executable, "manage.py", "solana_payments_demo", "--addr", f"127.0.0.1:{web}", "--no-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        for line in again.stdout:
            lines.append(line)
            if "The demo is ready" in line:
                break
        text = "".join(lines)
        assert "Local chain restored" in text and "Seeding" not in text, text
        check = subprocess.run(
            [sys.executable, "manage.py", "send_solana_payments_from_one_time_wallets", "--dry-run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        summary = check.stdout.strip().splitlines()[-1]
        # the settled wallets still hold their funds on the restored chain: all of them would be swept
        scanned, swept = map(int, re.search(r"scanned=(\d+) swept=(\d+)", summary).groups())
        assert scanned == swept > 0, summary
    finally:
        os.killpg(again.pid, signal.SIGINT)
        again.wait(timeout=60)


def _answers(browser, path):
    try:
        return browser.get(path)[0] == 200
    except OSError:
        return False


def _children_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
