"""Errors the localnet must answer the way real nodes do."""

from __future__ import annotations

import base64

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from solana_payments.localnet import LAMPORTS_PER_SOL
from solana_payments.localnet.pytest_plugin import post_json

MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def _transfer_tx(
    localnet,
    lamports: int,
    *,
    dest: Pubkey | None = None,
    blockhash: Hash | None = None,
    payer: Keypair | None = None,
) -> VersionedTransaction:
    payer = payer or localnet.fee_payer
    dest = dest or Keypair().pubkey()
    if blockhash is None:
        blockhash, _ = localnet.ledger.latest_blockhash()
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=lamports))
    return VersionedTransaction(Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer])


def _b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


def _send(localnet_rpc, tx: VersionedTransaction, **config) -> dict:
    return localnet_rpc("sendTransaction", [_b64(tx), {"encoding": "base64", **config}])


def test_too_many_keys_for_get_multiple_accounts(localnet_rpc):
    keys = [str(Keypair().pubkey()) for _ in range(101)]
    resp = localnet_rpc("getMultipleAccounts", [keys, {"encoding": "base64"}])
    assert resp["error"] == {"code": -32602, "message": "Too many inputs provided; max 100"}
    assert len(localnet_rpc("getMultipleAccounts", [keys[:100]])["result"]["value"]) == 100


def test_signature_limit_over_1000(localnet, localnet_rpc):
    address = str(localnet.fee_payer.pubkey())
    resp = localnet_rpc("getSignaturesForAddress", [address, {"limit": 1001}])
    assert resp["error"] == {"code": -32602, "message": "Invalid limit; max 1000"}
    assert localnet_rpc("getSignaturesForAddress", [address, {"limit": 1000}])["result"] == []


def test_too_many_signature_statuses(localnet_rpc):
    sigs = [str(Signature.default())] * 257
    resp = localnet_rpc("getSignatureStatuses", [sigs])
    assert resp["error"] == {"code": -32602, "message": "Too many inputs provided; max 256"}


def test_transaction_over_1232_bytes(localnet, localnet_rpc):
    payer = localnet.fee_payer
    blockhash, _ = localnet.ledger.latest_blockhash()
    memo = Instruction(MEMO, b"x" * 1100, [])
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=LAMPORTS_PER_SOL)
    )
    tx = VersionedTransaction(Message.new_with_blockhash([ix, memo], payer.pubkey(), blockhash), [payer])
    assert len(bytes(tx)) > 1232
    resp = _send(localnet_rpc, tx)
    assert resp["error"]["code"] == -32602
    assert "too large" in resp["error"]["message"] and "1232" in resp["error"]["message"]
    assert localnet_rpc("getSignatureStatuses", [[str(tx.signatures[0])]])["result"]["value"] == [None]
    # the same check applies to base58 and to skipPreflight
    resp = _send(localnet_rpc, tx, skipPreflight=True)
    assert resp["error"]["code"] == -32602


def test_already_processed(localnet, localnet_rpc):
    tx = _transfer_tx(localnet, LAMPORTS_PER_SOL)
    first = _send(localnet_rpc, tx)
    assert first["result"] == str(tx.signatures[0])
    again = _send(localnet_rpc, tx)
    error = again["error"]
    assert error["code"] == -32002
    assert error["message"] == "Transaction simulation failed: This transaction has already been processed"
    assert error["data"]["err"] == "AlreadyProcessed"
    # skipPreflight: the node answers with the signature and drops the duplicate
    skipped = _send(localnet_rpc, tx, skipPreflight=True)
    assert skipped["result"] == str(tx.signatures[0])
    assert localnet.ledger.transaction_count == 1


def test_blockhash_not_found_and_expired_window(localnet, localnet_rpc):
    unknown = _send(localnet_rpc, _transfer_tx(localnet, LAMPORTS_PER_SOL, blockhash=Hash.new_unique()))
    assert unknown["error"]["code"] == -32002
    assert unknown["error"]["message"] == "Transaction simulation failed: Blockhash not found"
    assert unknown["error"]["data"]["err"] == "BlockhashNotFound"
    assert unknown["error"]["data"]["logs"] == [] and unknown["error"]["data"]["unitsConsumed"] == 0

    latest = localnet_rpc("getLatestBlockhash")["result"]["value"]
    blockhash = Hash.from_string(latest["blockhash"])
    assert localnet_rpc("isBlockhashValid", [latest["blockhash"]])["result"]["value"] is True
    localnet.advance_time(61)  # 150 slots at 2.5 slots/s
    assert localnet_rpc("getBlockHeight")["result"] > latest["lastValidBlockHeight"]
    assert localnet_rpc("isBlockhashValid", [latest["blockhash"]])["result"]["value"] is False
    stale = _transfer_tx(localnet, LAMPORTS_PER_SOL, blockhash=blockhash)
    assert _send(localnet_rpc, stale)["error"]["data"]["err"] == "BlockhashNotFound"
    # with skipPreflight the node accepts the signature, but the transaction never lands
    assert _send(localnet_rpc, stale, skipPreflight=True)["result"] == str(stale.signatures[0])
    status = localnet_rpc(
        "getSignatureStatuses", [[str(stale.signatures[0])], {"searchTransactionHistory": True}]
    )
    assert status["result"]["value"] == [None]


def test_blockhash_stays_valid_across_a_few_transactions(localnet, localnet_rpc):
    blockhash, _ = localnet.ledger.latest_blockhash()
    for i in range(5):
        resp = _send(localnet_rpc, _transfer_tx(localnet, LAMPORTS_PER_SOL + i, blockhash=blockhash))
        assert "result" in resp, resp


