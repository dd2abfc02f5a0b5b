"""Injected faults: latency, 429 + Retry-After, 5xx, unhealthy node, lost send response, slow confirmation."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import time
import urllib.request

import pytest
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from solana_payments.localnet import LAMPORTS_PER_SOL, Faults, parse_faults, start_localnet
from solana_payments.localnet.pytest_plugin import post_json
from tests.support.samples import sample_json


def _request(method: str, params: list | None = None, id: object = 1) -> dict:  # noqa: A002
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params or []}


def _transfer_b64(localnet) -> tuple[str, str]:
    payer = localnet.fee_payer
    blockhash, _ = localnet.ledger.latest_blockhash()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=LAMPORTS_PER_SOL)
    )
    tx = VersionedTransaction(Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer])
    return base64.b64encode(bytes(tx)).decode(), str(tx.signatures[0])


def test_rate_limit_429_with_retry_after(localnet):
    localnet.set_faults(rate_429=1.0, retry_after=0.05)
    status, headers, body = post_json(localnet.url, _request("getSlot", id=5))
    assert status == 429
    assert headers["Retry-After"] == "0.05"
    assert body["error"]["code"] == 429 and body["id"] == 5
    sample = sample_json("http429__rate_limit_body__spl_issue_2784.json")  # the mainnet-beta body
    assert body["error"]["message"] == sample["error"]["message"]
    assert set(body) == set(sample) and set(body["error"]) == set(sample["error"])
    localnet.set_faults(retry_after=2)
    assert post_json(localnet.url, _request("getSlot"))[1]["Retry-After"] == "2"
    assert localnet.request_counts == {"getSlot": 2}
    assert localnet.fault_counts == {"rate_429": 2}


def test_solana_py_raises_on_429(localnet):
    """solana-py does not retry a 429 itself (the chain client must); this documents it."""
    localnet.set_faults(rate_429=1.0, retry_after=1)

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            await client.get_slot()

    with pytest.raises(SolanaRpcException) as info:
        asyncio.run(scenario())
    cause = info.value.__cause__
    assert cause.response.status_code == 429
    assert cause.response.headers["Retry-After"] == "1"


def test_5xx_and_unhealthy(localnet):
    localnet.set_faults(rate_5xx=1.0)
    status, _headers, body = post_json(
        localnet.url, _request("getBalance", [str(localnet.fee_payer.pubkey())])
    )
    assert status == 503 and body is None
    localnet.set_faults(rate_5xx=1.0, status_5xx=502)
    assert post_json(localnet.url, _request("getSlot"))[0] == 502
    localnet.clear_faults()
    localnet.set_faults(rate_unhealthy=1.0)
    status, _headers, body = post_json(localnet.url, [_request("getSlot", id=1), _request("getHealth", id=2)])
    assert status == 200
    assert [b["error"]["code"] for b in body] == [-32005, -32005] and [b["id"] for b in body] == [1, 2]
    assert body[0]["error"]["data"] == {"numSlotsBehind": 42}


def test_lost_send_response_still_executes(localnet):
    localnet.set_faults(lose_send_response=1.0)
    tx_b64, sig = _transfer_b64(localnet)
    host, port = localnet.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    payload = json.dumps(_request("sendTransaction", [tx_b64, {"encoding": "base64"}])).encode()
    conn.request("POST", "/", body=payload, headers={"Content-Type": "application/json"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()
    # the answer was lost, but the transaction ran: a retry asks the chain about the signature first
    status, _headers, body = post_json(localnet.url, _request("getSignatureStatuses", [[sig]]))
    assert status == 200 and body["result"]["value"][0]["err"] is None
    assert localnet.fault_counts == {"lose_send_response": 1}
    assert localnet.request_counts == {"sendTransaction": 1, "getSignatureStatuses": 1}
    # the 502-with-no-body variant
    localnet.set_faults(lose_mode="502")
    tx_b64, sig = _transfer_b64(localnet)
    status, _headers, body = post_json(
        localnet.url, _request("sendTransaction", [tx_b64, {"encoding": "base64"}])
    )
    assert status == 502 and body is None
    localnet.clear_faults()
    status, _headers, body = post_json(localnet.url, _request("getSignatureStatuses", [[sig]]))
    assert body["result"]["value"][0]["confirmationStatus"] == "finalized"


def test_latency_and_spikes(localnet):
    localnet.set_faults(latency=0.15)
    started = time.monotonic()
    post_json(localnet.url, _request("getSlot"))
    assert time.monotonic() - started >= 0.15
    localnet.set_faults(latency=0.0, latency_spike_rate=1.0, latency_spike=0.1)
    started = time.monotonic()
    post_json(localnet.url, _request("getSlot"))
    assert time.monotonic() - started >= 0.1
    assert localnet.fault_counts == {"latency_spike": 1}


def test_the_node_measures_requests_in_flight(localnet):
    """The node says how many requests its client kept in flight: one at a time is 1, four together 4."""
    from concurrent.futures import ThreadPoolExecutor

    localnet.set_faults(latency=0.1)
    for _ in range(3):
        post_json(localnet.url, _request("getSlot"))
    one_by_one = localnet.in_flight_stats
    assert one_by_one["requests"] == 3 and one_by_one["seconds"] >= 0.3
    assert 0.95 <= one_by_one["in_flight"] <= 1.0
    localnet.reset_counts()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: post_json(localnet.url, _request("getSlot")), range(8)))
    together = localnet.in_flight_stats
    assert together["requests"] == 8 and together["in_flight"] >= 3
    with urllib.request.urlopen(localnet.url + "/localnet/stats") as response:
        assert json.loads(response.read())["in_flight"]["requests"] == 8  # control requests not counted
    localnet.reset_counts()
    assert localnet.in_flight_stats == {"requests": 0, "seconds": 0.0, "busy_seconds": 0.0, "in_flight": 0.0}


def test_max_faults_methods_filter_and_seed(localnet):
    localnet.set_faults(rate_429=1.0, max_faults=2, retry_after=0)
    statuses = [post_json(localnet.url, _request("getSlot"))[0] for _ in range(4)]
    assert statuses == [429, 429, 200, 200]
    assert localnet.request_counts == {"getSlot": 4} and localnet.served_counts == {"getSlot": 2}

    localnet.clear_faults()
    localnet.set_faults(rate_5xx=1.0, methods=["getBalance"])
    assert post_json(localnet.url, _request("getSlot"))[0] == 200
    assert post_json(localnet.url, _request("getBalance", [str(localnet.fee_payer.pubkey())]))[0] == 503

    def pattern():
        localnet.clear_faults()
        localnet.set_faults(rate_429=0.5, seed=1234, retry_after=0)
        return [post_json(localnet.url, _request("getSlot"))[0] for _ in range(12)]

    first = pattern()
    assert first == pattern() and 429 in first and 200 in first


def test_slow_confirmation(localnet, localnet_rpc):
    localnet.set_faults(confirmation_delay=5, finalization_delay=20)
    owner = Keypair().pubkey()
    sig = localnet.airdrop(owner, LAMPORTS_PER_SOL)

    def status():
        return localnet_rpc("getSignatureStatuses", [[sig]])["result"]["value"][0]

    assert status()["confirmationStatus"] == "processed" and status()["confirmations"] == 0
    assert localnet_rpc("getTransaction", [sig, {"commitment": "confirmed"}])["result"] is None
    assert localnet_rpc("getSignaturesForAddress", [str(owner), {"commitment": "confirmed"}])["result"] == []
    localnet.advance_time(6)
    assert status()["confirmationStatus"] == "confirmed" and status()["confirmations"] >= 1
    assert (
        localnet_rpc("getTransaction", [sig, {"commitment": "confirmed"}])["result"]["slot"]
        == status()["slot"]
    )
    assert localnet_rpc("getTransaction", [sig])["result"] is None  # default commitment: finalized
    localnet.advance_time(15)
    assert status()["confirmationStatus"] == "finalized" and status()["confirmations"] is None
    assert localnet_rpc("getTransaction", [sig])["result"] is not None


def test_control_endpoint(localnet):
    status, _headers, faults = post_json(localnet.url + "/localnet/faults", {"rate_5xx": 1.0, "seed": 3})
    assert status == 200 and faults["rate_5xx"] == 1.0 and localnet.faults.rate_5xx == 1.0
    assert post_json(localnet.url, _request("getSlot"))[0] == 503
    with urllib.request.urlopen(localnet.url + "/localnet/stats") as response:
        stats = json.loads(response.read())
    assert stats["requests"] == {"getSlot": 1} and stats["faults"] == {"rate_5xx": 1}
    request = urllib.request.Request(localnet.url + "/localnet/faults", method="DELETE")
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["rate_5xx"] == 0.0
    assert post_json(localnet.url, _request("getSlot"))[0] == 200
    assert post_json(localnet.url + "/localnet/faults", {"no_such_fault": 1})[0] == 400
    owner = Keypair().pubkey()
    status, _headers, body = post_json(
        localnet.url + "/localnet/airdrop", {"pubkey": str(owner), "lamports": LAMPORTS_PER_SOL}
    )
    assert status == 200 and localnet.get_balance(owner) == LAMPORTS_PER_SOL
    status, _headers, body = post_json(
        localnet.url + "/localnet/mint", {"mint": "USDC", "owner": str(owner), "amount": 5}
    )
    assert status == 200 and body["signature"]
    slot = localnet.slot
    status, _headers, body = post_json(localnet.url + "/localnet/time", {"advance": 10})
    assert status == 200 and body["slot"] >= slot + 25


def test_faults_at_start_and_parsing():
    assert parse_faults("rate_429=0.2,retry_after=1,methods=sendTransaction|getBalance,seed=7") == {
        "rate_429": 0.2,
        "retry_after": 1.0,
        "methods": ("sendTransaction", "getBalance"),
        "seed": 7,
    }
    with pytest.raises(ValueError):
        parse_faults("bogus=1")
    with start_localnet(faults={"rate_5xx": 1.0}) as ln:
        assert isinstance(ln.faults, Faults) and ln.faults.rate_5xx == 1.0
        assert post_json(ln.url, _request("getSlot"))[0] == 503
        assert ln.request_counts == {"getSlot": 1}
