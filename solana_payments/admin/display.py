"""Small formatting helpers shared by the ModelAdmins."""

from django.utils.html import format_html

from ..amounts import format_units
from ..models import PaymentStatus

# What an operator looks for: "paid", with Solana's commitment word in brackets. The data keeps the
# status words of django-solana-payments (initiated, processed, confirmed, finalized, expired).
PAYMENT_STATUS_WORDS = {
    PaymentStatus.INITIATED: "waiting for payment",
    PaymentStatus.PROCESSED: "paid (processed)",
    PaymentStatus.CONFIRMED: "paid (confirmed)",
    PaymentStatus.FINALIZED: "paid (finalized)",
    PaymentStatus.EXPIRED: "expired",
}


def payment_status_words(status):
    """``confirmed`` -> ``paid (confirmed)``: a payment's status as an operator reads it."""
    return PAYMENT_STATUS_WORDS.get(status, status)


def token_amount(base, token):
    if base is None or token is None:
        return "-"
    return f"{format_units(base, token.decimals)} {token.symbol}"


def short_signature(signature):
    if not signature:
        return "-"
    return format_html('<span title="{}">{}…{}</span>', signature, signature[:8], signature[-6:])


def short_reference(reference):
    """A payment's UUID on one line: its first block, the whole of it in the title."""
    text = str(reference)
    return format_html('<span class="sp-nowrap" title="{}">{}…</span>', text, text[:8])
