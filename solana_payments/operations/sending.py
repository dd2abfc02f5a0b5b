"""Signing and sending transactions and learning what became of them, for sweep and reclaim."""

import logging
from dataclasses import dataclass

from ..chain.commitment import status_reached
from ..chain.keypairs import parse_keypair
from ..conf import app_settings
from ..exceptions import (
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

    Nothing is ever sent twice by this function: a lost answer leaves the outcome ``unknown`` until the
    chain has been asked. When the node becomes unreachable, what was not confirmed stays ``unknown`` and
    the error is returned as ``chain_error`` for the run to report.
    """
    chain = operation.chain
    outcomes = {}
    chain_error = None
    sent = []
    for index, tx in enumerate(transactions):
        signature = str(tx.signatures[0])
        if index:
            operation.pause()  # also the run's heartbeat while a long batch is sent
        try:
            chain.send_transaction(tx)
        except (TransactionAlreadyProcessed, SendOutcomeUnknown):
            pass  # it may have landed: the confirmation below decides
        except TransactionFailed as exc:
            outcomes[signature] = Outcome(FAILED, _describe(exc))
            continue
        except ChainUnavailable as exc:
            chain_error = exc
            for rest in transactions[index:]:
                outcomes[str(rest.signatures[0])] = Outcome(UNKNOWN, f"not confirmed: {exc}")
            break
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
