"""Retention: run items older than ``RUN_ITEMS_RETENTION_DAYS`` are deleted by the maintenance flow.

A run's own row keeps its totals (counts, progress, fees, RPC calls), so the runs list and the dashboard
tell the same story after its items are gone. Items are kept, whatever their age, when their run

- is not finished (queued or running: it may still be writing items), or
- holds an unsettled write-ahead: a wallet it claimed still carries a ``pending_signature``, so its items
  are the record a recovery reads.

Items are deleted in batches of ``RETENTION_BATCH_SIZE`` (one short statement each, by primary key), so
pruning millions of rows never holds a long lock on the table.
"""

import datetime
import logging

from django.utils import timezone

from .conf import app_settings
from .models import FINISHED_RUN_STATUSES, OneTimeWallet, OperationItem, OperationRun

logger = logging.getLogger(__name__)


def prunable_runs(cutoff):
    """Finished runs that ended before ``cutoff`` and hold no unsettled write-ahead."""
    holding = OneTimeWallet.objects.filter(claimed_by__isnull=False).exclude(pending_signature="")
    return OperationRun.objects.filter(status__in=FINISHED_RUN_STATUSES, finished_at__lt=cutoff).exclude(
        pk__in=holding.values("claimed_by")
    )


def prune_run_items(*, days=None, now=None, batch_size=None):
    """Delete the items of runs that finished more than ``days`` ago (default: the setting).

    Returns the number of items deleted; 0 when retention is off (``RUN_ITEMS_RETENTION_DAYS`` None).
    """
    days = app_settings.RUN_ITEMS_RETENTION_DAYS if days is None else days
    if not days:
        return 0
    batch_size = batch_size or app_settings.RETENTION_BATCH_SIZE
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    runs = prunable_runs(cutoff)
    deleted = 0
    while True:
        batch = list(
            OperationItem.objects.filter(run__in=runs.values("pk")).values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            break
        count, _ = OperationItem.objects.filter(pk__in=batch).delete()
        deleted += count
    if deleted:
        logger.info("retention: deleted %s run items of runs finished before %s", deleted, cutoff)
    return deleted
