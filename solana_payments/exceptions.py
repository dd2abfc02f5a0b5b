"""The project's own exceptions."""


class SolanaPaymentsError(Exception):
    """Base class for errors raised by solana_payments."""


class ChainError(SolanaPaymentsError):
    """The chain answered, but not with what we asked for."""


class ChainUnavailable(ChainError):
    """The RPC node could not be reached (or kept refusing) within the retry bound."""

    def __init__(self, url, cause, *, attempts=None):
        self.url = url
        self.cause = cause
        self.attempts = attempts
        tries = f" after {attempts} attempts" if attempts else ""
        super().__init__(f"RPC node {url} unavailable{tries}: {cause}")


class RpcError(ChainError):
    """A JSON-RPC error object returned by the node."""

    def __init__(self, code, message, data=None):
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"RPC error {code}: {message}")


class TransactionFailed(ChainError):
    """A transaction was rejected in preflight or failed on chain."""

    def __init__(self, message, *, signature=None, err=None, logs=None):
        self.signature = signature
        self.err = err
        self.logs = logs or []
        super().__init__(message)


class WalletKeyError(SolanaPaymentsError):
    """A wallet secret could not be decrypted with the configured keys."""
