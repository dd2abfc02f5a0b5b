"""The local chain as a new user meets it: solana-py's `AsyncClient` pointed at it, every HTTP method a
single-node cluster answers, asserted on the typed responses.

Each method is also called raw, and its answer must have exactly the keys of the solders response type
(the Rust types real nodes serialise), so the shape is the real node's, not only parseable. Methods with a
recorded real-node answer are compared with it in test_localnet_conformance.py.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time

import pytest
import solana.rpc.async_api
import solana.rpc.core
import solders.rpc.requests as requests
import solders.rpc.responses as R
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionDetails
from spl.memo.instructions import create_memo
from spl.memo.models import MemoParams
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from spl.token.instructions import (
    approve,
    burn,
    burn_checked,
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    initialize_transfer_fee_config,
    mint_to,
    transfer_checked,
)
from spl.token.models import (
    ApproveParams,
    BurnCheckedParams,
    BurnParams,
    InitializeMint2Params,
    InitializeTransferFeeConfigParams,
    MintToParams,
    TransferCheckedParams,
)

from solana_payments.localnet import LAMPORTS_PER_SOL, persistence, start_localnet
from solana_payments.localnet.pytest_plugin import post_json
from tests.support.shapes import key_paths

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def run(coro):
    return asyncio.run(coro)


def raw(localnet, method: str, params: list) -> dict:
    status, _headers, body = post_json(
        localnet.url, {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    )
    assert status == 200 and "error" not in body, body
    return body


def assert_node_shape(
    localnet, resp_type, method: str, params: list, *, solders_only: set[str] = frozenset()
):
    """The raw answer parses as `resp_type` and has exactly the keys that type serialises (apart from
    `solders_only`: fields a node skips where solders writes null)."""
    body = raw(localnet, method, params)
    typed = resp_type.from_json(json.dumps(body))
    ours, theirs = key_paths(body["result"]), key_paths(json.loads(typed.to_json())["result"])
    assert ours - theirs == set(), f"keys a node does not send: {sorted(ours - theirs)}"
    assert theirs - ours == set(solders_only), f"keys missing: {sorted(theirs - ours - set(solders_only))}"
    return typed


async def send(client: AsyncClient, payer: Keypair, instructions: list, signers=(), **opts) -> Signature:
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    tx = VersionedTransaction(message, [payer, *signers])
    return (await client.send_transaction(tx, opts=TxOpts(**opts))).value


async def make_mint(
    client: AsyncClient, payer: Keypair, program: Pubkey, *, transfer_fee: bool = False
) -> Pubkey:
    """A mint created the way ordinary clients do: create_account, then initialize (with an extension)."""
    mint = Keypair()
    size = 82 if not transfer_fee else 165 + 1 + 4 + 108
    rent = (await client.get_minimum_balance_for_rent_exemption(size)).value
    instructions = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=size, owner=program
            )
        )
    ]
    if transfer_fee:
        instructions.append(
            initialize_transfer_fee_config(
                InitializeTransferFeeConfigParams(
                    program_id=program,
                    mint=mint.pubkey(),
                    transfer_fee_config_authority=payer.pubkey(),
                    withdraw_withheld_authority=payer.pubkey(),
                    transfer_fee_basis_points=0,
                    maximum_fee=0,
                )
            )
        )
    instructions.append(
        initialize_mint2(
            InitializeMint2Params(
                decimals=2, program_id=program, mint=mint.pubkey(), mint_authority=payer.pubkey()
            )
        )
    )
    await send(client, payer, instructions, [mint])
    return mint.pubkey()


@pytest.fixture
def funded(localnet):
    payer = Keypair()
    localnet.airdrop(payer.pubkey(), 10 * LAMPORTS_PER_SOL)
    return payer


# ---------------------------------------------------------------------------------------------- blocks


def test_blocks_of_every_slot_with_their_transactions_and_logs(localnet, funded):
    receiver = Keypair().pubkey()

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            signature = await send(
                client,
                funded,
                [
                    transfer(
                        TransferParams(from_pubkey=funded.pubkey(), to_pubkey=receiver, lamports=1_000_000)
                    ),
                    create_memo(
                        MemoParams(program_id=MEMO_PROGRAM, signer=funded.pubkey(), message=b"order 42")
                    ),
                ],
            )
            tx = (await client.get_transaction(signature, max_supported_transaction_version=0)).value
            slot = tx.slot
            block = (await client.get_block(slot, max_supported_transaction_version=0)).value
            signatures = (
                await client.get_block(slot, transaction_details=TransactionDetails.Signatures)
            ).value
            parsed = (await client.get_block(slot, "jsonParsed", max_supported_transaction_version=0)).value
            parent = (await client.get_block(slot - 1, max_supported_transaction_version=0)).value
            blocks = (await client.get_blocks(slot - 1, slot + 1)).value
            first = (await client.get_first_available_block()).value
            minimum = (await client.get_minimum_ledger_slot()).value
            block_time = (await client.get_block_time(slot)).value
            commitment = await client.get_block_commitment(slot)
            return (
                signature,
                tx,
                slot,
                block,
                signatures,
                parsed,
                parent,
                blocks,
                first,
                minimum,
                block_time,
                commitment,
            )

    signature, tx, slot, block, signatures, parsed, parent, blocks, first, minimum, block_time, commitment = (
        run(scenario())
    )
    # the memo can be read back from the logs (Solana Pay and explorers rely on it), in the deployed
    # Memo program's words (LiteSVM's own writes the signer and the text on lines of their own)
    logs = tx.transaction.meta.log_messages
    memo_lines = [line for line in logs if line.startswith("Program log: ")]
    assert memo_lines == [
        f"Program log: Signed by {funded.pubkey()}",
        'Program log: Memo (len 8): "order 42"',
    ]
    assert str(signature) in [str(s) for s in signatures.signatures]
    (entry,) = [t for t in block.transactions if t.transaction.signatures[0] == signature]
    assert entry.meta.log_messages == logs and entry.meta.fee == 5000
    assert entry.meta.pre_balances[0] - entry.meta.post_balances[0] == 1_000_000 + 5000  # money conserved
    assert block.parent_slot == slot - 1 and block.block_height == slot
    assert block.previous_blockhash == parent.blockhash and block.blockhash != parent.blockhash
    assert block.block_time == block_time == tx.block_time and block.rewards == []
    assert parsed.transactions[0].transaction.message.instructions[0].parsed["type"] == "transfer"
    assert blocks == [slot - 1, slot] or blocks == [slot - 1, slot, slot + 1]
    assert first == minimum == localnet.ledger.first_slot <= slot
    commitment = commitment.value
    assert commitment.total_stake > 0 and commitment.commitment[-1] == commitment.total_stake

    for params in (
        [slot, {"maxSupportedTransactionVersion": 0}],
        [slot, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}],
        [slot, {"encoding": "base64", "maxSupportedTransactionVersion": 0}],
        [slot, {"transactionDetails": "signatures"}],
        [slot, {"transactionDetails": "none", "rewards": False}],
    ):
        assert_node_shape(localnet, R.GetBlockResp, "getBlock", params)
    # "accounts" details: the meta keeps balances only; solders writes the skipped keys as null
    assert_node_shape(
        localnet,
        R.GetBlockResp,
        "getBlock",
        [slot, {"transactionDetails": "accounts", "maxSupportedTransactionVersion": 0}],
        solders_only={".transactions[].meta.innerInstructions", ".transactions[].meta.logMessages"},
    )
    for method, params, resp_type in (
        ("getBlocks", [slot - 1, slot], R.GetBlocksResp),
        ("getBlocksWithLimit", [slot - 1, 2], R.GetBlocksResp),
        ("getBlockTime", [slot], R.GetBlockTimeResp),
        ("getBlockCommitment", [slot], R.GetBlockCommitmentResp),
        ("getFirstAvailableBlock", [], R.GetFirstAvailableBlockResp),
        ("minimumLedgerSlot", [], R.MinimumLedgerSlotResp),
        ("getRecentPerformanceSamples", [5], R.GetRecentPerformanceSamplesResp),
    ):
        assert_node_shape(localnet, resp_type, method, params)


def test_block_errors_as_nodes_give_them(localnet, localnet_rpc):
    first, slot = localnet.ledger.first_slot, localnet.slot
    assert localnet_rpc("getBlock", [slot + 1000])["error"] == {
        "code": -32004,
        "message": f"Block not available for slot {slot + 1000}",
    }
    cleaned = localnet_rpc("getBlockTime", [first - 1])["error"]
    assert cleaned["code"] == -32001 and f"First available block: {first}" in cleaned["message"]
    assert localnet_rpc("getBlock", [slot, {"commitment": "processed"}])["error"]["code"] == -32602
    assert localnet_rpc("getBlockCommitment", [slot + 1000])["result"]["commitment"] is None


def test_a_block_is_hidden_until_its_transactions_reach_the_commitment(localnet, funded):
    localnet.set_faults(confirmation_delay=30, finalization_delay=60)

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            signature = await send(
                client,
                funded,
                [
                    transfer(
                        TransferParams(
                            from_pubkey=funded.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**6
                        )
                    )
                ],
                skip_confirmation=True,
            )
            slot = localnet.ledger.get_record(signature).slot
            hidden = await client.get_blocks(slot, slot)
            localnet.advance_time(31)
            # solana-py's get_blocks sends no commitment (finalized, the default): ask for confirmed raw
            confirmed = raw(localnet, "getBlocks", [slot, slot, {"commitment": "confirmed"}])["result"]
            finalized = await client.get_blocks(slot, slot)
            return slot, hidden.value, confirmed, finalized.value

    slot, hidden, confirmed, finalized = run(scenario())
    assert hidden == [] and confirmed == [slot] and finalized == []


# --------------------------------------------------------------------------------------------- cluster


def test_cluster_methods_of_a_single_node(localnet, funded):
    async def scenario():
        async with AsyncClient(localnet.url) as client:
            return {
                "identity": (await client.get_identity()).value.identity,
                "nodes": (await client.get_cluster_nodes()).value,
                "schedule": (await client.get_epoch_schedule()).value,
                "epoch": (await client.get_epoch_info()).value,
                "leaders": (await client.get_leader_schedule()).value,
                "leader": (await client.get_slot_leader()).value,
                "slot_leaders": (await client.get_slot_leaders(localnet.slot, 4)).value,
                "votes": (await client.get_vote_accounts()).value,
                "supply": (await client.get_supply()).value,
                "largest": (await client.get_largest_accounts()).value,
                "non_circulating": (await client.get_largest_accounts("nonCirculating")).value,
                "governor": (await client.get_inflation_governor()).value,
                "rate": (await client.get_inflation_rate()).value,
                "reward": (await client.get_inflation_reward([funded.pubkey()])).value,
                "exit": (await client.validator_exit()).value,
            }

    got = run(scenario())
    identity = got["identity"]
    (node,) = got["nodes"]
    assert node.pubkey == identity and node.rpc == localnet.url.removeprefix("http://")
    assert node.pubsub == localnet.ws_url.removeprefix("ws://")
    assert got["schedule"].slots_per_epoch == got["epoch"].slots_in_epoch
    assert list(got["leaders"]) == [identity]
    assert len(got["leaders"][identity]) == got["schedule"].slots_per_epoch
    assert got["leader"] == identity and got["slot_leaders"] == [identity] * 4
    (vote,) = got["votes"].current
    assert vote.node_pubkey == identity and vote.activated_stake > 0 and got["votes"].delinquent == []
    supply = got["supply"]
    balances = {a.address: a.lamports for a in got["largest"]}
    assert balances[localnet.faucet.pubkey()] == localnet.get_balance(localnet.faucet.pubkey())
    assert supply.total == supply.circulating >= sum(balances.values()) and supply.non_circulating == 0
    assert got["non_circulating"] == []
    assert (got["governor"].initial, got["governor"].terminal) == (0.08, 0.015)
    assert got["rate"].total == pytest.approx(got["rate"].validator + got["rate"].foundation)
    assert got["reward"] == [None] and got["exit"] is False

    slot = localnet.slot
    for method, params, resp_type in (
        ("getClusterNodes", [], R.GetClusterNodesResp),
        ("getEpochSchedule", [], R.GetEpochScheduleResp),
        ("getLeaderSchedule", [None, {"identity": str(identity)}], R.GetLeaderScheduleResp),
        ("getSlotLeader", [], R.GetSlotLeaderResp),
        ("getSlotLeaders", [slot, 3], R.GetSlotLeadersResp),
        ("getVoteAccounts", [], R.GetVoteAccountsResp),
        ("getSupply", [], R.GetSupplyResp),
        ("getLargestAccounts", [], R.GetLargestAccountsResp),
        ("getInflationGovernor", [], R.GetInflationGovernorResp),
        ("getInflationRate", [], R.GetInflationRateResp),
        ("getInflationReward", [[str(funded.pubkey())]], R.GetInflationRewardResp),
        ("validatorExit", [], R.ValidatorExitResp),
    ):
        # clientId is a field of newer nodes' contact info that solders writes as null
        skipped = {"[].clientId"} if method == "getClusterNodes" else set()
        assert_node_shape(localnet, resp_type, method, params, solders_only=skipped)


def test_supply_counts_new_accounts(localnet):
    before = raw(localnet, "getSupply", [])["result"]["value"]["total"]
    localnet.airdrop(Keypair().pubkey(), 5 * LAMPORTS_PER_SOL)  # moves lamports to a new account
    after = raw(localnet, "getSupply", [])["result"]["value"]["total"]
    assert before - 5000 <= after <= before  # the new account counts; at most the fee is gone


# ---------------------------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    "program, transfer_fee",
    [(TOKEN_PROGRAM_ID, False), (TOKEN_2022_PROGRAM_ID, False), (TOKEN_2022_PROGRAM_ID, True)],
    ids=["token", "token-2022", "token-2022-with-extension"],
)
def test_token_methods_on_a_mint_made_by_an_ordinary_client(localnet, funded, program, transfer_fee):
    """getTokenSupply, getTokenLargestAccounts and getTokenAccountsBy* on a client-made mint, after a
    mint, transfer and burns as a standard client sends them; supply and balances add up on chain."""
    alice, bob, delegate = Keypair(), Keypair(), Keypair()

    async def scenario():
        async with AsyncClient(localnet.url) as client:
            mint = await make_mint(client, funded, program, transfer_fee=transfer_fee)
            a = get_associated_token_address(alice.pubkey(), mint, program)
            b = get_associated_token_address(bob.pubkey(), mint, program)
            created = await send(
                client,
                funded,
                [
                    create_associated_token_account(funded.pubkey(), alice.pubkey(), mint, program),
                    create_associated_token_account(funded.pubkey(), bob.pubkey(), mint, program),
                ],
            )
            minted = MintToParams(
                program_id=program, mint=mint, dest=a, mint_authority=funded.pubkey(), amount=10_000
            )
            await send(client, funded, [mint_to(minted)])
            moved = TransferCheckedParams(
                program_id=program,
                source=a,
                mint=mint,
                dest=b,
                owner=alice.pubkey(),
                amount=2_500,
                decimals=2,
            )
            await send(client, funded, [transfer_checked(moved)], [alice])
            burnt = BurnParams(program_id=program, account=a, mint=mint, owner=alice.pubkey(), amount=1_000)
            await send(client, funded, [burn(burnt)], [alice])
            burnt_b = BurnCheckedParams(
                program_id=program, account=b, mint=mint, owner=bob.pubkey(), amount=500, decimals=2
            )
            await send(client, funded, [burn_checked(burnt_b)], [bob])
            allowed = ApproveParams(
                program_id=program, source=a, delegate=delegate.pubkey(), owner=alice.pubkey(), amount=1
            )
            await send(client, funded, [approve(allowed)], [alice])
            creation = (
                await client.get_transaction(created, "jsonParsed", max_supported_transaction_version=0)
            ).value
            return (
                creation,
                mint,
                a,
                b,
                (await client.get_token_supply(mint)).value,
                (await client.get_token_largest_accounts(mint)).value,
                (await client.get_token_account_balance(a)).value,
                (
                    await client.get_token_accounts_by_delegate(
                        delegate.pubkey(), TokenAccountOpts(mint=mint)
                    )
                ).value,
                (
                    await client.get_token_accounts_by_owner(
                        bob.pubkey(), TokenAccountOpts(program_id=program)
                    )
                ).value,
            )

    creation, mint, a, b, supply, largest, balance_a, delegated, owned = run(scenario())
    # the ATA program's inner instructions (create the account, initialize it) and the logs come back
    meta = creation.transaction.meta
    inner = [
        ix.parsed["type"]
        for group in meta.inner_instructions
        for ix in group.instructions
        if hasattr(ix, "parsed")
    ]
    assert "initializeAccount3" in inner and meta.log_messages, (inner, meta.log_messages)
    assert (supply.amount, supply.decimals, supply.ui_amount_string) == ("8500", 2, "85")
    assert [(x.address, x.amount.amount) for x in largest] == [(a, "6500"), (b, "2000")]
    assert balance_a.amount == "6500"
    assert [x.pubkey for x in delegated] == [a]
    assert [x.pubkey for x in owned] == [b]
    assert sum(int(x.amount.amount) for x in largest) == int(supply.amount)  # tokens are conserved
    for method, params, resp_type in (
        ("getTokenSupply", [str(mint)], R.GetTokenSupplyResp),
        ("getTokenLargestAccounts", [str(mint)], R.GetTokenLargestAccountsResp),
        (
            "getTokenAccountsByDelegate",
            [str(Keypair().pubkey()), {"mint": str(mint)}],
            R.GetTokenAccountsByDelegateResp,
        ),
        (
            "getProgramAccounts",
            [
                str(program),
                {"encoding": "base64", "filters": [{"memcmp": {"offset": 0, "bytes": str(mint)}}]},
            ],
            R.GetProgramAccountsResp,
        ),
    ):
        assert_node_shape(localnet, resp_type, method, params)
    accounts = raw(
        localnet,
        "getProgramAccounts",
        [str(program), {"encoding": "base64", "filters": [{"memcmp": {"offset": 0, "bytes": str(mint)}}]}],
    )["result"]
    assert {x["pubkey"] for x in accounts} == {str(a), str(b)}


def test_the_same_client_transactions_after_a_restart_are_new_transactions(tmp_path):
    """A client with a fixed key (a CLI wallet file) repeats mint, transfer and burn on a restarted chain.

    LiteSVM hands out the same blockhash sequence in every instance, so the restarted chain used to give
    the client blockhashes it had already used: its mint was byte-for-byte an old transaction, refused as
    already processed, and the burn that followed failed with "insufficient funds". A real node never
    repeats a blockhash; the local chain's blockhashes are now its own, unique to each chain.
    """
    wallet = Keypair.from_seed(bytes(range(32)))
    receiver = Keypair.from_seed(bytes(range(1, 33)))
    program = TOKEN_PROGRAM_ID

    async def round_trip(url: str, mint: Pubkey) -> str:
        async with AsyncClient(url) as client:
            a = get_associated_token_address(wallet.pubkey(), mint, program)
            b = get_associated_token_address(receiver.pubkey(), mint, program)
            minted = MintToParams(
                program_id=program, mint=mint, dest=a, mint_authority=wallet.pubkey(), amount=300
            )
            await send(client, wallet, [mint_to(minted)])
            moved = TransferCheckedParams(
                program_id=program, source=a, mint=mint, dest=b, owner=wallet.pubkey(), amount=100, decimals=2
            )
            await send(client, wallet, [transfer_checked(moved)])
            burnt = BurnParams(program_id=program, account=a, mint=mint, owner=wallet.pubkey(), amount=200)
            await send(client, wallet, [burn(burnt)])
            return (await client.get_token_account_balance(b)).value.amount

    first = start_localnet()
    try:
        first.airdrop(wallet.pubkey(), LAMPORTS_PER_SOL)

        async def setup():
            async with AsyncClient(first.url) as client:
                mint = await make_mint(client, wallet, program)
                await send(
                    client,
                    wallet,
                    [
                        create_associated_token_account(wallet.pubkey(), wallet.pubkey(), mint, program),
                        create_associated_token_account(wallet.pubkey(), receiver.pubkey(), mint, program),
                    ],
                )
                return mint

        mint = run(setup())
        assert run(round_trip(first.url, mint)) == "100"
        persistence.save(first.ledger, tmp_path / "chain.pickle")
        handed_out = set(first.ledger._blockhashes)  # every blockhash still in its validity window
    finally:
        first.stop()
    second = start_localnet()
    try:
        persistence.load(second.ledger, tmp_path / "chain.pickle")
        assert second.ledger.latest_blockhash()[0] not in handed_out
        assert run(round_trip(second.url, mint)) == "200"
    finally:
        second.stop()


def test_every_method_solana_py_can_send_is_served(localnet):
    """The request types solana-py's AsyncClient builds, by their JSON-RPC method name: none is missing."""
    source = inspect.getsource(solana.rpc.async_api) + inspect.getsource(solana.rpc.core)
    aliases = {"SendRawTransaction": "sendTransaction", "SimulateVersionedTransaction": "simulateTransaction"}
    sent = {
        aliases.get(name, name[0].lower() + name[1:])
        for name in set(re.findall(r"\b([A-Z][A-Za-z]+)\(", source))
        if hasattr(getattr(requests, name, None), "to_json")
    }
    assert len(sent) > 40
    assert sent - set(localnet.rpc.methods) == set()


