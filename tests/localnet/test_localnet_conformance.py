"""The localnet answers in the shape real nodes send.

Every answer must parse with solders' matching *Resp type, and its JSON must have the same keys
(recursively; list members merged) as the recorded real-node response in tests/rpc_samples. The
samples come from nodes of different ages, so each comparison names the keys that differ between node
versions (for example `space` on accounts, which older nodes did not send).
"""

from __future__ import annotations

import base64
import json

import solders.rpc.responses as responses
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import create_associated_token_account, transfer_checked
from spl.token.models import TransferCheckedParams

from solana_payments.localnet import LAMPORTS_PER_SOL
from solana_payments.localnet.pytest_plugin import post_json
from tests.support.samples import sample_json
from tests.support.shapes import key_paths

MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")

sample = sample_json


def assert_same_keys(
    ours: dict, theirs: dict, *, newer: set[str] = frozenset(), older: set[str] = frozenset()
):
    """Same key paths, except `newer` (keys current nodes send that the sample's older node did not) and
    `older` (keys the sample has that current nodes no longer send)."""
    mine, reference = key_paths(ours), key_paths(theirs)
    assert not (newer & reference), f"not newer: {newer & reference}"
    assert mine - newer == reference - older, {
        "only in localnet": sorted((mine - newer) - reference),
        "only in sample": sorted((reference - older) - mine),
    }


def rpc(localnet, method: str, params: list | None = None, id: object = 1) -> dict:  # noqa: A002
    status, _headers, body = post_json(
        localnet.url, {"jsonrpc": "2.0", "id": id, "method": method, "params": params or []}
    )
    assert status == 200
    return body


def parse(resp_type, body: dict):
    parsed = resp_type.from_json(json.dumps(body))
    assert isinstance(parsed, resp_type), parsed
    return parsed


def send(localnet, instructions, signers, *, v0: bool = False) -> str:
    payer = signers[0]
    blockhash, _ = localnet.ledger.latest_blockhash()
    if v0:
        message = MessageV0.try_compile(payer.pubkey(), instructions, [], blockhash)
    else:
        message = Message.new_with_blockhash(instructions, payer.pubkey(), blockhash)
    tx = VersionedTransaction(message, signers)
    body = rpc(localnet, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])
    assert body["result"] == str(tx.signatures[0]), body
    parse(responses.SendTransactionResp, body)
    return body["result"]


def usdc_holders(localnet):
    """A sender with 5 USDC in its ATA and a receiver that already has an (empty) ATA."""
    mint = localnet.mints["USDC"]
    sender, receiver = Keypair(), Keypair().pubkey()
    localnet.mint_to(mint, sender.pubkey(), 5_000_000)
    localnet.mint_to(mint, receiver, 0)
    return mint, sender, receiver, localnet.ata(sender.pubkey(), mint), localnet.ata(receiver, mint)


# ----------------------------------------------------------------------------------------- accounts


def test_get_multiple_accounts_base64(localnet):
    body = rpc(
        localnet,
        "getMultipleAccounts",
        [[str(localnet.mints["USDC"]), str(Keypair().pubkey())], {"encoding": "base64"}],
        id="D5BCACBB",
    )
    assert body["id"] == "D5BCACBB"
    parsed = parse(responses.GetMultipleAccountsResp, body)
    assert parsed.value[1] is None and len(parsed.value[0].data) == 82
    assert body["result"]["value"][0]["space"] == 82
    body["result"]["value"] = body["result"]["value"][:1]
    assert_same_keys(
        body,
        sample("getMultipleAccounts__base64__solana-swift.json"),
        newer={".result.context.apiVersion", ".result.value[].space"},
    )


def test_get_multiple_accounts_json_parsed(localnet):
    holder = Keypair().pubkey()
    localnet.airdrop(holder, LAMPORTS_PER_SOL)
    body = rpc(
        localnet,
        "getMultipleAccounts",
        [[str(localnet.mints["USDC"]), str(holder)], {"encoding": "jsonParsed"}],
    )
    parse(responses.GetMultipleAccountsMaybeJsonParsedResp, body)
    value = body["result"]["value"]
    assert value[0]["data"]["program"] == "spl-token" and value[0]["data"]["parsed"]["type"] == "mint"
    assert value[1]["data"] == ["", "base64"]  # not parseable: base64 fallback
    assert_same_keys(
        body,
        sample("getMultipleAccountsMaybeJsonParsed__mixed__solders.json"),
        newer={".result.value[].space"},
    )


