"""What anyone holding a payment's public reference may know about it, as JSON-ready data.

Never the customer's email, the label, the message, the metadata or the user: a checkout page and its
status endpoint are public. Amounts are decimal strings in token units.
"""

from django.utils import timezone

from .amounts import format_units, plain_decimal
from .models import OperationItem, PaymentStatus


def public_status(payment):
    """Status, exception, deadline, and the amount due and paid per option of ``payment``."""
    options = list(payment.options.select_related("token").order_by("token__symbol"))
    paid = _amounts_seen(payment, options)
    now = timezone.now()
    return {
        "reference": str(payment.reference),
        "status": payment.status,
        "exception": payment.exception,
        "settled": payment.is_settled,
        "expired": payment.status == PaymentStatus.EXPIRED,
        "expires_at": payment.expires_at.isoformat(),
        "seconds_left": max(0, int((payment.expires_at - now).total_seconds()))
        if payment.status == PaymentStatus.INITIATED
        else 0,
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
                "rate": o.rate or None,
            }
            for o in options
        ],
        "paid_token": payment.paid_token.symbol if payment.paid_token_id else None,
        "paid_signature": payment.paid_signature or None,
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
    }


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
