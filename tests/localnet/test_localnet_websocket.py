"""The local chain's websocket endpoint (the port after the HTTP one), driven by solana-py's websocket
client: account, signature, logs, slot and root subscriptions, their unsubscribes, the requested commitment,
and notifications in the shapes of solders' types (the node's serde types)."""

from __future__ import annotations

import asyncio
import json

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from solders.message import Message
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (
    AccountNotification,
    LogsNotification,
    RootNotification,
    SignatureNotification,
    SlotNotification,
    parse_websocket_message,
)
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from websockets.asyncio.client import connect

from solana_payments.localnet import LAMPORTS_PER_SOL
from tests.support.shapes import key_paths


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def transfer_tx(localnet, payer: Keypair, to, lamports: int) -> VersionedTransaction:
    blockhash, _ = localnet.ledger.latest_blockhash()
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer])


async def next_of(ws: SolanaWsClient, kind, timeout: float = 5.0):
    """The next notification of type `kind` (others, like slot ticks, are skipped)."""
    while True:
        note = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(note, kind):
            return note


@pytest.fixture
def payer(localnet):
    payer = Keypair()
    localnet.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    return payer


def test_a_payment_seen_through_account_signature_and_logs_subscriptions(localnet, payer):
    wallet = Keypair().pubkey()
    tx = transfer_tx(localnet, payer, wallet, 2 * LAMPORTS_PER_SOL)

    async def scenario():
        async with SolanaWsClient(localnet.ws_url) as ws, AsyncClient(localnet.url) as client:
            account = await ws.account_subscribe(pubkey=wallet, commitment="confirmed", encoding="base64")
            await ws.signature_subscribe(signature=tx.signatures[0], commitment="finalized")
            logs = await ws.logs_subscribe(filter_=RpcTransactionLogsFilterMentions(wallet))
            await client.send_transaction(tx)
            got = {}
            while len(got) < 3:
                note = await asyncio.wait_for(ws.recv(), 5)
                got[type(note)] = note
            balance = (await client.get_balance(wallet)).value
            await ws.unsubscribe(account)
            await ws.unsubscribe(logs)
            return got, balance

    got, balance = run(scenario())
    account = got[AccountNotification].result
    assert account.value.lamports == balance == 2 * LAMPORTS_PER_SOL  # the chain's balance, on chain
    assert str(account.value.owner) == "11111111111111111111111111111111"
    record = localnet.ledger.get_record(tx.signatures[0])
    assert account.context.slot == record.slot
    assert got[SignatureNotification].result.value.err is None
    logged = got[LogsNotification].result.value
    assert logged.signature == tx.signatures[0] and logged.err is None and logged.logs == record.logs


def test_notifications_wait_for_the_requested_commitment(localnet, payer):
    localnet.set_faults(confirmation_delay=20, finalization_delay=40)
    wallet = Keypair().pubkey()
    tx = transfer_tx(localnet, payer, wallet, LAMPORTS_PER_SOL)

    async def scenario():
        async with SolanaWsClient(localnet.ws_url) as ws, AsyncClient(localnet.url) as client:
            processed = await ws.signature_subscribe(signature=tx.signatures[0], commitment="processed")
            finalized = await ws.signature_subscribe(signature=tx.signatures[0], commitment="finalized")
            await ws.account_subscribe(pubkey=wallet, commitment="finalized")
            await client.send_transaction(tx)
            notes = [await next_of(ws, SignatureNotification)]
            with pytest.raises(TimeoutError):  # nothing finalized yet
                await next_of(ws, (SignatureNotification, AccountNotification), timeout=0.5)
            localnet.advance_time(41)
            late = [await next_of(ws, (SignatureNotification, AccountNotification)) for _ in range(2)]
            return processed, finalized, notes, late

    processed, finalized, notes, late = run(scenario())
    assert notes[0].subscription == processed.subscription_id and notes[0].result.value.err is None
    assert {type(n) for n in late} == {SignatureNotification, AccountNotification}
    (sig_note,) = [n for n in late if isinstance(n, SignatureNotification)]
    assert sig_note.subscription == finalized.subscription_id
    (acct_note,) = [n for n in late if isinstance(n, AccountNotification)]
    assert acct_note.result.value.lamports == LAMPORTS_PER_SOL


