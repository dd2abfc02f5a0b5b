"""The demo's settings follow the address it is given: the explorer links point at its chain's port."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]


def demo_settings(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOLANA_PAYMENTS_")}
    environment.update(SOLANA_PAYMENTS_DEMO_DIR=str(tmp_path), **env)
    code = "import json, demo.settings as s; print(json.dumps(s.SOLANA_PAYMENTS, default=str))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_explorer_cluster_follows_the_chain_port(tmp_path):
    default = demo_settings(tmp_path)
    assert unquote(default["CLUSTER"]) == "custom&customUrl=http://127.0.0.1:8899"
    moved = demo_settings(tmp_path, SOLANA_PAYMENTS_RPC_URL="http://127.0.0.1:8901")
    assert moved["RPC_URL"] == "http://127.0.0.1:8901"
    assert moved["CLUSTER"] == "custom&customUrl=http%3A%2F%2F127.0.0.1%3A8901"
    assert demo_settings(tmp_path, SOLANA_PAYMENTS_CLUSTER="devnet")["CLUSTER"] == "devnet"  # still a setting


def test_make_demo_takes_other_addresses():
    done = subprocess.run(
        ["make", "-n", "demo", "ADDR=127.0.0.1:8001", "RPC_PORT=8901", "STAMP=Makefile"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SOLANA_PAYMENTS_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "SOLANA_PAYMENTS_RPC_URL=http://127.0.0.1:8901 .venv/bin/python manage.py solana_payments_demo "
        "--addr 127.0.0.1:8001" in done.stdout
    )
    plain = subprocess.run(
        ["make", "-n", "demo", "STAMP=Makefile"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "RPC_URL" not in plain.stdout and "--addr 127.0.0.1:8000" in plain.stdout  # the defaults
