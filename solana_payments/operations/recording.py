"""What a run records: one ``OperationItem`` per record touched, and the counts and fees of its summary.

An operation holds one :class:`Recorder` and hands it to the parts it is built from (its selection,
settler, closer), so every part writes to the same run without reaching into the operation."""

from collections import Counter

from django.db.models import Model

from ..models import ItemOutcome, OperationItem

ITEM_FLUSH_SIZE = 2000


class Recorder:
    """The items, counts and fees of ``run``; items are written in bulk every ``ITEM_FLUSH_SIZE`` and
    at :meth:`flush`. In a dry run, what would be done is recorded as ``would-do``."""

    def __init__(self, run, *, summary_keys, dry_run):
        self.run = run
        self.dry_run = dry_run
        self.counts = Counter({key: 0 for key in summary_keys})
        self.fees = 0
        self._items = []

    def record(self, outcome, *, count=None, payment=None, wallet=None, reason="", **values):
        """Add one item to the run and count it.

        A failed item always counts as ``failed``; others count under ``count`` (a summary key such as
        ``reconciled``) or, without one, under their outcome (``done`` / ``skipped``).
        """
        if outcome == ItemOutcome.DONE and self.dry_run:
            outcome = ItemOutcome.WOULD_DO
        # By id, not by object: bulk_create then writes a run's thousands of items about twice as fast.
        item = OperationItem(
            run_id=self.run.pk,
            outcome=outcome,
            payment_id=payment.pk if payment is not None else None,
            wallet_id=wallet.pk if wallet is not None else None,
            reason=reason[:300],
        )
        for name, value in values.items():
            if isinstance(value, Model):  # token=...
                setattr(item, f"{name}_id", value.pk)
            else:
                setattr(item, name, value)
        self._items.append(item)
        if outcome == ItemOutcome.FAILED:
            self.counts["failed"] += 1
        else:
            self.counts[count or ("skipped" if outcome == ItemOutcome.SKIPPED else "done")] += 1
        self.fees += values.get("fee", 0) or 0  # a transaction that failed on chain still paid its fee
        if len(self._items) >= ITEM_FLUSH_SIZE:
            self.flush()

    def skip(self, reason, **kwargs):
        self.record(ItemOutcome.SKIPPED, reason=reason, **kwargs)

    def flush(self):
        if not self._items:
            return
        OperationItem.objects.bulk_create(self._items)
        self._items = []
