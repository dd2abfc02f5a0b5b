"""What the payment tests share: a deadline moved into the past, and the app's signals recorded."""

import datetime
from contextlib import contextmanager

from django.utils import timezone

from solana_payments import signals
from solana_payments.models import Payment


def overdue(payment, minutes=5):
    """Move ``payment``'s deadline ``minutes`` into the past, in the database and on the object."""
    payment.expires_at = timezone.now() - datetime.timedelta(minutes=minutes)
    Payment.objects.filter(pk=payment.pk).update(expires_at=payment.expires_at)


@contextmanager
def signals_sent(**entries):
    """Record the app's signals while the block runs: ``accepted=lambda payment, **kw: payment.pk`` connects
    to ``payment_accepted`` and appends what the function makes of each signal's arguments. Yields the list,
    in the order the signals were sent."""
    sent, connected = [], []
    for name, entry in entries.items():
        signal = getattr(signals, f"payment_{name}")

        def receiver(sender, entry=entry, **kwargs):
            sent.append(entry(**kwargs))

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
    try:
        yield sent
    finally:
        for signal, receiver in connected:
            signal.disconnect(receiver)
