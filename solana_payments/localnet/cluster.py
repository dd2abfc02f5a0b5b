"""The cluster as one node sees it: getClusterNodes, getEpochSchedule, getLeaderSchedule, getSlotLeader(s),
getVoteAccounts, getSupply, getLargestAccounts, getInflationGovernor, getInflationRate,
getInflationReward and validatorExit.

The local chain is a single-node cluster: its identity leads every slot and holds all the stake. It has no
gossip, TPU or repair service (those contact addresses are null), its vote account is not an on-chain
account, and it pays no staking rewards (getInflationReward answers null for every address).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from solders.pubkey import Pubkey

from .encoding import ADDRESS_LOOKUP_TABLE_PROGRAM, SYSTEM_PROGRAM, TOKEN_2022_PROGRAM, TOKEN_PROGRAM
from .records import (
    LAMPORTS_PER_SOL,
    seeded_keypair,
)
from .rpc import API_VERSION, FEATURE_SET, _commitment, _config, _param, _pubkey, invalid_params

if TYPE_CHECKING:
    from .rpc import RpcHandlers

MAX_SLOT_LEADERS = 5000
LARGEST_ACCOUNTS = 20
SHRED_VERSION = 1
# Agave's default genesis inflation (Inflation::default()) and its year length in slots (400 ms slots).
INFLATION = {"initial": 0.08, "terminal": 0.015, "taper": 0.15, "foundation": 0.05, "foundationTerm": 7.0}
SLOTS_PER_YEAR = 365.242_199 * 24 * 60 * 60 * 160 / 64

# Owners whose accounts make up the supply: LiteSVM can list accounts by owner only.
_SUPPLY_OWNERS = [
    SYSTEM_PROGRAM,
    TOKEN_PROGRAM,
    TOKEN_2022_PROGRAM,
    ADDRESS_LOOKUP_TABLE_PROGRAM,
    *(
        Pubkey.from_string(key)
        for key in (
            "Sysvar1111111111111111111111111111111111111",
            "NativeLoader1111111111111111111111111111111",
            "BPFLoader1111111111111111111111111111111111",
            "BPFLoader2111111111111111111111111111111111",
            "BPFLoaderUpgradeab1e11111111111111111111111",
            "Vote111111111111111111111111111111111111111",
            "Stake11111111111111111111111111111111111111",
            "Config1111111111111111111111111111111111111",
            "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
        )
    ),
]


class ClusterMethods:
    """Cluster and economics methods of a single node."""

    total_stake = 500 * LAMPORTS_PER_SOL

    def __init__(self, handlers: RpcHandlers) -> None:
        self.handlers = handlers
        self.ledger = handlers.ledger
        self.vote_account = seeded_keypair("vote-account").pubkey()
        # where the node serves JSON-RPC and websockets, set by the server once it listens
        self.rpc_address: str | None = None
        self.pubsub_address: str | None = None

    @property
    def identity(self) -> Pubkey:
        return self.ledger.faucet.pubkey()

    def methods(self) -> dict[str, Any]:
        return {
            "getClusterNodes": self.get_cluster_nodes,
            "getEpochSchedule": self.get_epoch_schedule,
            "getInflationGovernor": lambda params: dict(INFLATION),
            "getInflationRate": self.get_inflation_rate,
            "getInflationReward": self.get_inflation_reward,
            "getLargestAccounts": self.get_largest_accounts,
            "getLeaderSchedule": self.get_leader_schedule,
            "getSlotLeader": lambda params: str(self.identity),
            "getSlotLeaders": self.get_slot_leaders,
            "getSupply": self.get_supply,
            "getVoteAccounts": self.get_vote_accounts,
            "validatorExit": lambda params: False,  # nodes answer false unless started with --enable-rpc-exit
        }

    # ------------------------------------------------------------------------------------- the node

    def get_cluster_nodes(self, params: list) -> Any:
        return [
            {
                "featureSet": FEATURE_SET,
                "gossip": None,
                "pubkey": str(self.identity),
                "pubsub": self.pubsub_address,
                "rpc": self.rpc_address,
                "serveRepair": None,
                "shredVersion": SHRED_VERSION,
                "tpu": None,
                "tpuForwards": None,
                "tpuForwardsQuic": None,
                "tpuQuic": None,
                "tpuVote": None,
                "tvu": None,
                "version": API_VERSION,
            }
        ]

    def get_epoch_schedule(self, params: list) -> Any:
        schedule = self.ledger.svm.get_epoch_schedule()
        return {
            "firstNormalEpoch": schedule.first_normal_epoch,
            "firstNormalSlot": schedule.first_normal_slot,
            "leaderScheduleSlotOffset": schedule.leader_schedule_slot_offset,
            "slotsPerEpoch": schedule.slots_per_epoch,
            "warmup": schedule.warmup,
        }

    def get_leader_schedule(self, params: list) -> Any:
        """The identity leads every slot of the epoch (slot indexes relative to the epoch's first slot)."""
        slot = _param(params, 0)
        config_index = 1
        if isinstance(slot, dict):
            slot, config_index = None, 0
        config = _config(params, config_index)
        _commitment(config)
        schedule = self.ledger.svm.get_epoch_schedule()
        current = self.ledger.slot
        epoch = schedule.get_epoch(current if slot is None else int(slot))
        if epoch > schedule.get_leader_schedule_epoch(current):
            return None
        identity = config.get("identity")
        if identity is not None and _pubkey(identity) != self.identity:
            return {}
        return {str(self.identity): list(range(schedule.get_slots_in_epoch(epoch)))}

    def get_slot_leaders(self, params: list) -> Any:
        start, limit = _param(params, 0), _param(params, 1)
        if not isinstance(start, int) or start < 0:
            raise invalid_params("Invalid params: expected a start slot")
        if not isinstance(limit, int) or limit < 0 or limit > MAX_SLOT_LEADERS:
            raise invalid_params(f"Invalid limit; max {MAX_SLOT_LEADERS}")
        return [str(self.identity)] * limit

    def get_vote_accounts(self, params: list) -> Any:
        config = _config(params, 0)
        _commitment(config)
        wanted = config.get("votePubkey")
        if wanted is not None and _pubkey(wanted) != self.vote_account:
            return {"current": [], "delinquent": []}
        slot = self.ledger.slot
        schedule = self.ledger.svm.get_epoch_schedule()
        epoch = schedule.get_epoch(slot)
        credits = slot - self.ledger.first_slot
        return {
            "current": [
                {
                    "activatedStake": self.total_stake,
                    "commission": 0,
                    "epochCredits": [[epoch, credits, 0]],
                    "epochVoteAccount": True,
                    "lastVote": slot,
                    "nodePubkey": str(self.identity),
                    "rootSlot": slot,
                    "votePubkey": str(self.vote_account),
                }
            ],
            "delinquent": [],
        }

    # ------------------------------------------------------------------------------------- economics

    def _accounts(self) -> list[tuple[Pubkey, int]]:
        """(address, lamports) of every account the node can list."""
        seen: dict[Pubkey, int] = {}
        for owner in _SUPPLY_OWNERS:
            for address, account in self.ledger.program_accounts(owner):
                seen[address] = account.lamports
        for address in self.ledger.written_accounts:
            account = self.ledger.get_account(address)
            if account is not None:
                seen[address] = account.lamports
        return list(seen.items())

    def get_supply(self, params: list) -> Any:
        config = _config(params, 0)
        _commitment(config)
        total = sum(lamports for _address, lamports in self._accounts())
        return {
            "context": self.handlers._context_json(),
            "value": {
                "circulating": total,
                "nonCirculating": 0,
                "nonCirculatingAccounts": [],
                "total": total,
            },
        }

    def get_largest_accounts(self, params: list) -> Any:
        config = _config(params, 0)
        _commitment(config)
        # solders (so solana-py) sends the filter as a second parameter; nodes read it from the config
        kind = config.get("filter", params[1] if len(params) > 1 and isinstance(params[1], str) else None)
        if kind not in (None, "circulating", "nonCirculating"):
            raise invalid_params(f"Invalid params: unknown variant `{kind}`")
        accounts = [] if kind == "nonCirculating" else self._accounts()  # nothing is locked up here
        accounts.sort(key=lambda item: (-item[1], str(item[0])))
        return {
            "context": self.handlers._context_json(),
            "value": [
                {"address": str(address), "lamports": lamports}
                for address, lamports in accounts[:LARGEST_ACCOUNTS]
            ],
        }

    def get_inflation_rate(self, params: list) -> Any:
        schedule = self.ledger.svm.get_epoch_schedule()
        epoch = schedule.get_epoch(self.ledger.slot)
        year = schedule.get_first_slot_in_epoch(epoch) / SLOTS_PER_YEAR
        total = max(INFLATION["initial"] * (1 - INFLATION["taper"]) ** year, INFLATION["terminal"])
        foundation = total * INFLATION["foundation"] if year < INFLATION["foundationTerm"] else 0.0
        return {"epoch": epoch, "foundation": foundation, "total": total, "validator": total - foundation}

    def get_inflation_reward(self, params: list) -> Any:
        addresses = _param(params, 0, [])
        if not isinstance(addresses, list):
            raise invalid_params("Invalid params: expected an array of addresses")
        for address in addresses:
            _pubkey(address)
        _config(params, 1)
        return [None] * len(addresses)
