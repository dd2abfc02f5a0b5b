"""`manage.py solana_localnet` starts a node that answers, and prints what a developer needs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from solders.keypair import Keypair

from solana_payments.localnet.pytest_plugin import post_json
from tests.support.demo import free_port

REPO = Path(__file__).resolve().parents[2]


def test_command_starts_answers_and_stops():
    port = free_port(span=2)
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "django", "solana_localnet", "--port", str(port), "--faults", "latency=0.01"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = post_json(url, {"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=2)[2]
                break
            except OSError:
                time.sleep(0.1)
        assert health == {"jsonrpc": "2.0", "result": "ok", "id": 1}, proc.poll()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert url in out
    secret_line = next(
        line.strip()
        for line in out.splitlines()
        if line.strip().startswith("[") and line.strip().endswith("]")
    )
    fee_payer = Keypair.from_bytes(bytes(json.loads(secret_line)))
    assert str(fee_payer.pubkey()) in out
    assert "USDC" in out and "PYUSD" in out and "stopped" in out
