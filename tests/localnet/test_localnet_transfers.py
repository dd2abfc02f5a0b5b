"""Real transfers through solana-py's AsyncClient against the localnet: balances, token balances, history."""

from __future__ import annotations

import asyncio
import base64
import struct

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    close_account,
    create_idempotent_associated_token_account,
    get_associated_token_address,
    transfer_checked,
)
from spl.token.models import CloseAccountParams, TransferCheckedParams

from solana_payments.localnet import LAMPORTS_PER_SOL

FEE = 5_000
ADDRESS_LOOKUP_TABLE_PROGRAM = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")


def run(coro):
    return asyncio.run(coro)


async def _send(
    client: AsyncClient, instructions, payer: Keypair, signers=(), *, v0: bool = False
) -> Signature:
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    if v0:
        message = MessageV0.try_compile(payer.pubkey(), instructions, [], blockhash)
    else:
        message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    tx = VersionedTransaction(message, [payer, *signers])
    resp = await client.send_transaction(tx, opts=TxOpts(skip_confirmation=True))
    return resp.value


def test_sol_transfer_balances_and_history(localnet):
    payer = localnet.fee_payer
    dest = Keypair().pubkey()

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            before = (await client.get_balance(payer.pubkey())).value
            sig = await _send(
                client,
                [
                    transfer(
                        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=LAMPORTS_PER_SOL)
                    )
                ],
                payer,
            )
            statuses = (await client.get_signature_statuses([sig])).value
            tx = (await client.get_transaction(sig, encoding="json")).value
            payer_sigs = (await client.get_signatures_for_address(payer.pubkey())).value
            dest_sigs = (await client.get_signatures_for_address(dest)).value
            after = (await client.get_balance(payer.pubkey())).value
            dest_balance = (await client.get_balance(dest)).value
            return before, sig, statuses, tx, payer_sigs, dest_sigs, after, dest_balance

    before, sig, statuses, tx, payer_sigs, dest_sigs, after, dest_balance = run(scenario())
    assert before == 1_000 * LAMPORTS_PER_SOL
    assert statuses[0] is not None and statuses[0].err is None
    assert str(statuses[0].confirmation_status) == "TransactionConfirmationStatus.Finalized"
    meta = tx.transaction.meta
    assert meta.fee == FEE
    assert meta.pre_balances[:2] == [before, 0]
    assert meta.post_balances[:2] == [before - LAMPORTS_PER_SOL - FEE, LAMPORTS_PER_SOL]
    assert after == before - LAMPORTS_PER_SOL - FEE and dest_balance == LAMPORTS_PER_SOL
    assert [s.signature for s in payer_sigs][:1] == [sig]
    assert [s.signature for s in dest_sigs] == [sig]
    assert tx.block_time is not None and tx.slot == statuses[0].slot


@pytest.mark.parametrize("symbol,program", [("USDC", TOKEN_PROGRAM_ID), ("PYUSD", TOKEN_2022_PROGRAM_ID)])
def test_token_transfer_checked(localnet, symbol, program):
    payer = localnet.fee_payer
    mint = localnet.mints[symbol]
    sender = Keypair()
    receiver = Keypair().pubkey()
    localnet.mint_to(symbol, sender.pubkey(), 5_000_000)
    source = get_associated_token_address(sender.pubkey(), mint, program)
    dest = get_associated_token_address(receiver, mint, program)
    assert localnet.ata(sender.pubkey(), symbol) == source
    instructions = [
        create_idempotent_associated_token_account(payer.pubkey(), receiver, mint, program),
        transfer_checked(
            TransferCheckedParams(
                program_id=program,
                source=source,
                mint=mint,
                dest=dest,
                owner=sender.pubkey(),
                amount=1_250_000,
                decimals=6,
            )
        ),
    ]

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            sig = await _send(client, instructions, payer, [sender])
            tx = (await client.get_transaction(sig, encoding="json")).value
            parsed = (await client.get_transaction(sig, encoding="jsonParsed")).value
            src_sigs = (await client.get_signatures_for_address(source)).value
            dst_sigs = (await client.get_signatures_for_address(dest)).value
            dst_balance = (await client.get_token_account_balance(dest)).value
            by_owner = (await client.get_token_accounts_by_owner(receiver, TokenAccountOpts(mint=mint))).value
            by_program = (
                await client.get_token_accounts_by_owner(receiver, TokenAccountOpts(program_id=program))
            ).value
            return sig, tx, parsed, src_sigs, dst_sigs, dst_balance, by_owner, by_program

    sig, tx, parsed, src_sigs, dst_sigs, dst_balance, by_owner, by_program = run(scenario())
    meta = tx.transaction.meta
    assert meta.err is None
    keys = tx.transaction.transaction.message.account_keys
    index = {str(k): i for i, k in enumerate(keys)}
    pre = {(b.account_index, b.ui_token_amount.amount) for b in meta.pre_token_balances}
    post = {(b.account_index, b.ui_token_amount.amount) for b in meta.post_token_balances}
    assert pre == {(index[str(source)], "5000000")}
    assert post == {(index[str(source)], "3750000"), (index[str(dest)], "1250000")}
    assert all(b.program_id == program and b.mint == mint for b in meta.post_token_balances)
    rent = 2_039_280 if program == TOKEN_PROGRAM_ID else 2_074_080
    assert meta.pre_balances[index[str(dest)]] == 0 and meta.post_balances[index[str(dest)]] == rent
    assert meta.fee == 2 * FEE
    assert [s.signature for s in src_sigs][0] == sig
    assert [s.signature for s in dst_sigs] == [sig]
    assert dst_balance.amount == "1250000" and dst_balance.ui_amount_string == "1.25"
    assert [a.pubkey for a in by_owner] == [dest] and [a.pubkey for a in by_program] == [dest]
    # jsonParsed: ATA createIdempotent + transferChecked, with the token program's name
    instructions_json = parsed.transaction.transaction.message.instructions
    assert instructions_json[0].parsed["type"] == "createIdempotent"
    assert instructions_json[1].parsed["type"] == "transferChecked"
    assert instructions_json[1].program == ("spl-token" if program == TOKEN_PROGRAM_ID else "spl-token-2022")
    assert instructions_json[1].parsed["info"]["tokenAmount"]["uiAmountString"] == "1.25"