def test_get_token_accounts_by_owner_base64(localnet):
    mint, _sender, receiver, _source, dest = usdc_holders(localnet)
    body = rpc(
        localnet, "getTokenAccountsByOwner", [str(receiver), {"mint": str(mint)}, {"encoding": "base64"}]
    )
    parsed = parse(responses.GetTokenAccountsByOwnerResp, body)
    assert [a.pubkey for a in parsed.value] == [dest]
    assert_same_keys(
        body,
        sample("getTokenAccountsByOwner__base64__keyapp_mainnet.json"),
        newer={".result.value[].account.space"},
    )
    parsed_body = rpc(
        localnet,
        "getTokenAccountsByOwner",
        [str(receiver), {"programId": str(TOKEN_PROGRAM_ID)}, {"encoding": "jsonParsed"}],
    )
    parse(responses.GetTokenAccountsByOwnerJsonParsedResp, parsed_body)
    info = parsed_body["result"]["value"][0]["account"]["data"]["parsed"]["info"]
    # An account's zero balance is 0.0 (a transaction's zero balance is null: see the pre/post balances).
    assert info["tokenAmount"] == {"amount": "0", "decimals": 6, "uiAmount": 0.0, "uiAmountString": "0"}
    (balance,) = [rpc(localnet, "getTokenAccountBalance", [str(dest)])["result"]["value"]]
    assert balance == {"amount": "0", "decimals": 6, "uiAmount": 0.0, "uiAmountString": "0"}


def test_simple_methods_parse_with_solders(localnet):
    payer = str(localnet.fee_payer.pubkey())
    holder = Keypair().pubkey()
    sig = localnet.mint_to("USDC", holder, 1_000)
    latest = rpc(localnet, "getLatestBlockhash")["result"]["value"]["blockhash"]
    blockhash, _ = localnet.ledger.latest_blockhash()
    ix = transfer(
        TransferParams(from_pubkey=localnet.fee_payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1)
    )
    message = base64.b64encode(
        to_bytes_versioned(Message.new_with_blockhash([ix], localnet.fee_payer.pubkey(), blockhash))
    ).decode()
    ata = str(localnet.ata(holder, "USDC"))
    cases = [
        ("getAccountInfo", [payer, {"encoding": "base64"}], responses.GetAccountInfoResp),
        (
            "getAccountInfo",
            [str(localnet.mints["PYUSD"]), {"encoding": "jsonParsed"}],
            responses.GetAccountInfoMaybeJsonParsedResp,
        ),
        ("getBalance", [payer], responses.GetBalanceResp),
        ("getLatestBlockhash", [{"commitment": "confirmed"}], responses.GetLatestBlockhashResp),
        ("isBlockhashValid", [latest], responses.IsBlockhashValidResp),
        ("getFeeForMessage", [message], responses.GetFeeForMessageResp),
        ("getMinimumBalanceForRentExemption", [165], responses.GetMinimumBalanceForRentExemptionResp),
        ("getSignatureStatuses", [[sig, str(Signature.new_unique())]], responses.GetSignatureStatusesResp),
        (
            "getSignatureStatuses",
            [[sig], {"searchTransactionHistory": True}],
            responses.GetSignatureStatusesResp,
        ),
        ("getTokenAccountBalance", [ata], responses.GetTokenAccountBalanceResp),
        ("getTokenSupply", [str(localnet.mints["USDC"])], responses.GetTokenSupplyResp),
        ("getHealth", [], responses.GetHealthResp),
        ("getVersion", [], responses.GetVersionResp),
        ("getSlot", [], responses.GetSlotResp),
        ("getBlockHeight", [], responses.GetBlockHeightResp),
        ("getEpochInfo", [], responses.GetEpochInfoResp),
        ("getGenesisHash", [], responses.GetGenesisHashResp),
        ("getIdentity", [], responses.GetIdentityResp),
        ("getTransactionCount", [], responses.GetTransactionCountResp),
        ("getRecentPrioritizationFees", [], responses.GetRecentPrioritizationFeesResp),
        ("requestAirdrop", [str(Keypair().pubkey()), LAMPORTS_PER_SOL], responses.RequestAirdropResp),
    ]
    for method, params, resp_type in cases:
        body = rpc(localnet, method, params, id=42)
        assert body["id"] == 42 and "result" in body, (method, body)
        if resp_type is not None:
            parse(resp_type, body)
    assert rpc(localnet, "getMinimumBalanceForRentExemption", [0])["result"] == 890_880
    assert rpc(localnet, "getMinimumBalanceForRentExemption", [165])["result"] == 2_039_280
    assert rpc(localnet, "getMinimumBalanceForRentExemption", [170])["result"] == 2_074_080
    statuses = rpc(localnet, "getSignatureStatuses", [[sig]])["result"]["value"]
    assert set(statuses[0]) == {"slot", "confirmations", "status", "err", "confirmationStatus"}


