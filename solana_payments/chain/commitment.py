"""Commitment levels: the names the settings use, solders' levels, and how far a transaction got."""

from solders.commitment_config import CommitmentLevel
from solders.transaction_status import TransactionConfirmationStatus

COMMITMENTS = {
    "processed": CommitmentLevel.Processed,
    "confirmed": CommitmentLevel.Confirmed,
    "finalized": CommitmentLevel.Finalized,
}
_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}
_CONFIRMATION_STATUSES = (
    (TransactionConfirmationStatus.Processed, "processed"),
    (TransactionConfirmationStatus.Confirmed, "confirmed"),
    (TransactionConfirmationStatus.Finalized, "finalized"),
)


def commitment_level(name: str) -> CommitmentLevel:
    """solders' ``CommitmentLevel`` for ``name``; ``ValueError`` for anything but the three names."""
    try:
        return COMMITMENTS[name]
    except KeyError:
        raise ValueError(f"commitment must be one of {', '.join(COMMITMENTS)}, got {name!r}") from None


def confirmation_level(status) -> str | None:
    """'processed' / 'confirmed' / 'finalized' for a solders ``TransactionStatus`` (None when unknown)."""
    if status is None:
        return None
    value = status.confirmation_status
    for member, name in _CONFIRMATION_STATUSES:
        if value == member:
            return name
    # Old nodes send no confirmationStatus: confirmations null means rooted (finalized).
    return "finalized" if status.confirmations is None else "processed"


def status_reached(status, commitment: str = "confirmed") -> bool:
    """Whether a solders ``TransactionStatus`` has reached ``commitment``."""
    level = confirmation_level(status)
    if level is None:
        return False
    return _RANK[level] >= _RANK[commitment]
