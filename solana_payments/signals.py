"""Signals sent by solana_payments. Each is sent on transaction commit."""

from django.dispatch import Signal

payment_initiated = Signal()  # sender=Payment, payment=
payment_accepted = Signal()  # sender=Payment, payment=
payment_expired = Signal()  # sender=Payment, payment=
payment_flagged = Signal()  # sender=Payment, payment=, exception=  (an exception newly set by the chain rule)
# No operation refunds a payment yet: the signal and its webhook event are defined so receivers can be
# written now; it is sent by whatever code refunds a payment.
payment_refunded = Signal()  # sender=Payment, payment=
