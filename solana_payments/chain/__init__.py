"""Everything that talks to Solana, and nothing else: no Django, no settings, no models.

- ``chain.client``: ``ChainClient``, the RPC methods the app uses (batching, concurrency) with a sync facade;
  ``chain.transport`` posts its requests (httpx, retries, rate limit, counting), ``chain.parsing`` reads
  the answers, ``chain.stats`` counts them, ``chain.urls`` keeps API keys out of messages and
  ``chain.commitment`` names commitment levels.
- ``chain.accounts``: token accounts and mints decoded from bytes, ATAs, program ids, rent.
- ``chain.transactions``: builders that pack several one-time wallets into each signed transaction.
- ``chain.keypairs``: ``parse_keypair`` / ``parse_pubkey`` for settings and user input.
- ``chain.errors``: the exceptions (also in ``solana_payments.exceptions``).

The app passes every setting in; ``solana_payments.chain_client`` builds a client from ``SOLANA_PAYMENTS``.
Names are importable from here too (``from solana_payments.chain import ChainClient``); the submodules are
only imported when one of their names is used.
"""

import importlib

_EXPORTS = {
    "ChainClient": "client",
    "ChainStats": "stats",
    "ChainHealth": "stats",
    "status_reached": "commitment",
    "redact_url": "urls",
    "TokenAccount": "accounts",
    "MintInfo": "accounts",
    "TOKEN_PROGRAM_ID": "accounts",
    "TOKEN_2022_PROGRAM_ID": "accounts",
    "ASSOCIATED_TOKEN_PROGRAM_ID": "accounts",
    "get_associated_token_address": "accounts",
    "BuiltTransaction": "transactions",
    "TokenFunds": "transactions",
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
