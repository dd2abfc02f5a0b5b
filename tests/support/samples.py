"""Responses recorded from real Solana nodes, kept in tests/rpc_samples/ (its README says where each came from)."""

import json
from pathlib import Path

RPC_SAMPLES = Path(__file__).resolve().parents[1] / "rpc_samples"


def sample_text(name: str) -> str:
    return (RPC_SAMPLES / name).read_text()


def sample_json(name: str):
    return json.loads(sample_text(name))
