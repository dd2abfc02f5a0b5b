"""The exceptions of the chain layer, and the root of the project's own exceptions.

They live here so that ``chain`` needs nothing from the rest of the app; ``solana_payments.exceptions``
exposes them together with the app's own.
"""


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


class BadResponse(ChainError):
    """The node answered with something that is not a JSON-RPC response (HTML, garbage, truncated)."""


class TransactionFailed(ChainError):
    """A transaction was rejected in preflight or failed on chain."""

    def __init__(self, message, *, signature=None, err=None, logs=None):
        self.signature = signature
        self.err = err
        self.logs = logs or []
        super().__init__(message)


class SendOutcomeUnknown(ChainError):
    """A transaction may or may not have reached the node: the response to sendTransaction was lost.

    Raised instead of sending again. The transaction was signed before sending, so its signature is known:
    ask the chain about it (``getSignatureStatuses``) before doing anything else.
    """

    def __init__(self, signature, cause):
        self.signature = signature
        self.cause = cause
        super().__init__(f"outcome of transaction {signature} unknown: {cause}")


class TransactionAlreadyProcessed(ChainError):
    """The node says this exact transaction has already been processed.

    Not a :class:`TransactionFailed`: the transaction landed earlier (for example on a send whose response
    was lost), so a caller may treat it as sent once the chain confirms its signature.
    """

    def __init__(self, signature, message="This transaction has already been processed"):
        self.signature = signature
        super().__init__(f"{message} ({signature})")
