"""The chain client configured from ``SOLANA_PAYMENTS``: the one place where ``chain`` meets the settings.

``chain`` reads no settings (it does not import Django); the app builds its clients here, when it needs
one, never at import time.
"""

from .chain.client import ChainClient
from .chain.errors import ChainError
from .conf import app_settings


def chain_client(**overrides) -> ChainClient:
    """A new :class:`ChainClient` for the configured RPC node; ``overrides`` replace single settings.

    ``overrides`` take the client's own argument names (``url``, ``commitment``, ``timeout``,
    ``rate_limit``, ``max_retry_seconds``, ``concurrency``, ``headers``). Close it, or use it as a
    context manager.
    """
    if not app_settings.RPC_URL and "url" not in overrides:
        raise ChainError("SOLANA_PAYMENTS['RPC_URL'] is not set")
    options = {
        "url": app_settings.RPC_URL,
        "commitment": app_settings.RPC_COMMITMENT,
        "timeout": app_settings.RPC_TIMEOUT,
        "rate_limit": app_settings.RPC_RATE_LIMIT,
        "max_retry_seconds": app_settings.RPC_MAX_RETRY_SECONDS,
        "concurrency": app_settings.RPC_CONCURRENCY,
        "headers": app_settings.RPC_HEADERS,
    }
    options.update(overrides)
    return ChainClient(options.pop("url"), **options)
