"""Block history: getBlock, getBlocks, getBlocksWithLimit, getBlockTime, getBlockCommitment,
getFirstAvailableBlock, minimumLedgerSlot and getRecentPerformanceSamples.

A single-node cluster produces a block in every slot, so every slot from the chain's first one to the
current one is a block: its parent is the slot before, its blockhash is the ledger's blockhash of that slot,
its time is the chain time when the node reached it (slots the node passed in one step share the time of the
slot before them, as block times have one-second resolution anyway) and its transactions are the ones
executed in it, in order.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from .records import (
    BLOCK_HEIGHT_LAG,
    CONFIRMED,
    TxRecord,
)
from .rpc import (
    BLOCK_NOT_AVAILABLE,
    ErrorResponse,
    _commitment,
    _config,
    _param,
    check_transaction_version,
    invalid_params,
)

if TYPE_CHECKING:
    from .rpc import RpcHandlers

MAX_SLOT_RANGE = 500_000
SAMPLE_PERIOD_SECS = 60
MAX_PERFORMANCE_SAMPLES = 720
BLOCK_CLEANED_UP = -32001
TRANSACTION_DETAILS = ("full", "signatures", "accounts", "none")


class BlockMethods:
    """The block-history methods, over the ledger of an RpcHandlers (which they also use to encode)."""

    def __init__(self, handlers: RpcHandlers) -> None:
        self.handlers = handlers
        self.ledger = handlers.ledger
        self._times_index: tuple[int, list[int]] = (-1, [])

    def methods(self) -> dict[str, Any]:
        return {
            "getBlock": self.get_block,
            "getBlockCommitment": self.get_block_commitment,
            "getBlockTime": self.get_block_time,
            "getBlocks": self.get_blocks,
            "getBlocksWithLimit": self.get_blocks_with_limit,
            "getFirstAvailableBlock": lambda params: self.ledger.first_slot,
            "getRecentPerformanceSamples": self.get_recent_performance_samples,
            "minimumLedgerSlot": lambda params: self.ledger.first_slot,
        }

    # ------------------------------------------------------------------------------------------ lookups

    def _slot_arg(self, params: list, index: int = 0) -> int:
        slot = _param(params, index)
        if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
            raise invalid_params("Invalid params: expected a slot number (u64)")
        return slot

    def block_time(self, slot: int) -> int | None:
        """Unix time of the block at `slot`, None when the node has no such block."""
        ledger = self.ledger
        if not ledger.first_slot <= slot <= ledger.slot:
            return None
        known = ledger.block_time(slot)
        if known is not None:
            return known
        times = ledger._slot_times
        count, slots = self._times_index
        if count != len(times) or not slots or slots[-1] < slot:
            slots = sorted(times)
            self._times_index = (len(times), slots)
        index = bisect.bisect_right(slots, slot) - 1
        return times[slots[index]] if index >= 0 else None

    def _records_by_slot(self, first: int, last: int) -> dict[int, list[TxRecord]]:
        out: dict[int, list[TxRecord]] = {}
        for record in self.ledger.records():
            if first <= record.slot <= last:
                out.setdefault(record.slot, []).append(record)
        return out

    def _visible(self, records: list[TxRecord], level: int) -> bool:
        """A block is seen at a commitment level once every transaction in it has reached that level."""
        return all(self.ledger.commitment_of(record) >= level for record in records)

    def _block_commitment(self, config: dict[str, Any]) -> int:
        level = _commitment(config)
        if level < CONFIRMED:
            raise invalid_params("Method does not support commitment below `confirmed`")
        return level

    def _missing(self, slot: int) -> ErrorResponse:
        first = self.ledger.first_slot
        if slot < first:
            return ErrorResponse(
                BLOCK_CLEANED_UP,
                f"Block {slot} cleaned up, does not exist on node. First available block: {first}",
            )
        return ErrorResponse(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")

    # ------------------------------------------------------------------------------------------ methods

    def get_block_time(self, params: list) -> Any:
        slot = self._slot_arg(params)
        block_time = self.block_time(slot)
        if block_time is None:
            raise self._missing(slot)
        return block_time

    def get_block(self, params: list) -> Any:
        slot = self._slot_arg(params)
        config = _param(params, 1, {})
        if isinstance(config, str):  # deprecated form: the encoding alone
            config = {"encoding": config}
        if not isinstance(config, dict):
            raise invalid_params("Invalid params: expected a config object")
        config = {key: item for key, item in config.items() if item is not None}
        encoding = config.get("encoding", "json")
        if encoding not in ("json", "jsonParsed", "base64", "base58"):
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`")
        details = config.get("transactionDetails", "full")
        if details not in TRANSACTION_DETAILS:
            raise invalid_params(f"Invalid params: unknown variant `{details}`")
        level = self._block_commitment(config)
        max_version = config.get("maxSupportedTransactionVersion")
        block_time = self.block_time(slot)
        records = self._records_by_slot(slot, slot).get(slot, [])
        if block_time is None or not self._visible(records, level):
            raise self._missing(slot)
        block: dict[str, Any] = {
            "blockHeight": slot - BLOCK_HEIGHT_LAG,
            "blockTime": block_time,
            "blockhash": str(self.ledger.blockhash_of(slot)),
            # The genesis block is its own parent, as on a validator.
            "parentSlot": max(slot - 1, 0),
            "previousBlockhash": str(self.ledger.blockhash_of(max(slot - 1, 0))),
        }
        if details == "signatures":
            block["signatures"] = [str(record.signature) for record in records]
        elif details in ("full", "accounts"):
            for record in records:
                check_transaction_version(record, max_version)
            rewards = bool(config.get("rewards", True))
            block["transactions"] = [
                self._transaction(r, encoding, details, max_version, rewards) for r in records
            ]
        if config.get("rewards", True):
            block["rewards"] = []  # a single node with no stake rewards in its blocks
        return block

    def _transaction(
        self, record: TxRecord, encoding: str, details: str, max_version: Any, rewards: bool
    ) -> dict:
        include_version = max_version is not None
        if details == "full":
            encoded = self.handlers.encode_transaction(record, encoding, include_version=include_version)
            encoded.pop("slot", None)
            encoded.pop("blockTime", None)
            return encoded
        # "accounts": the signatures and account keys, and the balances part of the meta
        parsed = self.handlers.encode_transaction(record, "jsonParsed", include_version=include_version)
        meta = parsed["meta"]
        out: dict[str, Any] = {
            "transaction": {
                "accountKeys": parsed["transaction"]["message"]["accountKeys"],
                "signatures": parsed["transaction"]["signatures"],
            },
            "meta": {
                key: meta[key]
                for key in (
                    "err",
                    "fee",
                    "postBalances",
                    "postTokenBalances",
                    "preBalances",
                    "preTokenBalances",
                    "status",
                )
            },
        }
        if rewards:
            out["meta"]["rewards"] = []
        if include_version:
            out["version"] = parsed["version"]
        return out

    def _slot_range(self, start: int, end: int | None, level: int) -> list[int]:
        ledger = self.ledger
        last = ledger.slot if end is None else min(end, ledger.slot)
        first = max(start, ledger.first_slot)
        if last < first:
            return []
        by_slot = self._records_by_slot(first, last)
        return [s for s in range(first, last + 1) if self._visible(by_slot.get(s, []), level)]

    def get_blocks(self, params: list) -> Any:
        start = self._slot_arg(params)
        end = _param(params, 1)
        config_index = 1
        if isinstance(end, dict):  # getBlocks(start, {commitment})
            end = None
        else:
            config_index = 2
            if end is not None:
                end = self._slot_arg(params, 1)
        level = self._block_commitment(_config(params, config_index) if len(params) > config_index else {})
        if end is not None and end - start > MAX_SLOT_RANGE:
            raise invalid_params(f"Slot range too large; max {MAX_SLOT_RANGE}")
        if end is None and self.ledger.slot - start > MAX_SLOT_RANGE:
            raise invalid_params(f"Slot range too large; max {MAX_SLOT_RANGE}")
        return self._slot_range(start, end, level)

    def get_blocks_with_limit(self, params: list) -> Any:
        start = self._slot_arg(params)
        limit = _param(params, 1)
        if not isinstance(limit, int) or limit < 0 or limit > MAX_SLOT_RANGE:
            raise invalid_params(f"Limit too large; max {MAX_SLOT_RANGE}")
        level = self._block_commitment(_config(params, 2))
        if limit == 0:
            return []
        return self._slot_range(start, start + limit - 1, level)[:limit]

    def get_block_commitment(self, params: list) -> Any:
        """The stake that voted on the block, by lockout depth: on one node, all of it, at full depth."""
        slot = self._slot_arg(params)
        stake = self.handlers.cluster.total_stake
        if self.block_time(slot) is None:
            return {"commitment": None, "totalStake": stake}
        return {"commitment": [0] * 31 + [stake], "totalStake": stake}

    def get_recent_performance_samples(self, params: list) -> Any:
        """One sample per full minute of the node's life, newest first (nodes sample every 60 s)."""
        limit = _param(params, 0, MAX_PERFORMANCE_SAMPLES)
        if not isinstance(limit, int) or limit < 0 or limit > MAX_PERFORMANCE_SAMPLES:
            raise invalid_params(f"Invalid limit; max {MAX_PERFORMANCE_SAMPLES}")
        ledger = self.ledger
        times = dict(ledger._slot_times)
        if not times:
            return []
        now = int(ledger.now())
        start_time = min(times.values())
        full_windows = min(limit, max(0, (now - start_time) // SAMPLE_PERIOD_SECS))
        last_slot: dict[int, int] = {}  # window index (0 = the last minute) -> its last slot
        for slot, moment in times.items():
            index = max(0, now - moment) // SAMPLE_PERIOD_SECS
            if index <= full_windows:
                last_slot[index] = max(last_slot.get(index, slot), slot)
        counts: dict[int, int] = {}
        for record in ledger.records():
            counts[record.slot] = counts.get(record.slot, 0) + 1
        samples = []
        for index in range(full_windows):
            if index not in last_slot:
                continue
            last = last_slot[index]
            older = [last_slot[i] for i in range(index + 1, full_windows + 1) if i in last_slot]
            first = older[0] + 1 if older else ledger.first_slot
            n = sum(counts.get(s, 0) for s in range(first, last + 1))
            samples.append(
                {
                    "numNonVoteTransactions": n,
                    "numSlots": last - first + 1,
                    "numTransactions": n,
                    "samplePeriodSecs": SAMPLE_PERIOD_SECS,
                    "slot": last,
                }
            )
        return samples
