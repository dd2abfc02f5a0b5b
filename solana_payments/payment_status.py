"""What anyone holding a payment's public reference may know about it, as JSON-ready data.

Never the customer's email, the label, the message, the metadata or the user: a checkout page and its
status endpoint are public. Amounts are decimal strings in token units.

A payment is reported ``expired`` from its deadline on, whether or not the expire operation has run yet:
the customer is told at once, and money that still arrives is the chain's business (expire settles or
flags it), as it always is.
"""

import math

from django.utils import timezone

from .amounts import format_units, plain_decimal
from .models import OperationItem, PaymentStatus


def is_past_deadline(payment, now=None):
    """True when ``payment`` still waits for money (``initiated``) but its deadline has passed."""
    return payment.status == PaymentStatus.INITIATED and payment.expires_at <= (now or timezone.now())


def is_open(payment, now=None):
    """True while the customer may still pay ``payment``: initiated and before its deadline."""
    return payment.status == PaymentStatus.INITIATED and not is_past_deadline(payment, now)


def amounts_left(payment, options):
    """Base units still to pay per token id of ``options``: each option's amount less what arrived in its
    own token (there is no exchange rate between options), never below zero."""
    paid = _amounts_seen(payment, options)
    return {o.token_id: _left(o, paid) for o in options}


def public_status(payment):
    """Status, exception, deadline, and the amount due, paid and left per option of ``payment``."""
    options = list(payment.options.select_related("token").order_by("token__symbol"))
    paid = _amounts_seen(payment, options)
    now = timezone.now()
    return {
        "reference": str(payment.reference),
        "status": payment.status,
        "exception": payment.exception,
        "settled": payment.is_settled,
        "expired": payment.status == PaymentStatus.EXPIRED or is_past_deadline(payment, now),
        "expires_at": payment.expires_at.isoformat(),
        "seconds_left": _seconds_left(payment, now),
        "address": payment.wallet.address,
        # A payment priced in a currency: what it is worth, and the rate each option's amount came from.
        "price": plain_decimal(payment.price),
        "currency": payment.currency or None,
        "options": [
            {
                "token": o.token.symbol,
                "mint": o.token.mint,
                "decimals": o.token.decimals,
                "amount_due": format_units(o.amount, o.token.decimals),
                "amount_paid": format_units(paid.get(o.token_id, 0), o.token.decimals),
                "amount_left": format_units(_left(o, paid), o.token.decimals),
                "rate": o.rate or None,
            }
            for o in options
        ],
        "paid_token": payment.paid_token.symbol if payment.paid_token_id else None,
        "paid_signature": payment.paid_signature or None,
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
    }


def status_key(status):
    """What the checkout shows of a public ``status``, as one string: the page's script builds the same
    key from each poll (checkout.js) and fetches the checkout afresh when it differs."""
    paid = ",".join(o["amount_paid"] for o in status["options"])
    return "|".join([status["status"], status["exception"], "expired" if status["expired"] else "", paid])


def _left(option, paid):
    return max(0, option.amount - paid.get(option.token_id, 0))


def _seconds_left(payment, now):
    """Whole seconds until the deadline of an open payment, rounded up (0 only once it has passed)."""
    if not is_open(payment, now):
        return 0
    return max(1, math.ceil((payment.expires_at - now).total_seconds()))


def _amounts_seen(payment, options):
    """Base units paid per token id: the settled amount, or what the last chain check saw (underpaid)."""
    if payment.paid_token_id is not None:
        return {payment.paid_token_id: payment.paid_amount or 0}
    seen = {}
    items = (
        OperationItem.objects.filter(
            payment=payment, token__in=[o.token_id for o in options], amount__isnull=False
        )
        .order_by("-pk")
        .values_list("token_id", "amount")[:20]
    )
    for token_id, amount in items:
        seen.setdefault(token_id, amount)
    return seen
