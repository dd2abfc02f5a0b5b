"""Hooks named by dotted path in tests (ON_PAYMENT_ACCEPTED)."""

accepted = []


def record_accepted(payment):
    accepted.append(payment.pk)


def explode(payment):
    raise RuntimeError("a shop's hook that fails")
