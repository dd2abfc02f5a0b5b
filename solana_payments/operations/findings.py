"""The one rule: what money found in a one-time wallet means, whatever state the records are in.

Every operation that reads a wallet (recheck and its watch over quiet wallets, expire, reclaim, sweep)
hands what it read to ``judge()``, so a payment's outcome never depends on which operation saw the money
first. The chain wins: no wallet state means "never read again".

| payment                  | the wallet received (held now + swept before)   | verdict                      |
|--------------------------|-------------------------------------------------|------------------------------|
| initiated                | at least one option's amount                    | SETTLE (overpaid / paid late) |
| initiated                | an amount less PAYMENT_TOLERANCE_PERCENT of it  | SETTLE (within tolerance)    |
| initiated, being expired | part of an amount                               | EXPIRE_UNDERPAID             |
| initiated, being expired | nothing, or dust only                           | EXPIRE                       |
| initiated                | part or nothing, deadline not being enforced    | PENDING                      |
| expired                  | a full amount, within LATE_PAYMENT_WINDOW       | SETTLE (paid late)           |
| expired                  | a full amount, after LATE_PAYMENT_WINDOW        | FLAG paid late (not accepted) |
| expired                  | part of an amount (more than dust)              | FLAG underpaid               |
| settled                  | more than it was settled with                   | FLAG topped up / paid twice  |
| any                      | funds still in a wallet whose state says empty  | back to sweep (UNSWEPT)      |
| any                      | nothing now                                     | QUIET                        |
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from ..conf import app_settings
from ..holdings import UNDERPAID
from ..ledger.facts import facts_of, received_after
from ..models import SETTLED_STATUSES, PaymentException, PaymentStatus, WalletState

SETTLE = "settle"
EXPIRE = "expire"
EXPIRE_UNDERPAID = "expire_underpaid"
FLAG = "flag"
UNSWEPT = "unswept"
PENDING = "pending"
QUIET = "quiet"

# Wallet states from which found funds send the wallet (back) to sweep. A wallet in processing_funds has a
# transaction in flight: sweep's recovery decides about it, never a read.
TO_SWEEP_FROM = (
    WalletState.CREATED,
    WalletState.PROCESSING_PAYMENT,
    WalletState.PAYMENT_EXPIRED,
    WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED,
    WalletState.SENT_FUNDS,
)


@dataclass(frozen=True)
class Verdict:
    kind: str
    payment: object
    assessment: object
    holdings: object
    exception: str = ""  # the exception FLAG sets
    to_sweep: bool = False  # the wallet holds funds that its state does not send to sweep

    @property
    def wallet(self):
        return self.payment.wallet


def judge(payment, assessment, holdings, *, expiring=False, now=None):
    """The verdict on one payment (options and wallet loaded) given what its wallet holds and received."""
    now = now or timezone.now()
    wallet = payment.wallet
    to_sweep = holdings.has_funds and wallet.state in TO_SWEEP_FROM
    status = payment.status

    def verdict(kind, exception=""):
        return Verdict(kind, payment, assessment, holdings, exception, to_sweep)

    underpaid = assessment.verdict == UNDERPAID and not only_dust(payment, holdings)
    if status == PaymentStatus.INITIATED:
        if assessment.settles:
            return verdict(SETTLE)
        if expiring:
            return verdict(EXPIRE_UNDERPAID if underpaid else EXPIRE)
        return verdict(PENDING)
    if status == PaymentStatus.EXPIRED:
        if assessment.settles:
            window = datetime.timedelta(seconds=app_settings.LATE_PAYMENT_WINDOW)
            if now - payment.expires_at <= window:
                return verdict(SETTLE)
            return _flag(verdict, payment, PaymentException.PAID_LATE)
        if underpaid:
            return _flag(verdict, payment, PaymentException.UNDERPAID)
    elif status in SETTLED_STATUSES:
        extra = extra_received(payment, holdings)
        if extra:
            return _flag(verdict, payment, extra)
    return verdict(UNSWEPT if to_sweep else QUIET)


def only_dust(payment, holdings):
    """Whether everything the wallet received, in every option's token, is dust (by its transfer ledger)."""
    if not holdings.transfers:
        return False
    for option in payment.options.all():
        facts = facts_of(holdings.transfers, option.token, option.amount)
        if facts.received - facts.dust > 0 or holdings.received_of(option.token) > facts.received:
            return False
    return True


def _flag(verdict, payment, exception):
    if payment.exception == exception:
        return verdict(UNSWEPT if verdict(QUIET).to_sweep else QUIET)
    return verdict(FLAG, exception)


def extra_received(payment, holdings):
    """For a settled payment: ``paid_twice`` when another full amount of some option arrived after it
    was settled, ``topped_up`` when less did, ``""`` when it received nothing beyond what settled it.
    Dust in the wallet's transfer ledger (when it was read) is left out: it flags nothing."""
    flag = ""
    for option in payment.options.all():  # the paid token is one of them: no query for it
        received = holdings.received_of(option.token)
        settled_with = (payment.paid_amount or 0) if option.token_id == payment.paid_token_id else 0
        extra = received - settled_with
        if holdings.transfers and extra > 0:
            later = received_after(holdings.transfers, option.token, settled_with)
            if later is not None:
                extra = later
            else:  # the ledger does not explain the settlement: leave out all the dust it knows of
                extra -= facts_of(holdings.transfers, option.token, option.amount).dust
        if extra >= option.amount:
            return PaymentException.PAID_TWICE
        if extra > 0:
            flag = PaymentException.TOPPED_UP
    return flag