def test_preflight_failure_has_code_logs_and_units(localnet, localnet_rpc):
    poor = Keypair()
    localnet.airdrop(poor.pubkey(), LAMPORTS_PER_SOL)
    tx = _transfer_tx(localnet, 5 * LAMPORTS_PER_SOL, payer=poor)
    error = _send(localnet_rpc, tx)["error"]
    assert error["code"] == -32002
    assert (
        error["message"]
        == "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    )
    assert error["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert any("insufficient lamports" in line for line in error["data"]["logs"])
    assert error["data"]["unitsConsumed"] > 0
    assert error["data"]["accounts"] is None and error["data"]["returnData"] is None
    # nothing executed, no fee charged
    assert localnet.get_balance(poor.pubkey()) == LAMPORTS_PER_SOL
    assert localnet_rpc("getSignatureStatuses", [[str(tx.signatures[0])]])["result"]["value"] == [None]


def test_failed_transaction_with_skip_preflight_is_stored_and_charged(localnet, localnet_rpc):
    poor = Keypair()
    localnet.airdrop(poor.pubkey(), LAMPORTS_PER_SOL)
    tx = _transfer_tx(localnet, 5 * LAMPORTS_PER_SOL, payer=poor)
    sig = str(tx.signatures[0])
    assert _send(localnet_rpc, tx, skipPreflight=True)["result"] == sig
    err = {"InstructionError": [0, {"Custom": 1}]}
    assert localnet.get_balance(poor.pubkey()) == LAMPORTS_PER_SOL - 5_000
    status = localnet_rpc("getSignatureStatuses", [[sig]])["result"]["value"][0]
    assert status["err"] == err and status["status"] == {"Err": err}
    tx_json = localnet_rpc("getTransaction", [sig, {"encoding": "json"}])["result"]
    assert tx_json["meta"]["err"] == err and tx_json["meta"]["status"] == {"Err": err}
    assert tx_json["meta"]["fee"] == 5_000
    assert tx_json["meta"]["preBalances"][0] - tx_json["meta"]["postBalances"][0] == 5_000
    history = localnet_rpc("getSignaturesForAddress", [str(poor.pubkey())])["result"]
    assert history[0]["signature"] == sig and history[0]["err"] == err


def test_bad_signature(localnet, localnet_rpc):
    tx = _transfer_tx(localnet, LAMPORTS_PER_SOL)
    forged = VersionedTransaction.populate(tx.message, [Signature.new_unique()])
    resp = _send(localnet_rpc, forged)
    assert resp["error"] == {"code": -32003, "message": "Transaction signature verification failure"}
    assert _send(localnet_rpc, forged, skipPreflight=True)["result"] == str(forged.signatures[0])
    assert localnet.ledger.transaction_count == 0


def test_unknown_method_and_malformed_json(localnet, localnet_rpc):
    resp = localnet_rpc("getNothing", [], id="abc")
    assert resp == {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "abc"}
    status, _headers, body = post_json(localnet.url, b"{not json")
    assert status == 200 and body["error"]["code"] == -32700 and body["id"] is None


def test_batch_preserves_ids_and_order(localnet):
    payer = str(localnet.fee_payer.pubkey())
    batch = [
        {"jsonrpc": "2.0", "id": 7, "method": "getBalance", "params": [payer]},
        {"jsonrpc": "2.0", "id": "x-1", "method": "nope"},
        {"jsonrpc": "2.0", "id": 9, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": None, "method": "getHealth"},
    ]
    status, _headers, body = post_json(localnet.url, batch)
    assert status == 200
    assert [item["id"] for item in body] == [7, "x-1", 9, None]
    assert body[0]["result"]["value"] == 1_000 * LAMPORTS_PER_SOL
    assert body[1]["error"]["code"] == -32601
    assert isinstance(body[2]["result"], int)
    assert localnet.request_counts == {"getBalance": 1, "nope": 1, "getSlot": 1, "getHealth": 1}


def test_get_transaction_refusals(localnet, localnet_rpc):
    sig = localnet.airdrop(Keypair().pubkey(), LAMPORTS_PER_SOL)
    resp = localnet_rpc("getTransaction", [sig, {"commitment": "processed"}])
    assert resp["error"]["code"] == -32602
    assert localnet_rpc("getTransaction", [str(Signature.new_unique())])["result"] is None
    assert localnet_rpc("getBalance", [str(Keypair().pubkey())])["result"]["value"] == 0
    assert (
        localnet_rpc("getAccountInfo", [str(Keypair().pubkey()), {"encoding": "base64"}])["result"]["value"]
        is None
    )
    assert localnet_rpc("getBalance", ["not-a-key"])["error"]["code"] == -32602


def test_v0_message_fee_and_simulation(localnet, localnet_rpc):
    payer = localnet.fee_payer
    blockhash, _ = localnet.ledger.latest_blockhash()
    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=LAMPORTS_PER_SOL)
    )
    message = MessageV0.try_compile(payer.pubkey(), [ix], [], blockhash)
    from solders.message import to_bytes_versioned

    fee = localnet_rpc("getFeeForMessage", [base64.b64encode(to_bytes_versioned(message)).decode()])
    assert fee["result"]["value"] == 5_000
    tx = VersionedTransaction(message, [payer])
    sim = localnet_rpc("simulateTransaction", [_b64(tx), {"encoding": "base64", "sigVerify": True}])
    assert sim["result"]["value"]["err"] is None and sim["result"]["value"]["unitsConsumed"] == 150
    assert localnet.ledger.transaction_count == 0  # a simulation changes nothing
