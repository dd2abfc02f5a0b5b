"""Money the chain reads found in one-time wallets, by what happens to it next.

Every operation stores what it read on the wallet (``balances``, ``holds_funds``), so these figures come
from the chain, not from states alone. The same definitions serve the dashboard and the admin's filters.
"""

from collections import Counter

from django.db.models import Q

from .amounts import format_units
from .conf import app_settings
from .holdings import NATIVE
from .models import SWEEPABLE_STATES, OneTimeWallet, PaymentStatus, PaymentToken

CATEGORIES = {
    "waiting": "waiting to be swept",
    "held": "held (HOLD_FLAGGED_FUNDS)",
    "open": "in open checkouts",
    "stranded": "stranded (no operation will move them)",
}


def category_filter(category, prefix=""):
    """The ``Q`` of one category, on ``OneTimeWallet`` (or through ``prefix``, e.g. ``"wallet__"``)."""

    def q(**lookups):
        return Q(**{prefix + name: value for name, value in lookups.items()})

    held = q(payment__exception__in=list(app_settings.HOLD_FLAGGED_FUNDS or ()))
    if prefix:  # seen from the payment, its own fields are not behind the wallet
        held = Q(exception__in=list(app_settings.HOLD_FLAGGED_FUNDS or ()))
        open_checkout = Q(status=PaymentStatus.INITIATED)
        no_payment = Q(pk__isnull=True)
    else:
        open_checkout = q(payment__status=PaymentStatus.INITIATED)
        no_payment = q(payment__isnull=True)
    funded = q(holds_funds=True)
    sweep_state = q(state__in=SWEEPABLE_STATES)
    return {
        "open": funded & open_checkout,
        "held": funded & sweep_state & held & ~open_checkout,
        "waiting": funded & sweep_state & ~held & ~open_checkout & ~no_payment,
        "stranded": funded & ~open_checkout & (~sweep_state | no_payment),
    }[category]


def funds_totals():
    """``{category: (wallets, {asset key: base units})}`` from the last chain reads, one query a category."""
    totals = {}
    for name in CATEGORIES:
        balances = OneTimeWallet.objects.filter(category_filter(name)).values_list("balances", flat=True)
        total, count = Counter(), 0
        for balance in balances.iterator(chunk_size=2000):
            count += 1
            total.update({asset: int(amount) for asset, amount in (balance or {}).items()})
        totals[name] = (count, total)
    return totals


def tokens_of(totals):
    assets = {asset for _, total in totals.values() for asset in total} - {NATIVE}
    return {t.mint: t for t in PaymentToken.objects.filter(mint__in=assets)} if assets else {}


def funds_on_chain():
    """``{category: {"wallets": n, "amounts": ["1.5 SOL", "25 USDC"]}}`` for the dashboard."""
    totals = funds_totals()
    tokens = tokens_of(totals)
    figures = {}
    for name, (count, total) in totals.items():
        labels = [asset_label(a, n, tokens) for a, n in total.items()]
        figures[name] = {
            "wallets": count,
            "amounts": sorted(labels, key=lambda label: label.split(" ", 1)[1]),
        }
    return figures


def funds_by_symbol():
    """``{category: {symbol: base units}}`` for the metrics (an unknown mint is named by its address)."""
    totals = funds_totals()
    tokens = tokens_of(totals)
    return {
        name: {
            "SOL" if asset == NATIVE else getattr(tokens.get(asset), "symbol", asset): amount
            for asset, amount in total.items()
        }
        for name, (_, total) in totals.items()
    }


def asset_label(asset, amount, tokens):
    if asset == NATIVE:
        return f"{format_units(amount, 9)} SOL"
    token = tokens.get(asset)
    if token is None:
        return f"{amount} base units of {asset}"
    return f"{format_units(amount, token.decimals)} {token.symbol}"
