"""Signing and sending transactions and learning what became of them, for sweep, expire, reclaim and
refund: a batch's transactions go out together, and the next batch is sent while the one before is
confirmed, read again and recorded (``in_pipeline``), so a far node is kept busy."""

import logging
import time
from concurrent.futures import Future
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
BLOCKHASH_FRESH_SECONDS = 5  # a blockhash asked for longer ago is not used again (see latest_blockhash)


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


class Signer:
    """What an operation that signs transactions holds: the chain, the fee payer, the keys of the wallets
    it decrypted (until taken), the blockhash last asked for, and the run's ``--sleep`` with its pause
    (``pause``: the sleep and a heartbeat; ``tick``: the heartbeat alone). It sends and confirms."""

    def __init__(self, chain, *, sleep=0, pause, tick):
        self.chain = chain
        self.sleep = sleep
        self.pause = pause
        self.tick = tick
        self.keypairs = {}  # wallet pk -> keypair, from ``signable`` until the caller takes it
        self._fee_payer = None  # read from the settings when first signed with, not for a dry look
        self._blockhash = None  # (asked at, Future of the blockhash)

    def fee_payer(self):
        if self._fee_payer is None:
            self._fee_payer = parse_keypair(app_settings.FEE_PAYER_KEYPAIR)
        return self._fee_payer

    def prefetch_blockhash(self):
        """Ask for a blockhash now, while the run reads the chain or writes its records: the next batch is
        built on it if it is still fresh then (see :meth:`latest_blockhash`). Not with ``--sleep``."""
        if self.sleep <= 0:
            self._blockhash = (time.monotonic(), self.chain.submit(self.chain.get_latest_blockhash))

    def latest_blockhash(self):
        """The blockhash a batch's transactions are built on: the last one asked for, when that was at most
        ``BLOCKHASH_FRESH_SECONDS`` ago (never with ``--sleep``), else a new one. Its validity window (about
        a minute) then still leaves a batch the time ``send_batches`` sized it for."""
        asked_at, future = self._blockhash or (None, None)
        if future is not None and self.sleep <= 0 and time.monotonic() - asked_at <= BLOCKHASH_FRESH_SECONDS:
            try:
                return future.result()
            except ChainError:  # asked again below, where an error stops the run as usual
                pass
        asked_at = time.monotonic()
        blockhash = self.chain.get_latest_blockhash()
        done = Future()
        done.set_result(blockhash)
        self._blockhash = (asked_at, done)
        return blockhash

    def signable(self, wallets, *, record, refs):
        """The wallets whose key decrypts (kept in ``keypairs``); each other one is a failed item, given to
        ``record`` (the run's) with ``refs(wallet)``."""
        usable = []
        for wallet in wallets:
            try:
                self.keypairs[wallet.pk] = wallet.keypair()
            except WalletKeyError as exc:
                record(ItemOutcome.FAILED, reason=str(exc), **refs(wallet))
                continue
            usable.append(wallet)
        return usable

    def send_and_confirm(self, transactions, *, commitment="confirmed"):
        """Send each signed transaction once, then confirm them together; returns a :class:`Sent`.

        The sends overlap, up to ``RPC_CONCURRENCY`` in flight (the client keeps to ``RPC_RATE_LIMIT``);
        with ``--sleep`` they go one at a time, the pause between them. Every transaction given was written
        ahead by the caller where it moves money, so the order they land in does not matter. Nothing is ever
        sent twice by this method: a lost answer leaves the outcome ``unknown`` until the chain has been
        asked. When the node becomes unreachable, what was not confirmed stays ``unknown`` and the error is
        returned as ``chain_error`` for the run to report.
        """
        return self.start_sending(transactions, commitment=commitment).result()

    def start_sending(self, transactions, *, commitment="confirmed"):
        """:meth:`send_and_confirm` without waiting: a ``Future`` whose ``result()`` is the :class:`Sent`.

        The batch is sent and confirmed on the chain client's worker while the run goes on with the batch
        before it (reading the chain after it landed, writing its records): that is how a far node is kept
        busy. With ``--sleep`` the batch is sent here and now, one transaction at a time.
        """
        chain = self.chain
        timeout = app_settings.CONFIRM_TIMEOUT_SECONDS
        if self.sleep > 0:
            done = Future()
            done.set_result(
                _confirm(
                    chain,
                    transactions,
                    _send_one_by_one(chain, transactions, self.pause),
                    commitment,
                    timeout,
                )
            )
            return done
        self.tick()  # the run's heartbeat, when one is due, before a batch goes out
        return chain.submit(_send_and_confirm, chain, transactions, commitment, timeout)


def _send_and_confirm(chain, transactions, commitment, timeout):
    """The chain's part of :meth:`Signer.send_and_confirm`: no database, so it may run on the client's worker."""
    return _confirm(chain, transactions, chain.send_transactions(transactions), commitment, timeout)


def _send_one_by_one(chain, transactions, pause):
    """Each transaction's send result, ``pause`` (the run's ``--sleep``) between them; nothing more once the
    node is gone."""
    results = []
    for index, tx in enumerate(transactions):
        if index:
            pause()
        (result,) = chain.send_transactions([tx])
        results.append(result)
        if isinstance(result, ChainUnavailable):
            results += [result] * (len(transactions) - index - 1)
            break
    return results


def _confirm(chain, transactions, results, commitment, timeout):
    """The :class:`Sent` of ``transactions`` given their send ``results``: those that may have landed are
    asked about together."""
    outcomes = {}
    chain_error = None
    sent = []
    for tx, result in zip(transactions, results, strict=True):
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
        statuses = chain.confirm(sent, commitment=commitment, timeout=timeout)
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


@dataclass
class Flight:
    """A batch on its way: ``sending`` (a Future of its :class:`Sent`) and ``finish(sent)``, which records
    what became of it (reads the chain after it landed, writes the records)."""

    sending: Future
    finish: object

    def land(self):
        return self.finish(self.sending.result())

    def wait(self):
        """Wait for the batch to be sent and confirmed, whatever came of it (the run is stopping)."""
        try:
            self.sending.result()
        except Exception:
            logger.debug("a batch in flight ended in an error while the run was stopping", exc_info=True)


def in_pipeline(batches, start):
    """Start each batch before finishing the one before it, so a far node always has work in flight.

    ``start(batch)`` prepares a batch (its blockhash, the write-ahead of its transactions) and starts
    sending it, returning a :class:`Flight`, or None when nothing is sent. While batch k+1 is sent and
    confirmed, batch k is finished: the re-read after it landed and its records. The order that matters
    holds for every batch: written ahead before sent, confirmed before its state changes, read again only
    after it landed. Nothing is left in flight when this returns or raises.
    """
    previous = None
    for batch in batches:
        try:
            current = start(batch)
        except BaseException:
            if previous is not None:  # record what the batch before came to, then stop with the error
                try:
                    previous.land()
                except Exception:
                    logger.warning("finishing a batch after an error failed too", exc_info=True)
            raise
        if previous is not None:
            try:
                previous.land()
            except BaseException:
                if current is not None:
                    current.wait()
                raise
        previous = current
    if previous is not None:
        previous.land()


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
