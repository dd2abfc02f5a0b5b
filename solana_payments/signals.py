"""Signals sent by solana_payments. Each is sent on transaction commit."""

from django.dispatch import Signal

payment_initiated = Signal()  # sender=Payment, payment=
payment_accepted = Signal()  # sender=Payment, payment=
payment_expired = Signal()  # sender=Payment, payment=
payment_flagged = Signal()  # sender=Payment, payment=, exception=  (an exception newly set by the chain rule)
payment_received = (
    Signal()
)  # sender=Payment, payment=, transfer=, received=  (a customer's transfer in; once each)
payment_refunded = Signal()  # sender=Payment, payment=, refund=  (a Refund that landed; once per refund)