def test_an_already_confirmed_signature_is_notified_at_once_and_a_closed_account_shows_zero(localnet, payer):
    wallet = Keypair()
    localnet.airdrop(wallet.pubkey(), LAMPORTS_PER_SOL)
    tx = transfer_tx(localnet, payer, Keypair().pubkey(), LAMPORTS_PER_SOL)
    localnet.ledger.execute(tx)
    drain = transfer_tx(localnet, wallet, payer.pubkey(), LAMPORTS_PER_SOL - 5000)  # empties the wallet

    async def scenario():
        async with SolanaWsClient(localnet.ws_url) as ws, AsyncClient(localnet.url) as client:
            await ws.signature_subscribe(signature=tx.signatures[0])
            done = await next_of(ws, SignatureNotification)
            await ws.account_subscribe(pubkey=wallet.pubkey(), encoding="base64")
            await client.send_transaction(drain)
            closed = await next_of(ws, AccountNotification)
            return done, closed

    done, closed = run(scenario())
    assert done.result.value.err is None
    assert closed.result.value.lamports == 0 and bytes(closed.result.value.data) == b""


def test_slot_and_root_subscriptions_follow_the_chain(localnet):
    async def scenario():
        async with SolanaWsClient(localnet.ws_url) as ws:
            slots = await ws.slot_subscribe()
            roots = await ws.root_subscribe()
            localnet.advance_time(20)  # fifty slots: the root (32 behind the tip) moves too
            seen = [await next_of(ws, SlotNotification) for _ in range(3)]
            root = await next_of(ws, RootNotification)
            await ws.unsubscribe(slots)
            await ws.unsubscribe(roots)
            return seen, root

    seen, root = run(scenario())
    numbers = [n.result.slot for n in seen]
    assert numbers == sorted(numbers) and numbers[1] == numbers[0] + 1
    assert all(n.result.parent == n.result.slot - 1 and n.result.root <= n.result.slot for n in seen)
    assert root.result <= localnet.slot


def test_raw_frames_have_the_node_shapes_and_errors(localnet, payer):
    """Byte-level: the subscribe answer, each notification's keys as solders' types write them, and the
    errors for an unknown subscription id and an unknown method."""
    wallet = Keypair().pubkey()
    tx = transfer_tx(localnet, payer, wallet, LAMPORTS_PER_SOL)

    async def scenario():
        async with connect(localnet.ws_url) as ws:
            requests = [
                ("accountSubscribe", [str(wallet), {"encoding": "jsonParsed", "commitment": "confirmed"}]),
                (
                    "signatureSubscribe",
                    [str(tx.signatures[0]), {"commitment": "confirmed", "enableReceivedNotification": True}],
                ),
                ("logsSubscribe", ["all"]),
                ("slotSubscribe", []),
            ]
            ids = {}
            for n, (method, params) in enumerate(requests, start=1):
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": n, "method": method, "params": params}))
                answer = json.loads(await ws.recv())
                assert set(answer) == {"jsonrpc", "result", "id"} and answer["id"] == n
                ids[answer["result"]] = method
            localnet.ledger.execute(tx)
            frames, received = {}, None
            while len(frames) < 4:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if frame["params"]["result"].get("value") == "receivedSignature":
                    received = frame
                    continue
                frames.setdefault(frame["method"], frame)
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 9, "method": "slotUnsubscribe", "params": [999]})
            )
            bad_id = json.loads(await ws.recv())
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 10, "method": "blockSubscribe", "params": ["all"]})
            )
            unknown = json.loads(await ws.recv())
            return frames, received, bad_id, unknown

    frames, received, bad_id, unknown = run(scenario())
    # nodes send "receivedSignature" first when asked (solders cannot parse it, so solana-py cannot either)
    slot = localnet.ledger.get_record(tx.signatures[0]).slot
    assert received["params"]["result"] == {"context": {"slot": slot}, "value": "receivedSignature"}
    assert set(frames) == {
        "accountNotification",
        "signatureNotification",
        "logsNotification",
        "slotNotification",
    }
    for frame in frames.values():
        typed = parse_websocket_message(json.dumps(frame))[0]
        canonical = json.loads(typed.to_json())
        assert frame["jsonrpc"] == "2.0" and set(frame) == {"jsonrpc", "method", "params"}
        assert key_paths(frame["params"]) == key_paths(canonical), frame["method"]
    account = frames["accountNotification"]["params"]["result"]
    assert account["context"] == {"slot": slot}
    assert account["value"]["lamports"] == LAMPORTS_PER_SOL and account["value"]["space"] == 0
    assert bad_id["error"] == {"code": -32602, "message": "Invalid subscription id."} and bad_id["id"] == 9
    assert unknown["error"]["code"] == -32601 and unknown["id"] == 10