def test_simulate_transaction_parses(localnet):
    payer = localnet.fee_payer
    blockhash, _ = localnet.ledger.latest_blockhash()
    dest = Keypair().pubkey()
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=LAMPORTS_PER_SOL))
    tx = VersionedTransaction(Message.new_with_blockhash([ix], payer.pubkey(), blockhash), [payer])
    body = rpc(
        localnet,
        "simulateTransaction",
        [
            base64.b64encode(bytes(tx)).decode(),
            {
                "encoding": "base64",
                "replaceRecentBlockhash": True,
                "innerInstructions": True,
                "accounts": {"addresses": [str(dest)], "encoding": "base64"},
            },
        ],
    )
    parsed = parse(responses.SimulateTransactionResp, body)
    assert parsed.value.err is None and parsed.value.replacement_blockhash is not None
    assert parsed.value.accounts[0].lamports == LAMPORTS_PER_SOL


# ------------------------------------------------------------------------------------ history methods


def test_get_signatures_for_address(localnet):
    owner = Keypair()
    localnet.airdrop(owner.pubkey(), LAMPORTS_PER_SOL)
    memo = Instruction(MEMO, b"transfer", [AccountMeta(owner.pubkey(), is_signer=True, is_writable=False)])
    send(localnet, [memo], [localnet.fee_payer, owner])
    fail = transfer(TransferParams(from_pubkey=owner.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**12))
    blockhash, _ = localnet.ledger.latest_blockhash()
    tx = VersionedTransaction(Message.new_with_blockhash([fail], owner.pubkey(), blockhash), [owner])
    rpc(
        localnet,
        "sendTransaction",
        [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64", "skipPreflight": True}],
    )
    body = rpc(localnet, "getSignaturesForAddress", [str(owner.pubkey())])
    parse(responses.GetSignaturesForAddressResp, body)
    entries = body["result"]
    assert [e["err"] for e in entries] == [{"InstructionError": [0, {"Custom": 1}]}, None, None]
    assert [e["memo"] for e in entries] == [None, "[8] transfer", None]
    assert_same_keys(
        dict(body, result=[entries[1]]), sample("getSignaturesForAddress__memo__keyapp_mainnet.json")
    )
    assert_same_keys(body, sample("getSignaturesForAddress__with_failed_txs__SolanaKit.json"))


def test_get_transaction_json_sol_transfer(localnet):
    payer = localnet.fee_payer
    dest = Keypair().pubkey()
    sig = send(
        localnet,
        [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=10_000_000))],
        [payer],
    )
    body = rpc(localnet, "getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    parse(responses.GetTransactionResp, body)
    theirs = sample("getTransaction__sol_transfer_json__SolanaKit.json")
    assert_same_keys(body, theirs, newer={".result.meta.costUnits"})
    ours = body["result"]
    for key in ("computeUnitsConsumed", "fee", "innerInstructions", "status", "err", "rewards"):
        assert ours["meta"][key] == theirs["result"]["meta"][key], key
    assert ours["meta"]["postBalances"][1:] == theirs["result"]["meta"]["postBalances"][1:]
    assert ours["meta"]["logMessages"] == theirs["result"]["meta"]["logMessages"]
    assert ours["transaction"]["message"]["header"] == theirs["result"]["transaction"]["message"]["header"]
    assert (
        ours["transaction"]["message"]["instructions"][0]["data"] == "3Bxs4NN8M2Yn4TLb"
    )  # 10_000_000 lamports
    assert ours["version"] == "legacy"


def test_get_transaction_json_transfer_checked(localnet):
    mint, sender, _receiver, source, dest = usdc_holders(localnet)
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=source,
            mint=mint,
            dest=dest,
            owner=sender.pubkey(),
            amount=1_000,
            decimals=6,
        )
    )
    sig = send(localnet, [ix], [localnet.fee_payer, sender])
    body = rpc(localnet, "getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    parse(responses.GetTransactionResp, body)
    assert_same_keys(body, sample("getTransaction__spl_transferChecked_json__SolanaKit_mainnet.json"))
    meta = body["result"]["meta"]
    amounts = {b["uiTokenAmount"]["uiAmountString"] for b in meta["postTokenBalances"]}
    assert amounts == {"4.999", "0.001"}
    assert {b["uiTokenAmount"]["uiAmount"] for b in meta["preTokenBalances"]} == {5.0, None}  # zero -> null


def test_get_transaction_json_v0_ata_create(localnet):
    mint = localnet.mints["USDC"]
    wallet = Keypair().pubkey()
    ix = create_associated_token_account(localnet.fee_payer.pubkey(), wallet, mint, TOKEN_PROGRAM_ID)
    sig = send(localnet, [ix], [localnet.fee_payer], v0=True)
    body = rpc(localnet, "getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    parse(responses.GetTransactionResp, body)
    assert_same_keys(
        body,
        sample("getTransaction__ata_create_json_v0__metamask_mainnet.json"),
        newer={".result.meta.costUnits"},
    )
    result = body["result"]
    assert result["version"] == 0 and result["transaction"]["message"]["addressTableLookups"] == []
    assert {i["stackHeight"] for i in result["meta"]["innerInstructions"][0]["instructions"]} == {2}
    assert result["meta"]["postTokenBalances"][0]["uiTokenAmount"]["uiAmount"] is None


# jsonParsed samples come from a 1.14 node: it wrote `addressTableLookups: null` on legacy messages and had no
# computeUnitsConsumed / costUnits / stackHeight yet.
PARSED_NEWER = {
    ".result.meta.computeUnitsConsumed",
    ".result.meta.costUnits",
    ".result.transaction.message.instructions[].stackHeight",
    ".result.meta.innerInstructions[].instructions[].stackHeight",
}
PARSED_OLDER = {".result.transaction.message.addressTableLookups"}


def test_get_transaction_json_parsed_sol_transfer_with_fee_payer(localnet):
    sender = Keypair()
    localnet.airdrop(sender.pubkey(), LAMPORTS_PER_SOL)
    dest = Keypair().pubkey()
    ixs = [
        transfer(TransferParams(from_pubkey=sender.pubkey(), to_pubkey=dest, lamports=1_000_000)),
        Instruction(MEMO, b"transfer", []),
    ]
    sig = send(localnet, ixs, [localnet.fee_payer, sender])
    body = rpc(
        localnet, "getTransaction", [sig, {"encoding": "jsonParsed"}]
    )  # no version asked: no version key
    parse(responses.GetTransactionResp, body)
    theirs = sample("getTransaction__sol_transfer_feepayer_jsonParsed__keyapp_mainnet.json")
    assert_same_keys(
        body,
        theirs,
        newer=PARSED_NEWER - {".result.meta.innerInstructions[].instructions[].stackHeight"},
        older=PARSED_OLDER,
    )
    ours = body["result"]
    assert ours["meta"]["fee"] == theirs["result"]["meta"]["fee"] == 10_000
    instructions = ours["transaction"]["message"]["instructions"]
    assert instructions[1]["parsed"] == "transfer" and instructions[1]["program"] == "spl-memo"
    assert instructions[0]["parsed"]["info"]["lamports"] == 1_000_000
    assert [k["signer"] for k in ours["transaction"]["message"]["accountKeys"]][:2] == [True, True]


def test_get_transaction_json_parsed_ata_create_and_transfer_checked(localnet):
    mint = localnet.mints["USDC"]
    sender = Keypair()
    localnet.mint_to(mint, sender.pubkey(), 5_847)
    wallet = Keypair().pubkey()
    source, dest = localnet.ata(sender.pubkey(), mint), localnet.ata(wallet, mint)
    ixs = [
        create_associated_token_account(localnet.fee_payer.pubkey(), wallet, mint, TOKEN_PROGRAM_ID),
        transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=source,
                mint=mint,
                dest=dest,
                owner=sender.pubkey(),
                amount=1_000,
                decimals=6,
            )
        ),
        Instruction(MEMO, b"transfer", []),
    ]
    sig = send(localnet, ixs, [localnet.fee_payer, sender])
    body = rpc(localnet, "getTransaction", [sig, {"encoding": "jsonParsed"}])
    parse(responses.GetTransactionResp, body)
    theirs = sample("getTransaction__spl_transferChecked_jsonParsed__keyapp_mainnet.json")
    assert_same_keys(body, theirs, newer=PARSED_NEWER, older=PARSED_OLDER)
    ours = body["result"]
    assert ours["transaction"]["message"]["instructions"][1]["parsed"] == {
        "info": {
            "authority": str(sender.pubkey()),
            "destination": str(dest),
            "mint": str(mint),
            "source": str(source),
            "tokenAmount": {"amount": "1000", "decimals": 6, "uiAmount": 0.001, "uiAmountString": "0.001"},
        },
        "type": "transferChecked",
    }
    inner_types = [i["parsed"]["type"] for i in ours["meta"]["innerInstructions"][0]["instructions"]]
    assert inner_types == [
        i["parsed"]["type"] for i in theirs["result"]["meta"]["innerInstructions"][0]["instructions"]
    ]
    assert ours["meta"]["postTokenBalances"] == [
        {
            "accountIndex": b["accountIndex"],
            "mint": str(mint),
            "owner": b["owner"],
            "programId": str(TOKEN_PROGRAM_ID),
            "uiTokenAmount": b["uiTokenAmount"],
        }
        for b in ours["meta"]["postTokenBalances"]
    ]
    post = {b["owner"]: b["uiTokenAmount"]["amount"] for b in ours["meta"]["postTokenBalances"]}
    assert post == {str(wallet): "1000", str(sender.pubkey()): "4847"}


