"""The one rule: a payment's facts, derived from its transfer rows.

| fact             | derived from the ledger                                                                  |
|------------------|------------------------------------------------------------------------------------------|
| received         | the sum of incoming rows of the token (customer payments, unknown senders; dust included) |
| refunded / swept | the sum of outgoing rows of that kind                                                    |
| paying transfer  | the last transfer that is not dust, at or before the running total reached the price      |
| ``paid_at``      | the block time of the paying transfer (short of the price: of the newest, not dust)      |
| ``paid_signature`` | the paying transfer's signature                                                        |
| payer            | the sender of the transfers (not dust) that make up the paid amount, when there is one    |
| several payers   | more than one such sender: the payment is flagged and a refund needs an explicit address  |
| extra            | what arrived (not dust) after the paying transfer: topped up, or paid twice               |

Dust (a transfer below ``dust_threshold``) is recorded and swept with the rest, and counts in the sums,
but never becomes the payer, ``paid_at``, or a reason to call a payment late, topped up or paid twice.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from ..conf import app_settings
from ..models import TransferDirection, TransferKind

DUST_SHARE = 100  # by default a transfer below 1% of the price is dust ...
SOL_DUST_LAMPORTS = 1_000_000  # ... or below 0.001 SOL, whichever is smaller

MAX_DUST_UNITS = Decimal(10**9)

RECEIVED_KINDS = (TransferKind.PAYMENT, TransferKind.UNKNOWN)


def clean_dust_thresholds(value):
    """``DUST_THRESHOLDS`` as ``{SYMBOL: Decimal}``, or ``ValueError`` saying what is wrong."""
    if not isinstance(value, dict):
        raise ValueError(f"DUST_THRESHOLDS must map token symbols to amounts, not {type(value).__name__}")
    cleaned = {}
    for symbol, amount in value.items():
        try:
            number = None if isinstance(amount, (float, bool)) else Decimal(str(amount))  # no float for money
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite() or number < 0 or number > MAX_DUST_UNITS:
            raise ValueError(
                f"DUST_THRESHOLDS[{symbol!r}] must be an amount in token units from 0 to {MAX_DUST_UNITS}, "
                f"not {amount!r}"
            )
        cleaned[str(symbol).upper()] = number
    return cleaned


def dust_threshold(token, price):
    """Base units below which a transfer of ``token`` into a payment asking ``price`` is dust."""
    value = clean_dust_thresholds(app_settings.DUST_THRESHOLDS or {}).get(token.symbol.upper())
    if value is not None:
        return int(value.scaleb(token.decimals).to_integral_value(rounding=ROUND_CEILING))
    threshold = (price or 0) // DUST_SHARE
    return min(threshold, SOL_DUST_LAMPORTS) if token.is_native else threshold


@dataclass(frozen=True)
class Facts:
    received: int = 0
    refunded: int = 0
    swept: int = 0
    paying: object = None  # the Transfer that paid, or None
    last: object = None  # the newest incoming Transfer that is not dust, or None
    senders: tuple = ()  # senders of the (not dust) transfers that make up the paid amount
    all_senders: tuple = ()  # senders of every incoming transfer that is not dust
    extra: int = 0  # not-dust base units received after the paying transfer (or all, unpaid)
    dust: int = 0  # base units received in dust

    @property
    def payer(self):
        return self.senders[0] if len(self.senders) == 1 else ""

    @property
    def several_payers(self):
        return len(self.senders) > 1

    @property
    def paid_at(self):
        return self.paying.block_time if self.paying is not None else None

    @property
    def signature(self):
        return self.paying.signature if self.paying is not None else ""


def facts_of(transfers, token, price):
    """The facts of a payment asking ``price`` base units of ``token``, from its ``transfers`` (any order)."""
    rows = sorted((t for t in transfers if t.token_id == token.pk), key=_chain_order)
    received = refunded = swept = dust = extra = 0
    paying = last = None
    contributors = []
    everyone = []
    for row in rows:
        if row.direction == TransferDirection.OUT:
            if row.kind == TransferKind.REFUND:
                refunded += row.amount
            elif row.kind == TransferKind.SWEEP:
                swept += row.amount
            continue
        if row.kind not in RECEIVED_KINDS:
            continue
        received += row.amount
        if row.is_dust:
            dust += row.amount
            continue
        everyone.append(row.counterparty)
        last = row
        if paying is None:
            contributors.append(row.counterparty)
            if received >= price:
                paying = row
        else:
            extra += row.amount
    if paying is None and received >= price and contributors:
        # dust completed the price: the last real transfer paid it
        paying = next(r for r in reversed(rows) if _counts(r) and not r.is_dust)
    return Facts(
        received=received,
        refunded=refunded,
        swept=swept,
        paying=paying,
        last=last,
        senders=_distinct(contributors),
        all_senders=_distinct(everyone),
        extra=extra if paying is not None else 0,
        dust=dust,
    )


def received_after(transfers, token, settled_with):
    """Base units of ``token`` (dust left out) received after the first ``settled_with`` units, in chain
    order: what arrived beyond what a payment was settled with. None when no prefix of the transfers adds
    up to ``settled_with`` (the ledger does not explain the settlement)."""
    rows = sorted((t for t in transfers if t.token_id == token.pk and _counts(t)), key=_chain_order)
    total, index = 0, 0
    while total < settled_with and index < len(rows):
        total += rows[index].amount
        index += 1
    if total != settled_with:
        return None
    return sum(r.amount for r in rows[index:] if not r.is_dust)


def _counts(row):
    return row.direction == TransferDirection.IN and row.kind in RECEIVED_KINDS


def _chain_order(row):
    return (row.slot is None, row.slot or 0, row.block_time is None, row.block_time, row.pk or 0)


def _distinct(addresses):
    return tuple(dict.fromkeys(a for a in addresses if a))
