"""The local chain holds Pyth price feeds: written by the fixture, kept fresh, and from the command line."""

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from solana_payments.chain.client import ChainClient
from solana_payments.conf import DEFAULTS
from solana_payments.localnet.prices import FeedKeeper, parse_prices
from solana_payments.localnet.pytest_plugin import post_json
from solana_payments.rates.pyth import PythRates

REPO = Path(__file__).resolve().parents[2]


def test_a_feed_keeper_rewrites_its_feeds_with_fresh_publish_times(localnet, db):
    address = DEFAULTS["PYTH_FEEDS"]["SOL"]
    keeper = FeedKeeper(localnet, {address: "150"}, every=0.2).start()
    try:
        with ChainClient(localnet.url) as chain:
            first = PythRates(chain).quotes([("SOL", "USD")])[("SOL", "USD")]
            time.sleep(1.3)
            later = PythRates(chain).quotes([("SOL", "USD")])[("SOL", "USD")]
    finally:
        keeper.stop()
    assert first.rate == later.rate == Decimal("150")
    assert later.published_at > first.published_at


@pytest.mark.parametrize("text", ["SOL", "SOL=abc", "=3", "SOL=-1"])
def test_price_feed_flags_are_checked(text):
    with pytest.raises(ValueError, match="CODE=USD_PRICE"):
        parse_prices(text)


def test_the_localnet_command_holds_the_feeds_it_is_given(free_port):
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    command = [sys.executable, "-m", "django", "solana_localnet", "--port", str(free_port)]
    proc = subprocess.Popen(
        [*command, "--price-feeds", "SOL=151.5,EUR=1.1"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{free_port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                post_json(url, {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        with ChainClient(url) as chain:
            quote = PythRates(chain).quotes([("SOL", "EUR")])[("SOL", "EUR")]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert quote.rate == Decimal("151.5") / Decimal("1.1")
    assert "feed SOL/USD:" in out and f"{DEFAULTS['PYTH_FEEDS']['SOL']} (151.5, kept fresh)" in out
    refused = subprocess.run(
        [*command, "--price-feeds", "GBP=1.27"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "no address in PYTH_FEEDS for GBP" in refused.stderr


@pytest.fixture
def free_port():
    from tests.support.demo import free_port

    return free_port(span=2)