# ---------------------------------------------------------------------------------------- send errors


def test_preflight_failure_shape(localnet):
    poor = Keypair()
    localnet.airdrop(poor.pubkey(), LAMPORTS_PER_SOL)
    blockhash, _ = localnet.ledger.latest_blockhash()
    ix = transfer(
        TransferParams(from_pubkey=poor.pubkey(), to_pubkey=Keypair().pubkey(), lamports=2 * LAMPORTS_PER_SOL)
    )
    tx = VersionedTransaction(Message.new_with_blockhash([ix], poor.pubkey(), blockhash), [poor])
    body = rpc(
        localnet, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}], id=0
    )
    parsed = responses.SendTransactionResp.from_json(json.dumps(body))
    assert isinstance(parsed, SendTransactionPreflightFailureMessage)
    theirs = sample("sendTransaction__error_preflight_insufficient_lamports__solders.json")
    assert body["error"]["code"] == theirs["error"]["code"] == -32002
    assert body["error"]["message"] == theirs["error"]["message"]
    assert body["error"]["data"]["err"] == theirs["error"]["data"]["err"]
    assert key_paths(theirs) <= key_paths(body)  # current nodes add more (null) simulation fields


def test_blockhash_not_found_shape(localnet):
    from solders.hash import Hash

    ix = transfer(
        TransferParams(from_pubkey=localnet.fee_payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1)
    )
    tx = VersionedTransaction(
        Message.new_with_blockhash([ix], localnet.fee_payer.pubkey(), Hash.new_unique()), [localnet.fee_payer]
    )
    body = rpc(
        localnet,
        "sendTransaction",
        [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
        id="9E312DD6",
    )
    theirs = sample("sendTransaction__error_blockhash_not_found__solana-swift.json")
    assert isinstance(
        responses.SendTransactionResp.from_json(json.dumps(body)), SendTransactionPreflightFailureMessage
    )
    assert body["id"] == "9E312DD6"
    assert body["error"]["message"] == theirs["error"]["message"]
    for key, value in theirs["error"]["data"].items():
        assert body["error"]["data"][key] == value, key
    assert key_paths(theirs) <= key_paths(body)


# ------------------------------------------------------------------------- wrapped SOL, memo logs


NATIVE_MINT = "So11111111111111111111111111111111111111112"
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def test_the_native_mint_exists_so_wrapped_sol_answers(localnet):
    """As on a validator from genesis: wrapped SOL's mint, its supply, and its largest accounts."""
    from spl.token.instructions import sync_native
    from spl.token.models import SyncNativeParams

    supply = rpc(localnet, "getTokenSupply", [NATIVE_MINT])
    parse(responses.GetTokenSupplyResp, supply)
    assert supply["result"]["value"] == {"amount": "0", "decimals": 9, "uiAmount": 0.0, "uiAmountString": "0"}
    mint = rpc(localnet, "getAccountInfo", [NATIVE_MINT, {"encoding": "jsonParsed"}])["result"]["value"]
    assert mint["owner"] == str(TOKEN_PROGRAM_ID) and mint["lamports"] == 1_461_600
    assert mint["data"]["parsed"]["info"] == {
        "decimals": 9, "freezeAuthority": None, "isInitialized": True, "mintAuthority": None, "supply": "0",
    }  # fmt: skip

    holder = Keypair()
    localnet.airdrop(holder.pubkey(), LAMPORTS_PER_SOL)
    native = Pubkey.from_string(NATIVE_MINT)
    ata = localnet.ata(holder.pubkey(), native)
    send(
        localnet,
        [
            create_associated_token_account(holder.pubkey(), holder.pubkey(), native),
            transfer(TransferParams(from_pubkey=holder.pubkey(), to_pubkey=ata, lamports=250_000_000)),
            sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM_ID, account=ata)),
        ],
        [holder],
    )
    largest = rpc(localnet, "getTokenLargestAccounts", [NATIVE_MINT])
    parse(responses.GetTokenLargestAccountsResp, largest)
    assert largest["result"]["value"] == [
        {
            "address": str(ata),
            "amount": "250000000",
            "decimals": 9,
            "uiAmount": 0.25,
            "uiAmountString": "0.25",
        }
    ]


