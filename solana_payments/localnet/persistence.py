"""Saving a localnet ledger to a file and loading it back, so a restarted demo keeps its chain.

LiteSVM cannot list its accounts, so the ledger's own knowledge is saved: every account a transaction
touched or that was written directly, the transaction history and the slot. The file is a pickle of
plain values and solders objects, written atomically; it is a local development file, never a wire format.
"""

import os
import pickle
import tempfile
from pathlib import Path

FORMAT = 1


def snapshot(ledger):
    """The ledger's state as plain values and solders objects (``Ledger.state()``), with its format."""
    return {"format": FORMAT, **ledger.state()}


def restore(ledger, state):
    if state.get("format") != FORMAT:
        raise ValueError(f"unknown localnet state format {state.get('format')!r}")
    ledger.restore_state(state)


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
