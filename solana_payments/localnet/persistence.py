"""Saving a localnet ledger to a file and loading it back, so a restarted demo keeps its chain.

LiteSVM cannot list its accounts, so the ledger's own knowledge is saved: every account a transaction
touched or that was written directly, the transaction history and the slot. The file is a pickle of
plain values and solders objects, written atomically; it is a local development file, never a wire format.
"""

import os
import pickle
import tempfile
from pathlib import Path

from solders.account import Account
from solders.pubkey import Pubkey

FORMAT = 1


def snapshot(ledger):
    with ledger.lock:
        ledger.sync()
        addresses = set(ledger._by_address) | ledger.written_accounts
        addresses |= {ledger.fee_payer.pubkey(), ledger.faucet.pubkey(), *ledger.mints.values()}
        accounts = {}
        for address in addresses:
            account = ledger.svm.get_account(address)
            if account is not None and account.lamports > 0:
                accounts[bytes(address)] = (
                    account.lamports,
                    bytes(account.data),
                    bytes(account.owner),
                    account.executable,
                    account.rent_epoch,
                )
        return {
            "format": FORMAT,
            "slot": ledger._slot,
            "transaction_count": ledger.transaction_count,
            "slot_times": dict(ledger._slot_times),
            "hash_seed": ledger._hash_seed,
            "records": sorted(ledger._txs.values(), key=lambda record: record.sequence),
            "accounts": accounts,
        }


def restore(ledger, state):
    if state.get("format") != FORMAT:
        raise ValueError(f"unknown localnet state format {state.get('format')!r}")
    with ledger.lock:
        ledger._slot = max(ledger._slot, state["slot"])
        ledger.reset()
        for address, (lamports, data, owner, executable, rent_epoch) in state["accounts"].items():
            ledger.set_account(
                Pubkey(address), Account(lamports, data, Pubkey(owner), executable, rent_epoch)
            )
        ledger.transaction_count = state["transaction_count"]
        ledger._slot_times.update(state["slot_times"])
        if "hash_seed" in state:  # the blocks of the saved slots keep their blockhashes
            ledger._hash_seed = state["hash_seed"]
            ledger._blockhashes.clear()
            ledger._set_slot(ledger._slot)
        for record in state["records"]:
            ledger._txs[record.signature] = record
            for key in dict.fromkeys(record.account_keys):
                ledger._by_address.setdefault(key, []).append(record)


def save(ledger, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        pickle.dump(snapshot(ledger), out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)


def load(ledger, path):
    with open(path, "rb") as source:
        restore(ledger, pickle.load(source))  # a file this project wrote itself