def test_memo_logs_are_the_deployed_programs(localnet):
    """`Memo (len N): "<text>"` on one line, the text escaped as Rust's {:?} does, len in bytes; the
    signers on `Signed by <address>` lines. Simulation shows the same logs as the transaction."""
    payer = Keypair()
    localnet.airdrop(payer.pubkey(), LAMPORTS_PER_SOL)
    text = 'Order "7"\n✓ café'
    memo = Instruction(MEMO_PROGRAM, text.encode(), [AccountMeta(payer.pubkey(), True, False)])
    blockhash, _ = localnet.ledger.latest_blockhash()
    tx = VersionedTransaction(Message.new_with_blockhash([memo], payer.pubkey(), blockhash), [payer])
    encoded = base64.b64encode(bytes(tx)).decode()
    simulated = rpc(localnet, "simulateTransaction", [encoded, {"encoding": "base64"}])["result"]["value"]
    signature = send(localnet, [memo], [payer])
    logs = rpc(localnet, "getTransaction", [signature])["result"]["meta"]["logMessages"]
    expected = [
        f"Program {MEMO_PROGRAM} invoke [1]",
        f"Program log: Signed by {payer.pubkey()}",
        'Program log: Memo (len 19): "Order \\"7\\"\\n✓ café"',
    ]
    assert logs[:3] == expected and logs[-1] == f"Program {MEMO_PROGRAM} success"
    assert simulated["logs"][:3] == expected