def test_v0_transaction_and_max_supported_version(localnet, localnet_rpc):
    payer = localnet.fee_payer
    dest = Keypair().pubkey()

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            return await _send(
                client,
                [
                    transfer(
                        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=LAMPORTS_PER_SOL)
                    )
                ],
                payer,
                v0=True,
            )

    sig = run(scenario())
    refused = localnet_rpc("getTransaction", [str(sig), {"encoding": "json"}])
    assert refused["error"]["code"] == -32015
    assert "maxSupportedTransactionVersion" in refused["error"]["message"]
    ok = localnet_rpc("getTransaction", [str(sig), {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    assert ok["result"]["version"] == 0
    assert ok["result"]["transaction"]["message"]["addressTableLookups"] == []
    assert ok["result"]["meta"]["postBalances"][1] == LAMPORTS_PER_SOL


def test_airdrop_and_mint_to_are_recorded(localnet, localnet_rpc):
    owner = Keypair().pubkey()
    airdrop = localnet.airdrop(owner, 2 * LAMPORTS_PER_SOL)
    second = localnet.airdrop(owner, 2 * LAMPORTS_PER_SOL)  # identical amounts still make two transactions
    minted = localnet.mint_to("PYUSD", owner, 7_000_000)
    assert len({airdrop, second, minted}) == 3
    history = localnet_rpc("getSignaturesForAddress", [str(owner)])["result"]
    assert [h["signature"] for h in history] == [minted, second, airdrop]  # newest first
    assert localnet.get_balance(owner) == 4 * LAMPORTS_PER_SOL
    ata = localnet.ata(owner, "PYUSD")
    account = localnet.get_account(ata)
    assert len(account.data) == 170 and account.lamports == 2_074_080
    balance = localnet_rpc("getTokenAccountBalance", [str(ata)])["result"]["value"]
    assert balance == {"amount": "7000000", "decimals": 6, "uiAmount": 7.0, "uiAmountString": "7"}
    usdc_ata = localnet.ata(owner, "USDC")
    localnet.mint_to(localnet.mints["USDC"], owner, 1)
    assert len(localnet.get_account(usdc_ata).data) == 165


def test_signature_pagination_before_until_limit(localnet, localnet_rpc):
    owner = Keypair().pubkey()
    sigs = [localnet.airdrop(owner, LAMPORTS_PER_SOL + i) for i in range(5)]
    newest_first = list(reversed(sigs))

    def page(**config):
        return [
            h["signature"] for h in localnet_rpc("getSignaturesForAddress", [str(owner), config])["result"]
        ]

    assert page() == newest_first
    assert page(limit=2) == newest_first[:2]
    assert page(before=newest_first[1]) == newest_first[2:]
    assert page(until=newest_first[3]) == newest_first[:3]
    assert page(before=newest_first[0], until=newest_first[3], limit=10) == newest_first[1:3]
    assert page(before=str(Signature.default())) == []


def test_reset_gives_a_fresh_ledger_with_the_same_keys(localnet, localnet_rpc):
    owner = Keypair().pubkey()
    localnet.airdrop(owner, LAMPORTS_PER_SOL)
    mints = dict(localnet.mints)
    payer = localnet.fee_payer.pubkey()
    slot = localnet.slot
    localnet.reset()
    assert localnet.request_counts == {}
    assert localnet.get_balance(owner) == 0
    assert localnet_rpc("getSignaturesForAddress", [str(owner)])["result"] == []
    assert localnet.mints == mints and localnet.fee_payer.pubkey() == payer
    assert localnet.get_balance(payer) == 1_000 * LAMPORTS_PER_SOL
    assert localnet.slot > slot  # slots never go back
    assert isinstance(localnet.mints["USDC"], Pubkey)


def test_close_account_and_token_balances(localnet, localnet_rpc):
    mint = localnet.mints["USDC"]
    owner = Keypair()
    localnet.mint_to(mint, owner.pubkey(), 100)
    receiver = Keypair().pubkey()
    localnet.mint_to(mint, receiver, 0)
    source, dest = localnet.ata(owner.pubkey(), mint), localnet.ata(receiver, mint)
    payer = localnet.fee_payer
    instructions = [
        transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=source,
                mint=mint,
                dest=dest,
                owner=owner.pubkey(),
                amount=100,
                decimals=6,
            )
        ),
        close_account(
            CloseAccountParams(
                program_id=TOKEN_PROGRAM_ID, account=source, dest=payer.pubkey(), owner=owner.pubkey()
            )
        ),
    ]

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            return await _send(client, instructions, payer, [owner])

    sig = str(run(scenario()))
    result = localnet_rpc("getTransaction", [sig, {"encoding": "jsonParsed"}])["result"]
    keys = [k["pubkey"] for k in result["transaction"]["message"]["accountKeys"]]
    assert [i["parsed"]["type"] for i in result["transaction"]["message"]["instructions"]] == [
        "transferChecked",
        "closeAccount",
    ]
    pre = {keys[b["accountIndex"]]: b["uiTokenAmount"]["amount"] for b in result["meta"]["preTokenBalances"]}
    post = {
        keys[b["accountIndex"]]: b["uiTokenAmount"]["amount"] for b in result["meta"]["postTokenBalances"]
    }
    assert pre == {str(source): "100", str(dest): "0"}
    assert post == {str(dest): "100"}  # the closed account has no post balance
    assert result["meta"]["postBalances"][keys.index(str(source))] == 0
    assert localnet_rpc("getAccountInfo", [str(source), {"encoding": "base64"}])["result"]["value"] is None


def test_v0_with_address_lookup_table(localnet, localnet_rpc):
    table = Pubkey.new_unique()
    addresses = [Keypair().pubkey() for _ in range(3)]
    header = struct.pack("<IQQB", 1, 2**64 - 1, 0, 0).ljust(56, b"\0")  # active table, no authority
    localnet.set_account(
        table,
        Account(
            LAMPORTS_PER_SOL, header + b"".join(bytes(a) for a in addresses), ADDRESS_LOOKUP_TABLE_PROGRAM
        ),
    )
    payer = localnet.fee_payer
    instructions = [
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=a, lamports=LAMPORTS_PER_SOL))
        for a in addresses
    ]
    blockhash, _ = localnet.ledger.latest_blockhash()
    message = MessageV0.try_compile(
        payer.pubkey(), instructions, [AddressLookupTableAccount(table, addresses)], blockhash
    )
    tx = VersionedTransaction(message, [payer])
    sig = localnet_rpc("sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])[
        "result"
    ]
    result = localnet_rpc("getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])[
        "result"
    ]
    assert sorted(result["meta"]["loadedAddresses"]["writable"]) == sorted(str(a) for a in addresses)
    assert result["meta"]["postBalances"][2:] == [LAMPORTS_PER_SOL] * 3
    assert result["transaction"]["message"]["addressTableLookups"][0]["accountKey"] == str(table)
    parsed = localnet_rpc(
        "getTransaction", [sig, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}]
    )
    sources = [k["source"] for k in parsed["result"]["transaction"]["message"]["accountKeys"]]
    assert sources == ["transaction", "transaction", "lookupTable", "lookupTable", "lookupTable"]
    assert "loadedAddresses" not in parsed["result"]["meta"]
    for address in addresses:
        history = localnet_rpc("getSignaturesForAddress", [str(address)])["result"]
        assert [h["signature"] for h in history] == [sig]


def test_time_offset_shifts_block_times(localnet, localnet_rpc):
    import time

    owner = Keypair().pubkey()
    localnet.set_time_offset(-3600)
    old = localnet.airdrop(owner, LAMPORTS_PER_SOL)
    localnet.set_time_offset(0)
    new = localnet.airdrop(owner, LAMPORTS_PER_SOL)
    history = {h["signature"]: h for h in localnet_rpc("getSignaturesForAddress", [str(owner)])["result"]}
    assert abs(history[old]["blockTime"] - (time.time() - 3600)) < 5
    assert abs(history[new]["blockTime"] - time.time()) < 5
    assert history[new]["slot"] > history[old]["slot"]
    assert {h["confirmationStatus"] for h in history.values()} == {"finalized"}
    slot = localnet.slot
    localnet.advance_time(40)
    assert localnet.slot >= slot + 100  # 2.5 slots a second
    assert localnet_rpc("getBlockTime", [localnet.slot])["result"] >= int(time.time()) + 39
