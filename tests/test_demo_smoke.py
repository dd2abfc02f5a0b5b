"""`make demo`'s command, end to end: it starts, seeds, serves the admin, runs a recheck on its own
worker, and stops everything cleanly on Ctrl-C."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_demo_runs_and_stops_cleanly(tmp_path):
    web, chain = free_port(), free_port()
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

        browser.post(
            "/admin/solana_payments/operationrun/run/recheck/",
            {"all": "1", "trigger": "dashboard", "post": "yes"},
        )

        def finished_run():
            runs = json.loads(browser.get("/admin/solana_payments/dashboard/status.json")[1])["runs"]
            done = [r for r in runs if r["finished"] and "recheck" in json.dumps(r)]
            return done and done[0]

        run = wait_for(finished_run, 90, "the worker to run the recheck")
        assert "succeeded" in json.dumps(run)
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
