"""The client parses what real nodes send: every recorded response in tests/rpc_samples.

Each sample is parsed with ``parse_rpc_response`` (the function the client runs on every answer), and the
ones for methods the client calls are also served over HTTP to the client itself.
"""

import json
from pathlib import Path

import pytest
from solders.account import Account
from solders.keypair import Keypair

from solana_payments.chain.accounts import token_account_from_account
from solana_payments.chain.client import ChainClient
from solana_payments.chain.parsing import parse_rpc_response
from solana_payments.exceptions import ChainUnavailable, RpcError, TransactionFailed
from tests.support.samples import RPC_SAMPLES, sample_text
from tests.support.scripted import ScriptedServer, signed_tx

FILES = sorted(RPC_SAMPLES.glob("*.json"))


def sample_method(path: Path) -> tuple[str, bool]:
    """(method, jsonParsed?) from a file name like ``getTransaction__spl_transferChecked_jsonParsed__...``."""
    head, _, rest = path.name.partition("__")
    json_parsed = "MaybeJsonParsed" in head or "jsonParsed" in rest.split("__")[0]
    return head.replace("MaybeJsonParsed", ""), json_parsed


load = sample_text


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_sample_parses(path):
    method, json_parsed = sample_method(path)
    body = path.read_text()
    obj = json.loads(body)
    if method == "http429":
        with pytest.raises(RpcError) as info:
            parse_rpc_response("getMultipleAccounts", body)
        assert info.value.code == 429
        return
    if obj.get("error"):
        assert method == "sendTransaction", f"unexpected error sample {path.name}"
        with pytest.raises(TransactionFailed) as info:
            parse_rpc_response(method, body)
        assert info.value.err == obj["error"]["data"]["err"]
        assert info.value.logs == obj["error"]["data"]["logs"]
        return
    value = parse_rpc_response(method, body, json_parsed=json_parsed)
    result = obj["result"]
    if method == "getTransaction":
        assert value.slot == result["slot"]
        assert value.transaction.meta.fee == result["meta"]["fee"]
        assert str(value.transaction.transaction.signatures[0]) == result["transaction"]["signatures"][0]
    elif method in ("getSignaturesForAddress",):
        assert [str(v.signature) for v in value] == [r["signature"] for r in result]
        assert [v.err is None for v in value] == [r["err"] is None for r in result]
    elif method in ("getMultipleAccounts", "getTokenAccountsByOwner"):
        assert len(value) == len(result["value"])
    else:
        pytest.fail(f"no check for sample {path.name}: add one")


@pytest.fixture
def serve_sample():
    servers = []

    def start(name, status=200, headers=None):
        body = load(name)
        server = ScriptedServer(lambda request: (status, dict(headers or {}), body))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_client_reads_accounts_sample_over_http(serve_sample):
    server = serve_sample("getMultipleAccounts__base64__solana-swift.json")
    with ChainClient(server.url) as client:
        [account] = client.get_accounts([Keypair().pubkey()])
    assert isinstance(account, Account) and account.lamports == 1345194
    assert str(account.owner) == "617jbWo616ggkDxvW1Le8pV38XLbVSyWY8ae6QUmGBAU"


def test_token_account_sample_decodes():
    [keyed] = parse_rpc_response(
        "getTokenAccountsByOwner", load("getTokenAccountsByOwner__base64__keyapp_mainnet.json")
    )
    token = token_account_from_account(keyed.account, keyed.pubkey)
    assert str(token.mint) == "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v" and token.amount == 1000


@pytest.mark.parametrize(
    "name",
    [
        "getSignaturesForAddress__memo__keyapp_mainnet.json",
        "getSignaturesForAddress__with_failed_txs__SolanaKit.json",
    ],
)
def test_client_reads_signatures_samples_over_http(serve_sample, name):
    expected = json.loads(load(name))["result"]
    with ChainClient(serve_sample(name).url) as client:
        (entries,) = client.get_signatures_for_addresses([Keypair().pubkey()], limit=10)
    assert [str(e.signature) for e in entries] == [r["signature"] for r in expected]
    assert [e.block_time for e in entries] == [r["blockTime"] for r in expected]


@pytest.mark.parametrize(
    "name",
    [
        "getTransaction__ata_create_json_v0__metamask_mainnet.json",
        "getTransaction__sol_transfer_json__SolanaKit.json",
        "getTransaction__spl_transferChecked_json__SolanaKit_mainnet.json",
    ],
)
def test_client_reads_transaction_samples_over_http(serve_sample, name):
    expected = json.loads(load(name))["result"]
    with ChainClient(serve_sample(name).url) as client:
        [tx] = client.get_transactions([str(signed_tx().signatures[0])])
    assert tx.slot == expected["slot"] and tx.block_time == expected["blockTime"]
    meta = tx.transaction.meta
    assert meta.fee == expected["meta"]["fee"]
    assert meta.pre_balances == expected["meta"]["preBalances"]
    assert meta.post_balances == expected["meta"]["postBalances"]
    if expected["meta"].get("postTokenBalances"):
        post = meta.post_token_balances
        assert [b.ui_token_amount.amount for b in post] == [
            b["uiTokenAmount"]["amount"] for b in expected["meta"]["postTokenBalances"]
        ]


@pytest.mark.parametrize(
    "name",
    [
        "sendTransaction__error_preflight_insufficient_lamports__solders.json",
        "sendTransaction__error_blockhash_not_found__solana-swift.json",
    ],
)
def test_client_send_preflight_samples_over_http(serve_sample, name):
    expected = json.loads(load(name))["error"]
    server = serve_sample(name)
    tx = signed_tx()
    with ChainClient(server.url) as client:
        with pytest.raises(TransactionFailed) as info:
            client.send_transaction(tx)
    assert info.value.signature == str(tx.signatures[0])
    assert info.value.err == expected["data"]["err"] and info.value.logs == expected["data"]["logs"]
    assert str(info.value) == expected["message"]
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [429, 200])
def test_client_retries_the_rate_limit_sample(serve_sample, status, monkeypatch):
    monkeypatch.setattr("solana_payments.chain.transport.BACKOFF_BASE", 0.02)
    server = serve_sample("http429__rate_limit_body__spl_issue_2784.json", status=status)
    with ChainClient(server.url, max_retry_seconds=0.3) as client:
        with pytest.raises(ChainUnavailable, match="429"):
            client.call("getSlot")
    assert client.stats.rate_limited == len(server.requests) >= 2
    assert client.stats.retries == len(server.requests) - 1
