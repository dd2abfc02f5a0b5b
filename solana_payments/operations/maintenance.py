"""maintenance: expire -> sweep -> reclaim, each a child run of the maintenance run, then housekeeping.

The parent run sums its children up: their counts by step, RPC calls and fees, and the worst status. It
needs each step's permission, and it moves money when a step does (so it is held as a sweep would be).
"""

import logging

from django.utils import timezone

from ..models import OperationRun, RunStatus
from .base import Operation, run_operation
from .registry import get_operation_class

logger = logging.getLogger(__name__)


class MaintenanceOperation(Operation):
    kind = "maintenance"
    order = 0  # the whole flow: listed before its steps
    description = "Expire, sweep and reclaim in a row (the recommended order), then prune old run items."
    steps = ("expire", "sweep", "reclaim")
    moves_money = True
    schedule_minutes = 10
    own_permission = False  # it needs the permission of each step
    summary_keys = ()

    @classmethod
    def on_dashboard(cls):
        return False

    @classmethod
    def permissions(cls):
        return [p for step in cls.steps for p in get_operation_class(step).permissions()]

    @classmethod
    def retry_ids(cls, run):
        return None  # a maintenance run is retried whole: each step takes what is eligible then

    @classmethod
    def record_model(cls):
        return None

    def __init__(self, run, chain, **kwargs):
        super().__init__(run, chain, **kwargs)
        self.children = []  # the steps' runs, as they finish
        self.housekeeping = None  # what the last step did, once it ran

    def execute(self):
        self.set_total(len(self.steps))
        for step in self.steps:
            child = OperationRun.objects.create(
                kind=step,
                trigger=self.run.trigger,
                requested_by=self.run.requested_by,
                requester=self.run.requester,
                parent=self.run,
                parameters={**self.run.parameters, "ids": None, "limit": None},
                status=RunStatus.RUNNING,
            )
            self.children.append(
                run_operation(
                    step,
                    run=child,
                    chain=self.chain,
                    trigger=self.run.trigger,
                    sleep=self.sleep,
                    limit=self.limit,
                    dry_run=self.dry_run,
                )
            )
            self.run.done = len(self.children)
            self.save_progress()
        self.housekeeping = {} if self.dry_run else housekeeping()

    def finish(self, *, error="", rpc_calls=None):
        children = self.children
        run = self.run
        statuses = {c.status for c in children}
        errors = [f"{c.kind}: {c.error}" for c in children if c.error]
        if error:
            errors.insert(0, error)
        if errors or RunStatus.FAILED in statuses:
            run.status = RunStatus.FAILED
        elif RunStatus.PARTIAL in statuses:
            run.status = RunStatus.PARTIAL
        else:
            run.status = RunStatus.SUCCEEDED
        run.error = "; ".join(errors)
        run.counts = {c.kind: c.counts for c in children}
        if self.housekeeping is not None and not self.dry_run:
            run.counts["retention"] = self.housekeeping
        run.rpc_calls = rpc_calls or {}
        run.fees_paid = sum(c.fees_paid for c in children)
        run.finished_at = run.heartbeat_at = timezone.now()
        # Not a full save: the task id the enqueuing process writes may not be in this copy of the run.
        run.save(
            update_fields=[
                "status",
                "error",
                "counts",
                "rpc_calls",
                "fees_paid",
                "finished_at",
                "heartbeat_at",
                "done",
                "total",
            ]
        )

    @classmethod
    def summary_of(cls, counts, keys=None):
        return "; ".join(
            f"{step}: {get_operation_class(step).summary_of(counts[step])}"
            for step in cls.steps
            if step in counts
        )


def housekeeping():
    """The last maintenance step: prune old run items and expired export files (never fails the run)."""
    from ..exporting import delete_expired_exports
    from ..retention import prune_run_items

    done = {}
    for name, step in (("items_pruned", prune_run_items), ("exports_deleted", delete_expired_exports)):
        try:
            done[name] = step()
        except Exception:
            logger.exception("maintenance: %s failed", name)
            done[name] = "failed"
    return done
