"""Everything that talks to Solana.

- ``chain.client``: ``ChainClient``, the RPC client (batching, retries, counting) with a sync facade.
- ``chain.accounts``: token accounts and mints decoded from bytes, ATA derivation, program ids, rent.
- ``chain.transactions``: builders that pack several one-time wallets into each signed transaction.
- ``chain.keypairs``: ``parse_keypair`` / ``parse_pubkey`` for settings and user input.

Names are importable from here too (``from solana_payments.chain import ChainClient``); the submodules are
only imported when one of their names is used.
"""

import importlib

_EXPORTS = {
    "ChainClient": "client",
    "ChainStats": "client",
    "ChainHealth": "client",
    "status_reached": "client",
    "redact_url": "client",
    "TokenAccount": "accounts",
    "MintInfo": "accounts",
    "TOKEN_PROGRAM_ID": "accounts",
    "TOKEN_2022_PROGRAM_ID": "accounts",
    "ASSOCIATED_TOKEN_PROGRAM_ID": "accounts",
    "get_associated_token_address": "accounts",
    "BuiltTransaction": "transactions",
    "TokenHolding": "transactions",
    "WalletFunds": "transactions",
    "build_sweep_transactions": "transactions",
    "build_sol_sweep_transactions": "transactions",
    "build_close_ata_transactions": "transactions",
    "build_create_ata_transactions": "transactions",
    "parse_keypair": "keypairs",
    "parse_pubkey": "keypairs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
