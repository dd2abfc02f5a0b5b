"""Signing and sending transactions and learning what became of them, for sweep and reclaim."""

import logging
from dataclasses import dataclass

from ..chain.commitment import status_reached
from ..chain.keypairs import parse_keypair
from ..conf import app_settings
from ..exceptions import (
    ChainError,
    ChainUnavailable,
    SendOutcomeUnknown,
    TransactionAlreadyProcessed,
    TransactionFailed,
    WalletKeyError,
)
from ..models import ItemOutcome

logger = logging.getLogger(__name__)

LANDED, FAILED, UNKNOWN = "landed", "failed", "unknown"


@dataclass
class Outcome:
    state: str  # landed / failed / unknown
    error: str = ""
    fee_charged: bool = False  # a transaction that failed on chain still paid its fee
    slot: int | None = None  # where a landed transaction landed


@dataclass
class Sent:
    outcomes: dict  # signature -> Outcome
    chain_error: Exception | None = None  # the node became unreachable: the run reports it


class SigningMixin:
    """The fee payer and the one-time wallets' keys, for operations that sign transactions."""

    def fee_payer(self):
        if not hasattr(self, "_fee_payer"):
            self._fee_payer = parse_keypair(app_settings.FEE_PAYER_KEYPAIR)
        return self._fee_payer

    def signable(self, wallets):
        """The wallets whose key decrypts (kept in ``self._keypairs``); each other one is a failed item."""
        self._keypairs = getattr(self, "_keypairs", {})
        usable = []
        for wallet in wallets:
            try:
                self._keypairs[wallet.pk] = wallet.keypair()
            except WalletKeyError as exc:
                self.record(ItemOutcome.FAILED, reason=str(exc), **self.wallet_refs(wallet))
                continue
            usable.append(wallet)
        return usable


def send_and_confirm(operation, transactions, *, commitment="confirmed"):
    """Send each signed transaction once, then confirm them together; returns a :class:`Sent`.

    The sends overlap, up to ``RPC_CONCURRENCY`` in flight (the client keeps to ``RPC_RATE_LIMIT``); with
    ``--sleep`` they go one at a time, the pause between them. Every transaction given was written ahead by
    the caller, so the order they land in does not matter. Nothing is ever sent twice by this function: a
    lost answer leaves the outcome ``unknown`` until the chain has been asked. When the node becomes
    unreachable, what was not confirmed stays ``unknown`` and the error is returned as ``chain_error`` for
    the run to report.
    """
    chain = operation.chain
    outcomes = {}
    chain_error = None
    sent = []
    for tx, result in zip(transactions, _send_all(operation, transactions), strict=True):
        signature = str(tx.signatures[0])
        if isinstance(result, TransactionAlreadyProcessed | SendOutcomeUnknown):
            sent.append(signature)  # it may have landed: the confirmation below decides
        elif isinstance(result, TransactionFailed):
            outcomes[signature] = Outcome(FAILED, _describe(result))
        elif isinstance(result, ChainError):  # unreachable, or refused: never sent, or not known to be
            chain_error = chain_error or result
            outcomes[signature] = Outcome(UNKNOWN, f"not confirmed: {result}")
        else:
            sent.append(signature)
    if not sent:
        return Sent(outcomes, chain_error)
    try:
        statuses = chain.confirm(sent, commitment=commitment, timeout=app_settings.CONFIRM_TIMEOUT_SECONDS)
    except ChainUnavailable as exc:
        chain_error = exc
        statuses = {}
    for signature in sent:
        status = statuses.get(signature)
        if status is None:
            outcomes[signature] = Outcome(UNKNOWN, "the chain does not know this transaction yet")
        elif status.err is not None:
            outcomes[signature] = Outcome(FAILED, f"failed on chain: {status.err}", fee_charged=True)
        elif status_reached(status, commitment):
            outcomes[signature] = Outcome(LANDED, slot=status.slot)
        else:
            outcomes[signature] = Outcome(UNKNOWN, "not confirmed in time")
    return Sent(outcomes, chain_error)


def _send_all(operation, transactions):
    """Each transaction's send result (its signature or the error), in order; see ``send_and_confirm``."""
    chain = operation.chain
    if operation.sleep <= 0:
        operation.tick()  # the run's heartbeat, when one is due, before a batch goes out
        return chain.send_transactions(transactions)
    results = []
    for index, tx in enumerate(transactions):
        if index:
            operation.pause()
        (result,) = chain.send_transactions([tx])
        results.append(result)
        if isinstance(result, ChainUnavailable):  # the node stopped answering: send nothing more
            results += [result] * (len(transactions) - index - 1)
            break
    return results


def _describe(exc):
    text = str(exc)
    if getattr(exc, "err", None) is not None and str(exc.err) not in text:
        text += f" ({exc.err})"
    return text


def fee_shares(fee, count):
    """Split ``fee`` lamports over ``count`` wallets exactly (the first takes the remainder)."""
    if count <= 0:
        return []
    share, remainder = divmod(fee, count)
    return [share + remainder] + [share] * (count - 1)
