"""A local Solana JSON-RPC node on LiteSVM, for development, the demo and the tests.

    from solana_payments.localnet import start_localnet
    ln = start_localnet()          # HTTP server on 127.0.0.1, free port
    ln.url, ln.fee_payer, ln.mints["USDC"], ln.airdrop(pubkey, lamports), ln.mint_to("USDC", owner, n)
    ln.set_faults(rate_429=0.2, retry_after=1), ln.request_counts, ln.reset(), ln.stop()

See `server.py` for the control endpoints and `Faults` for the fault settings.
"""

from .ledger import Ledger
from .records import (
    LAMPORTS_PER_SOL,
    LedgerError,
)
from .server import FAULT_NAMES, Faults, Localnet, parse_faults, start_localnet

__all__ = [
    "FAULT_NAMES",
    "LAMPORTS_PER_SOL",
    "Faults",
    "Ledger",
    "LedgerError",
    "Localnet",
    "parse_faults",
    "start_localnet",
]
