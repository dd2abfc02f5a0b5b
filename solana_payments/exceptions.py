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
    "RateUnavailable",
    "WalletKeyError",
]


class WalletKeyError(SolanaPaymentsError):
    """A wallet secret could not be decrypted with the configured keys."""


class RateUnavailable(SolanaPaymentsError):
    """No configured source gave a usable rate for some pair; ``problems`` says what each answered."""

    def __init__(self, problems):
        self.problems = problems  # {(asset, currency): ["source: why", ...]}
        detail = "; ".join(
            f"{asset} in {currency}: {', '.join(why) or 'no source configured'}"
            for (asset, currency), why in problems.items()
        )
        super().__init__(f"No usable exchange rate: {detail}.")
