"""What the local node records of a transaction, and what it works out from a message (flags, compute
budget, fee, memo, cost units), apart from the ledger that keeps them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import InnerInstruction

from .encoding import (
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    MEMO_PROGRAMS,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    error_json,
    error_text,
)

LAMPORTS_PER_SOL = 1_000_000_000
LAMPORTS_PER_SIGNATURE = 5_000
MAX_TRANSACTION_SIZE = 1232

PROCESSED, CONFIRMED, FINALIZED = 0, 1, 2
COMMITMENT_LEVELS = {
    "processed": PROCESSED,
    "confirmed": CONFIRMED,
    "finalized": FINALIZED,
    # deprecated names still accepted by nodes
    "recent": PROCESSED,
    "single": CONFIRMED,
    "singleGossip": CONFIRMED,
    "root": FINALIZED,
    "max": FINALIZED,
}
COMMITMENT_NAMES = {PROCESSED: "processed", CONFIRMED: "confirmed", FINALIZED: "finalized"}

GENESIS_SLOT = 0  # a fresh chain has blocks from slot 0 on, as solana-test-validator's has
BLOCK_HEIGHT_LAG = 0  # block height = slot: a single node skips no slot
STATUS_CACHE_SLOTS = 300  # statuses found without searchTransactionHistory

_SEED_PREFIX = b"solana_payments.localnet:"


def seeded_keypair(name: str) -> Keypair:
    """A keypair derived from a fixed name, the same on every run."""
    return Keypair.from_seed(hashlib.sha256(_SEED_PREFIX + name.encode()).digest())


class LedgerError(Exception):
    """A helper operation (airdrop, mint_to) failed on chain."""


class TransactionRejected(Exception):
    """sendTransaction's preflight refused a transaction (the RPC layer turns it into -32002)."""

    def __init__(
        self, err: Any, logs: list[str] | None = None, units_consumed: int = 0, return_data: Any = None
    ):
        self.err = err
        self.err_json = error_json(err)
        self.logs = logs or []
        self.units_consumed = units_consumed
        self.return_data = return_data
        super().__init__(error_text(self.err_json))


@dataclass
class TokenBalance:
    account_index: int
    mint: Pubkey
    owner: Pubkey
    program_id: Pubkey
    amount: int
    decimals: int


@dataclass
class TxRecord:
    """One executed transaction, with everything getTransaction and friends need."""

    signature: Signature
    transaction: VersionedTransaction
    sequence: int
    slot: int
    block_time: int
    executed_at: float  # on the progress clock (see Ledger.progress)
    err: Any  # solders TransactionErrorType or None
    fee: int
    logs: list[str]
    inner_instructions: list[list[InnerInstruction]]
    compute_units: int
    return_data: Any  # TransactionReturnData or None
    loaded_writable: list[Pubkey]
    loaded_readonly: list[Pubkey]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[TokenBalance]
    post_token_balances: list[TokenBalance]
    memo: str | None = None
    cost_units: int = 0
    account_keys: list[Pubkey] = field(default_factory=list)

    @property
    def err_json(self) -> Any:
        return error_json(self.err)


def message_flags(message: Message | MessageV0) -> tuple[list[bool], list[bool]]:
    """(signer, writable) flags of the static account keys, with programs and builtins demoted."""
    header = message.header
    keys = list(message.account_keys)
    n_signed = header.num_required_signatures
    invoked = {keys[ix.program_id_index] for ix in message.instructions}
    signer, writable = [], []
    for i, key in enumerate(keys):
        is_signer = i < n_signed
        if is_signer:
            w = i < n_signed - header.num_readonly_signed_accounts
        else:
            w = i < len(keys) - header.num_readonly_unsigned_accounts
        if key in invoked or key in _BUILTINS or str(key).startswith("Sysvar"):
            w = False
        signer.append(is_signer)
        writable.append(w)
    return signer, writable


_BUILTINS = {
    SYSTEM_PROGRAM,
    TOKEN_PROGRAM,
    TOKEN_2022_PROGRAM,
    COMPUTE_BUDGET_PROGRAM,
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    *MEMO_PROGRAMS,
}


def compute_budget(message: Message | MessageV0) -> tuple[int, int]:
    """(compute unit limit, micro-lamports per CU) requested by ComputeBudget instructions."""
    keys = list(message.account_keys)
    limit = None
    price = 0
    others = 0
    for ix in message.instructions:
        program = keys[ix.program_id_index]
        data = bytes(ix.data)
        if program == COMPUTE_BUDGET_PROGRAM and data:
            if data[0] == 2 and len(data) >= 5:
                limit = int.from_bytes(data[1:5], "little")
            elif data[0] == 3 and len(data) >= 9:
                price = int.from_bytes(data[1:9], "little")
        else:
            others += 1
    if limit is None:
        limit = min(200_000 * others, 1_400_000)
    return limit, price


def message_fee(message: Message | MessageV0) -> int:
    limit, price = compute_budget(message)
    priority = (limit * price + 999_999) // 1_000_000
    return LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures + priority


def _memo(message: Message | MessageV0) -> str | None:
    keys = list(message.account_keys)
    memos = []
    for ix in message.instructions:
        if keys[ix.program_id_index] in MEMO_PROGRAMS:
            text = bytes(ix.data).decode("utf-8", errors="replace")
            memos.append(f"[{len(text.encode())}] {text}")
    return "; ".join(memos) if memos else None


def _cost_units(message: Message | MessageV0, record: TxRecord, n_loaded_writable: int) -> int:
    """An estimate of the block cost the way nodes report `costUnits` (signatures, write locks,
    instruction data, executed compute units)."""
    _signer, writable = message_flags(message)
    data_bytes = sum(len(bytes(ix.data)) for ix in message.instructions)
    return (
        720 * message.header.num_required_signatures
        + 300 * (sum(writable) + n_loaded_writable)
        + data_bytes // 4
        + record.compute_units
    )