def test_a_fresh_node_has_blocks_from_slot_0(localnet_server):
    """As solana-test-validator: a new chain answers getBlock, getBlockTime and getBlocks from slot 0 on
    (they were 'cleaned up' below slot 1000), and its genesis block is its own parent."""
    from solana_payments.localnet import start_localnet
    from solana_payments.localnet.pytest_plugin import post_json

    fresh = start_localnet()
    try:

        def call(method, params=None):
            _status, _headers, body = post_json(
                fresh.url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
            )
            assert "error" not in body, body
            return body["result"]

        assert call("getFirstAvailableBlock") == call("minimumLedgerSlot") == 0
        genesis = call("getBlock", [0, {"transactionDetails": "none", "rewards": False}])
        assert genesis["blockHeight"] == 0 and genesis["parentSlot"] == 0
        assert genesis["previousBlockhash"] == genesis["blockhash"]
        assert abs(call("getBlockTime", [0]) - time.time()) < 60
        fresh.advance_time(2)  # a few slots on
        slot = call("getSlot")
        assert slot >= 2 and call("getBlocks", [0, slot]) == list(range(slot + 1))
        assert call("getBlocksWithLimit", [0, 2]) == [0, 1]
        assert call("getBlock", [1, {"transactionDetails": "none"}])["parentSlot"] == 0
        before = call("getSlot")
        assert 0 <= call("getBlockHeight") - before <= 1  # height = slot: a single node skips no slot
    finally:
        fresh.stop()
