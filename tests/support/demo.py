"""The demo in tests: starting it in a process of its own, waiting for it, reading its settings."""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def demo_price_feeds(localnet):
    """The demo's price feeds on the local chain, kept fresh while the block runs (its shop is priced in
    euros), as the demo's command keeps them."""
    from solana_payments.demo_data import demo_feed_prices
    from solana_payments.localnet.prices import FeedKeeper

    keeper = FeedKeeper(localnet, demo_feed_prices()).start()
    try:
        yield keeper
    finally:
        keeper.stop()


def free_port(*, span=1, avoid=()):
    """A port free on 127.0.0.1 with the ``span - 1`` after it free too (the local chain also listens on
    its port + 1 for websockets), none of them in ``avoid``."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        ports = range(port, port + span)
        if any(p in avoid for p in ports) or not all(_free(p) for p in ports[1:]):
            continue
        return port


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def demo_refund_wallet_setting(tmp_path):
    """REFUND_WALLET_KEYPAIR as the demo's settings give it (read in a process of its own)."""
    env = dict(os.environ, SOLANA_PAYMENTS_DEMO_DIR=str(tmp_path))
    env.pop("SOLANA_PAYMENTS_REFUND_WALLET_KEYPAIR", None)
    code = "import json, demo.settings as s; print(json.dumps(s.SOLANA_PAYMENTS['REFUND_WALLET_KEYPAIR']))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
