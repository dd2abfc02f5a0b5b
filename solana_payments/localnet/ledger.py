"""The chain behind the local RPC: LiteSVM plus what a real node keeps and LiteSVM does not.

LiteSVM executes transactions with the real System, Token, Token-2022 and ATA programs, but it has no
slots that advance, no block times, no transaction history with balances, no address index and no
blockhash window. `Ledger` adds those, behind one re-entrant lock (LiteSVM is not thread safe).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Any

from solders.account import Account
from solders.clock import Clock
from solders.epoch_schedule import EpochSchedule
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.token.state import Mint
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import TransactionErrorFieldless

from .encoding import (
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    NATIVE_MINT,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAM,
    TOKEN_PROGRAM_NAMES,
    MintState,
    decode_mint,
    decode_token_account,
    error_text,
)
from .logs import node_logs
from .records import (
    BLOCK_HEIGHT_LAG,
    CONFIRMED,
    FINALIZED,
    GENESIS_SLOT,
    LAMPORTS_PER_SOL,
    PROCESSED,
    LedgerError,
    TokenBalance,
    TransactionRejected,
    TxRecord,
    _cost_units,
    _memo,
    seeded_keypair,
)


class Ledger:
    """LiteSVM with slots, block times, a blockhash window and a history of transactions.

    Every public method takes the lock; the RPC layer may also hold it (it is re-entrant) to read a
    consistent view across several calls.
    """

    def __init__(
        self,
        *,
        slots_per_second: float = 2.5,
        blockhash_validity_slots: int = 150,
        fee_payer_lamports: int = 1_000 * LAMPORTS_PER_SOL,
    ) -> None:
        self.lock = threading.RLock()
        self.slots_per_second = slots_per_second
        self.blockhash_validity_slots = blockhash_validity_slots
        self.fee_payer_lamports = fee_payer_lamports
        self.fee_payer = seeded_keypair("fee-payer")
        self.mint_authority = seeded_keypair("mint-authority")
        self.faucet = seeded_keypair("faucet")
        self.mints: dict[str, Pubkey] = {
            "USDC": seeded_keypair("mint:USDC").pubkey(),
            "PYUSD": seeded_keypair("mint:PYUSD").pubkey(),
        }
        self.mint_programs: dict[str, Pubkey] = {"USDC": TOKEN_PROGRAM, "PYUSD": TOKEN_2022_PROGRAM}
        self.mint_decimals: dict[str, int] = {"USDC": 6, "PYUSD": 6}
        self.confirmation_delay = 0.0
        self.finalization_delay = 0.0
        self.finalized_lag_slots = 0  # > 0: finalized account reads see the state of that many slots ago
        self._slot = GENESIS_SLOT - 1
        self.reset()

    # ------------------------------------------------------------------------------------------ state

    def reset(self) -> None:
        """A fresh chain: new LiteSVM, funded fee payer and faucet, the demo mints, empty history.

        Slots keep increasing across resets, so a client never sees the chain go back in time.
        """
        with self.lock:
            svm = LiteSVM()
            svm.with_blockhash_check(False)  # the window is enforced here, on our own slots
            svm.with_sigverify(False)  # signatures are checked by sendTransaction itself
            svm.set_epoch_schedule(EpochSchedule.without_warmup())
            self.svm = svm
            # LiteSVM derives the same blockhash sequence in every instance, so a reset or a restart would
            # hand out blockhashes used before, and a client's transaction signed again over one of them is
            # refused as already processed. Blockhashes are this ledger's own, unique to each chain.
            self._hash_seed = os.urandom(16)
            self.time_offset = 0.0
            self._advanced = 0.0
            self.transaction_count = 0
            self._txs: dict[Signature, TxRecord] = {}
            self._by_address: dict[Pubkey, list[TxRecord]] = {}
            self.written_accounts: set[Pubkey] = set()  # set directly, outside any transaction
            # While finalized reads lag: per account, (slot, its state before a transaction of that slot).
            self._earlier_states: dict[Pubkey, list[tuple[int, Account | None]]] = {}
            self._blockhashes: dict[Hash, int] = {}  # blockhash -> last valid block height
            self._slot_times: dict[int, int] = {}
            self._base_slot = self._slot + 1
            self._base_progress = self.progress()
            self._bumps = 0
            self._set_slot(self._base_slot)
            svm.set_account(self.fee_payer.pubkey(), Account(self.fee_payer_lamports, b"", SYSTEM_PROGRAM))
            svm.set_account(self.faucet.pubkey(), Account(10**17, b"", SYSTEM_PROGRAM))
            mint_rent = svm.minimum_balance_for_rent_exemption(82)
            # Wrapped SOL's mint, as a validator's genesis has it: no authority, no supply, 9 decimals.
            native = Mint(None, 0, 9, True, None)
            svm.set_account(NATIVE_MINT, Account(mint_rent, bytes(native), TOKEN_PROGRAM))
            for symbol, address in self.mints.items():
                mint = Mint(self.mint_authority.pubkey(), 0, self.mint_decimals[symbol], True, None)
                svm.set_account(address, Account(mint_rent, bytes(mint), self.mint_programs[symbol]))

    def now(self) -> float:
        """Chain time: the wall clock shifted by the test offset."""
        return time.time() + self.time_offset

    def progress(self) -> float:
        """A clock that never goes back: monotonic time plus every forward shift of the chain clock.

        Slots and confirmation ages run on it, so moving the chain clock back (a negative offset, to
        make block times look old) neither stalls slots nor un-confirms transactions, and moving it
        forward advances slots, expires blockhashes and confirms transactions.
        """
        return time.monotonic() + self._advanced

    def set_time_offset(self, seconds: float) -> None:
        """Block times = wall clock + `seconds` from now on."""
        with self.lock:
            delta = float(seconds) - self.time_offset
            self.time_offset = float(seconds)
            self._advanced += max(0.0, delta)
            self.sync()

    def advance_time(self, seconds: float) -> None:
        """Move the chain clock forward; slots advance with it, so old blockhashes expire."""
        with self.lock:
            self.time_offset += float(seconds)
            self._advanced += max(0.0, float(seconds))
            self.sync()

    @property
    def slot(self) -> int:
        with self.lock:
            self.sync()
            return self._slot

    @property
    def block_height(self) -> int:
        with self.lock:
            self.sync()
            return self._slot - BLOCK_HEIGHT_LAG

    def sync(self) -> None:
        """Advance the slot to what the chain clock says (2.5 slots a second by default)."""
        with self.lock:
            elapsed = max(0.0, self.progress() - self._base_progress)
            target = self._base_slot + int(elapsed * self.slots_per_second) + self._bumps
            if target > self._slot:
                self._set_slot(target)

    def block_time(self, slot: int) -> int | None:
        """Unix time of a slot the chain stopped at (None for slots it skipped over)."""
        with self.lock:
            return self._slot_times.get(slot)

    def _set_clock(self) -> int:
        """Point the on-chain Clock sysvar at the current slot and chain time; returns that unix time."""
        slot = self._slot
        unix = int(self.now())
        self._slot_times[slot] = unix
        schedule = self.svm.get_epoch_schedule()
        epoch = schedule.get_epoch(slot)
        self.svm.set_clock(Clock(slot, unix, epoch, schedule.get_leader_schedule_epoch(slot), unix))
        return unix

    def _set_slot(self, slot: int) -> None:
        self._slot = slot
        if len(self._slot_times) > 200_000:  # a long-running demo: keep the recent ones
            self._slot_times = {s: t for s, t in self._slot_times.items() if s > slot - 100_000}
        svm = self.svm
        svm.warp_to_slot(slot)
        self._set_clock()
        block_height = slot - BLOCK_HEIGHT_LAG
        self._blockhashes[self.blockhash_of(slot)] = block_height + self.blockhash_validity_slots
        if len(self._blockhashes) > 4 * self.blockhash_validity_slots:
            floor = block_height - 2 * self.blockhash_validity_slots
            self._blockhashes = {h: v for h, v in self._blockhashes.items() if v >= floor}

    # -------------------------------------------------------------------------------------- blockhash

    def blockhash_of(self, slot: int) -> Hash:
        """The blockhash of a slot: every slot has its own, and no two chains share one."""
        return Hash(hashlib.sha256(self._hash_seed + slot.to_bytes(8, "little")).digest())

    def latest_blockhash(self) -> tuple[Hash, int]:
        """(blockhash, lastValidBlockHeight)."""
        with self.lock:
            self.sync()
            blockhash = self.blockhash_of(self._slot)
            return blockhash, self._blockhashes[blockhash]

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        with self.lock:
            self.sync()
            last_valid = self._blockhashes.get(blockhash)
            return last_valid is not None and self._slot - BLOCK_HEIGHT_LAG <= last_valid

    # --------------------------------------------------------------------------------------- accounts

    def get_account(self, pubkey: Pubkey) -> Account | None:
        """The account, or None when it does not exist (nodes treat a 0-lamport account as absent)."""
        with self.lock:
            account = self.svm.get_account(pubkey)
            return account if account is not None and account.lamports > 0 else None

    def get_balance(self, pubkey: Pubkey) -> int:
        with self.lock:
            return self.svm.get_balance(pubkey) or 0

    def view_slot(self, commitment: int) -> int:
        """The slot whose state a read at `commitment` sees (finalized trails by `finalized_lag_slots`)."""
        with self.lock:
            self.sync()
            if commitment >= FINALIZED and self.finalized_lag_slots > 0:
                return max(self._base_slot, self._slot - self.finalized_lag_slots)
            return self._slot

    def account_at(self, pubkey: Pubkey, commitment: int) -> Account | None:
        """`get_account` as a read at `commitment` sees it: a lagging finalized view answers the state the
        account had before the first transaction that changed it after the view's slot."""
        with self.lock:
            view = self.view_slot(commitment)
            if view < self._slot:
                for slot, account in self._earlier_states.get(pubkey, ()):
                    if slot > view:
                        return account if account is not None and account.lamports > 0 else None
            return self.get_account(pubkey)

    def _remember_states(self, keys: list[Pubkey]) -> dict[Pubkey, Account | None]:
        if self.finalized_lag_slots <= 0:
            return {}
        return {key: self.svm.get_account(key) for key in dict.fromkeys(keys)}

    def _keep_earlier_states(self, states: dict[Pubkey, Account | None]) -> None:
        horizon = self._slot - self.finalized_lag_slots
        for key, account in states.items():
            history = [entry for entry in self._earlier_states.get(key, ()) if entry[0] > horizon]
            history.append((self._slot, account))
            self._earlier_states[key] = history

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        with self.lock:
            self.svm.set_account(pubkey, account)
            self.written_accounts.add(pubkey)

    def mint_state(self, mint: Pubkey) -> MintState | None:
        with self.lock:
            return decode_mint(self.svm.get_account(mint))

    def program_accounts(self, program_id: Pubkey) -> list[tuple[Pubkey, Account]]:
        with self.lock:
            return [(k, a) for k, a in self.svm.get_program_accounts(program_id) if a.lamports > 0]

    def minimum_balance_for_rent_exemption(self, size: int) -> int:
        with self.lock:
            return self.svm.minimum_balance_for_rent_exemption(size)

    def resolve_mint(self, mint: Pubkey | str) -> Pubkey:
        if isinstance(mint, str):
            return self.mints[mint] if mint in self.mints else Pubkey.from_string(mint)
        return mint

    def token_program_of(self, mint: Pubkey) -> Pubkey:
        with self.lock:
            account = self.svm.get_account(mint)
            if account is None or account.owner not in TOKEN_PROGRAM_NAMES:
                raise LedgerError(f"{mint} is not a token mint")
            return account.owner

    def ata(self, owner: Pubkey, mint: Pubkey | str) -> Pubkey:
        """The associated token account of `owner` for `mint`, under the mint's token program."""
        mint = self.resolve_mint(mint)
        return get_associated_token_address(owner, mint, self.token_program_of(mint))

    # ------------------------------------------------------------------------------------ transactions

    def resolve_keys(self, message: Message | MessageV0) -> tuple[list[Pubkey], list[Pubkey]]:
        """Addresses loaded from lookup tables: (writable, readonly). Raises TransactionRejected."""
        lookups = getattr(message, "address_table_lookups", None) or []
        writable: list[Pubkey] = []
        readonly: list[Pubkey] = []
        for lookup in lookups:
            table = self.svm.get_account(lookup.account_key)
            if table is None:
                raise TransactionRejected(TransactionErrorFieldless.AddressLookupTableNotFound)
            if table.owner != ADDRESS_LOOKUP_TABLE_PROGRAM:
                raise TransactionRejected(TransactionErrorFieldless.InvalidAddressLookupTableOwner)
            data = bytes(table.data)[56:]
            addresses = [Pubkey.from_bytes(data[i : i + 32]) for i in range(0, len(data) - 31, 32)]
            try:
                writable += [addresses[i] for i in bytes(lookup.writable_indexes)]
                readonly += [addresses[i] for i in bytes(lookup.readonly_indexes)]
            except IndexError:
                raise TransactionRejected(TransactionErrorFieldless.InvalidAddressLookupTableIndex) from None
        return writable, readonly

    def _token_balances(self, keys: list[Pubkey]) -> list[TokenBalance]:
        balances = []
        for index, key in enumerate(keys):
            token = decode_token_account(self.svm.get_account(key))
            if token is None:
                continue
            mint = decode_mint(self.svm.get_account(token.mint))
            if mint is None:
                continue
            balances.append(
                TokenBalance(index, token.mint, token.owner, token.program_id, token.amount, mint.decimals)
            )
        return balances

    def check_transaction(self, tx: VersionedTransaction) -> None:
        """The load checks a node does before executing: duplicate, then blockhash age."""
        signature = tx.signatures[0]
        if signature in self._txs:
            raise TransactionRejected(TransactionErrorFieldless.AlreadyProcessed)
        if not self.is_blockhash_valid(tx.message.recent_blockhash):
            raise TransactionRejected(TransactionErrorFieldless.BlockhashNotFound)

    def simulate(self, tx: VersionedTransaction):
        """LiteSVM simulation on current state: SimulatedTransactionInfo or FailedTransactionMetadata."""
        with self.lock:
            self.sync()
            self._set_clock()
            return self.svm.simulate_transaction(tx)

    def preflight(self, tx: VersionedTransaction) -> None:
        """What sendTransaction does without skipPreflight: load checks, then a simulation."""
        with self.lock:
            self.sync()
            self.check_transaction(tx)
            self.resolve_keys(tx.message)
            self._set_clock()
            result = self.svm.simulate_transaction(tx)
            if isinstance(result, FailedTransactionMetadata):
                meta = result.meta()
                return_data = meta.return_data()
                raise TransactionRejected(
                    result.err(),
                    node_logs(list(meta.logs())),
                    meta.compute_units_consumed(),
                    return_data if return_data is not None and bytes(return_data.data) else None,
                )

    def execute(self, tx: VersionedTransaction) -> TxRecord | None:
        """Run a transaction for real. Returns its record, or None when it was dropped without being
        stored (a duplicate, an expired blockhash, a load failure), as a node drops such transactions."""
        with self.lock:
            self.sync()
            try:
                self.check_transaction(tx)
                loaded_w, loaded_r = self.resolve_keys(tx.message)
            except TransactionRejected:
                return None
            keys = list(tx.message.account_keys) + loaded_w + loaded_r
            pre = [self.svm.get_balance(k) or 0 for k in keys]
            pre_tokens = self._token_balances(keys)
            earlier = self._remember_states(keys)
            block_time = self._set_clock()  # the chain clock may have been shifted since the slot began
            result = self.svm.send_transaction(tx)
            signature = tx.signatures[0]
            if isinstance(result, FailedTransactionMetadata):
                if self.svm.get_transaction(signature) is None:
                    return None  # load failure: not stored, no fee
                meta, err = result.meta(), result.err()
            else:
                meta, err = result, None
            return_data = meta.return_data()
            if return_data is not None and not bytes(return_data.data):
                return_data = None
            self.transaction_count += 1
            self._keep_earlier_states(earlier)
            record = TxRecord(
                signature=signature,
                transaction=tx,
                sequence=self.transaction_count,
                slot=self._slot,
                block_time=block_time,
                executed_at=self.progress(),
                err=err,
                fee=meta.fee(),
                logs=node_logs(list(meta.logs())),
                inner_instructions=[list(group) for group in meta.inner_instructions()],
                compute_units=meta.compute_units_consumed(),
                return_data=return_data,
                loaded_writable=loaded_w,
                loaded_readonly=loaded_r,
                pre_balances=pre,
                post_balances=[self.svm.get_balance(k) or 0 for k in keys],
                pre_token_balances=pre_tokens,
                post_token_balances=self._token_balances(keys),
                memo=_memo(tx.message),
                account_keys=keys,
            )
            record.cost_units = _cost_units(tx.message, record, len(loaded_w))
            self._txs[signature] = record
            for key in dict.fromkeys(keys):
                self._by_address.setdefault(key, []).append(record)
            return record

    # ---------------------------------------------------------------------------------------- history

    def get_record(self, signature: Signature) -> TxRecord | None:
        with self.lock:
            return self._txs.get(signature)

    def records(self) -> list[TxRecord]:
        """Every transaction this chain executed, oldest first."""
        with self.lock:
            return list(self._txs.values())

    @property
    def first_slot(self) -> int:
        """The oldest slot this chain has a block for (a reset starts history afresh)."""
        with self.lock:
            return min(self._slot_times, default=self._base_slot)

    def commitment_of(self, record: TxRecord) -> int:
        """processed -> confirmed -> finalized as the configured delays pass (chain time)."""
        age = self.progress() - record.executed_at
        if age < self.confirmation_delay:
            return PROCESSED
        if age < max(self.confirmation_delay, self.finalization_delay):
            return CONFIRMED
        return FINALIZED

    def signatures_for_address(
        self,
        address: Pubkey,
        *,
        limit: int = 1000,
        before: Signature | None = None,
        until: Signature | None = None,
        min_commitment: int = FINALIZED,
    ) -> list[TxRecord]:
        """Newest first, `before` and `until` exclusive, only those at `min_commitment` or higher."""
        with self.lock:
            self.sync()
            records = self._by_address.get(address, [])
            start = len(records)
            if before is not None:
                anchor = self._txs.get(before)
                if anchor is None:
                    return []
                start = next((i for i, r in enumerate(records) if r.sequence >= anchor.sequence), start)
            stop_sequence = -1
            if until is not None:
                anchor = self._txs.get(until)
                if anchor is not None:
                    stop_sequence = anchor.sequence
            out = []
            for record in reversed(records[:start]):
                if record.sequence <= stop_sequence:
                    break
                if self.commitment_of(record) < min_commitment:
                    continue
                out.append(record)
                if len(out) >= limit:
                    break
            return out

    # ------------------------------------------------------------------------------------- conveniences

    def _send_own(self, instructions: list, payer: Keypair, signers: list[Keypair]) -> TxRecord:
        with self.lock:
            # The faucet's own transfers each get a slot (and blockhash) of their own, so two identical
            # airdrops are two transactions. Clients' transactions share slots as on a real node, so a
            # blockhash stays valid for ~150 slots (about a minute) however many transactions land.
            # Catch up with the clock first: after a quiet minute the slot last looked at is more than
            # ~150 slots behind, and a blockhash taken from it would be refused by execute()'s own
            # catching-up (the demo's "simulate customer payment" failed with HTTP 400 that way).
            self.sync()
            self._bumps += 1
            self._set_slot(self._slot + 1)
            message = Message.new_with_blockhash(instructions, payer.pubkey(), self.blockhash_of(self._slot))
            tx = VersionedTransaction(message, [payer, *signers])
            record = self.execute(tx)
            if record is None:
                raise LedgerError("transaction was rejected before execution")
            if record.err is not None:
                raise LedgerError(f"transaction failed: {error_text(record.err_json)}; logs: {record.logs}")
            return record

    def airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        """A System transfer from the faucet: recorded in history like any transfer."""
        ix = transfer(TransferParams(from_pubkey=self.faucet.pubkey(), to_pubkey=pubkey, lamports=lamports))
        return self._send_own([ix], self.faucet, []).signature

    def mint_to(self, mint: Pubkey | str, owner: Pubkey, amount: int) -> Signature:
        """Create `owner`'s ATA if needed (under the mint's program) and mint `amount` base units to it."""
        from spl.token.instructions import create_idempotent_associated_token_account, mint_to
        from spl.token.models import MintToParams

        with self.lock:
            mint = self.resolve_mint(mint)
            program = self.token_program_of(mint)
            ata = get_associated_token_address(owner, mint, program)
            instructions = [
                create_idempotent_associated_token_account(self.faucet.pubkey(), owner, mint, program),
                mint_to(
                    MintToParams(
                        program_id=program,
                        mint=mint,
                        dest=ata,
                        mint_authority=self.mint_authority.pubkey(),
                        amount=amount,
                    )
                ),
            ]
            return self._send_own(instructions, self.faucet, [self.mint_authority]).signature

    # -------------------------------------------------------------------------------------- persistence

    def state(self) -> dict[str, Any]:
        """What a restarted node needs (LiteSVM cannot list its accounts): every account a transaction
        touched or that was written directly, the transaction history, the slot and the blockhash seed."""
        with self.lock:
            self.sync()
            addresses = set(self._by_address) | self.written_accounts
            addresses |= {self.fee_payer.pubkey(), self.faucet.pubkey(), *self.mints.values()}
            accounts = {}
            for address in addresses:
                account = self.svm.get_account(address)
                if account is not None and account.lamports > 0:
                    accounts[bytes(address)] = (
                        account.lamports,
                        bytes(account.data),
                        bytes(account.owner),
                        account.executable,
                        account.rent_epoch,
                    )
            return {
                "slot": self._slot,
                "transaction_count": self.transaction_count,
                "slot_times": dict(self._slot_times),
                "hash_seed": self._hash_seed,
                "records": sorted(self._txs.values(), key=lambda record: record.sequence),
                "accounts": accounts,
            }

    def restore_state(self, state: dict[str, Any]) -> None:
        """A fresh chain holding what ``state()`` saved."""
        with self.lock:
            self._slot = max(self._slot, state["slot"])
            self.reset()
            for address, (lamports, data, owner, executable, rent_epoch) in state["accounts"].items():
                self.set_account(
                    Pubkey(address), Account(lamports, data, Pubkey(owner), executable, rent_epoch)
                )
            self.transaction_count = state["transaction_count"]
            self._slot_times.update(state["slot_times"])
            if "hash_seed" in state:  # the blocks of the saved slots keep their blockhashes
                self._hash_seed = state["hash_seed"]
                self._blockhashes.clear()
                self._set_slot(self._slot)
            for record in state["records"]:
                self._txs[record.signature] = record
                for key in dict.fromkeys(record.account_keys):
                    self._by_address.setdefault(key, []).append(record)
