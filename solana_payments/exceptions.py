"""The project's own exceptions.

Those of the chain layer are defined in ``chain.errors`` (which needs nothing from the app) and exposed here
with the app's own, so callers catch everything from one module.
"""

from .chain.errors import (
    BadResponse,
    ChainError,
    ChainUnavailable,
    RpcError,
    SendOutcomeUnknown,
    SolanaPaymentsError,
    TransactionAlreadyProcessed,
    TransactionFailed,
)

__all__ = [
    "BadResponse",
    "ChainError",
    "ChainUnavailable",
    "RpcError",
    "SendOutcomeUnknown",
    "SolanaPaymentsError",
    "TransactionAlreadyProcessed",
    "TransactionFailed",
    "WalletKeyError",
]


class WalletKeyError(SolanaPaymentsError):
    """A wallet secret could not be decrypted with the configured keys."""
