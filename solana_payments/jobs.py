"""django-q2 jobs: every admin action, dashboard button and schedule runs an operation through here.

The task's only argument is the run id (no secrets and no selections in the queue). ``execute`` claims
the run with a conditional update, so a task delivered twice runs the operation once.
django-q2 is imported inside the functions: its ``Conf`` reads settings at import time.
"""

import datetime
import logging

from django.utils import timezone

from .approvals import hold_if_needed, preview_still_holds
from .conf import app_settings
from .models import (
    FINISHED_RUN_STATUSES,
    ApprovalDecision,
    OperationKind,
    OperationRun,
    OperationTrigger,
    RunStatus,
)
from .operations import MAINTENANCE_STEPS, default_schedules, get_operation_class, run_operation
from .parameters import clean_run_parameters
from .run_queue import run_arguments, send_to_queue

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = "solana_payments "
STALE_GRACE_SECONDS = 60


def enqueue(
    kind, *, ids=None, limit=None, dry_run=False, sleep=0, user=None, trigger=OperationTrigger.API, **options
):
    """Record a queued run and hand its id to django-q2. Returns the run.

    A run that needs a second person's approval (see ``approvals``) is recorded ``awaiting approval``
    with its preview instead, and queued when it is approved.
    """
    if kind not in OperationKind.values:
        raise ValueError(f"Unknown operation {kind!r}.")
    ids, limit, sleep = clean_run_parameters(ids=ids, limit=limit, sleep=sleep)  # before the run is written
    if kind != OperationKind.MAINTENANCE:
        options = get_operation_class(kind).clean_options(ids, options)
    preview = None
    if not dry_run and kind != OperationKind.MAINTENANCE:
        get_operation_class(kind).refuse_if_open(ids)
        held, preview = hold_if_needed(
            kind, ids=ids, limit=limit, sleep=sleep, user=user, trigger=trigger, options=options
        )
        if held is not None:
            return held  # awaiting approval: queued when a second person approves it
    parameters = {
        "ids": ids,
        "limit": limit,
        "sleep": sleep,
        "dry_run": dry_run,
    }
    parameters.update(options)
    run = OperationRun.objects.create(
        kind=kind,
        trigger=trigger,
        requested_by=user if user and user.is_authenticated else None,
        parameters=parameters,
        status=RunStatus.QUEUED,
        preview=preview,  # what it is about to move counts in its requester's approval window
    )
    send_to_queue(run)
    return run


def execute(run_id):
    """The django-q2 task: claim the queued run, then run it. A second delivery finds it claimed."""
    fail_stale_runs()
    now = timezone.now()
    claimed = OperationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        logger.info("run %s is not queued any more; nothing to do", run_id)
        return None
    run = OperationRun.objects.get(pk=run_id)
    try:
        changed = preview_still_holds(run) if run.decision == ApprovalDecision.APPROVED else ""
        if changed:
            OperationRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED,
                finished_at=timezone.now(),
                error=f"the chain changed since the approved preview, which no longer holds: {changed}. "
                "Nothing was sent; ask for the run again.",
            )
        elif run.kind == OperationKind.MAINTENANCE:
            run_maintenance(run)
        else:
            run_operation(run.kind, run=run, trigger=run.trigger, **run_arguments(run.parameters, run.kind))
    except ValueError as exc:  # parameters written by hand or before they were checked: the run fails
        OperationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc), finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run.status


def run_scheduled(kind):
    """What a django-q2 schedule calls: stale runs are failed first, then the operation runs as one run."""
    fail_stale_runs()
    run = OperationRun.objects.create(
        kind=kind, trigger=OperationTrigger.SCHEDULE, status=RunStatus.RUNNING, parameters={"ids": None}
    )
    if kind == OperationKind.MAINTENANCE:
        run_maintenance(run)
    else:
        run_operation(kind, run=run, trigger=OperationTrigger.SCHEDULE)
    run.refresh_from_db()
    return run.status


def run_maintenance(run):
    """expire -> sweep -> reclaim, each a child run of ``run``; the parent sums them up.

    Then housekeeping: run items past ``RUN_ITEMS_RETENTION_DAYS`` and expired export files are deleted.
    """
    arguments = run_arguments(run.parameters)
    clean_run_parameters(limit=arguments.get("limit"), sleep=arguments.get("sleep"))  # before any child
    run.started_at = run.started_at or timezone.now()
    run.status = RunStatus.RUNNING
    run.total = len(MAINTENANCE_STEPS)
    run.save(update_fields=["status", "started_at", "total"])
    children = []
    for step in MAINTENANCE_STEPS:
        child = OperationRun.objects.create(
            kind=step,
            trigger=run.trigger,
            requested_by=run.requested_by,
            parent=run,
            parameters={**run.parameters, "ids": None},
            status=RunStatus.RUNNING,
        )
        children.append(run_operation(step, run=child, trigger=run.trigger, **{**arguments, "ids": None}))
        run.done = len(children)
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["done", "heartbeat_at"])
    statuses = {c.status for c in children}
    if RunStatus.FAILED in statuses:
        run.status = RunStatus.FAILED
        run.error = "; ".join(f"{c.kind}: {c.error}" for c in children if c.error)
    elif RunStatus.PARTIAL in statuses:
        run.status = RunStatus.PARTIAL
    else:
        run.status = RunStatus.SUCCEEDED
    run.counts = {c.kind: c.counts for c in children}
    run.counts["retention"] = housekeeping()
    rpc = {}
    for child in children:
        for method, count in child.rpc_calls.items():
            rpc[method] = rpc.get(method, 0) + count
    run.rpc_calls = rpc
    run.fees_paid = sum(c.fees_paid for c in children)
    run.finished_at = timezone.now()
    # Not a full save: the task id the enqueuing process writes may not be in this copy of the run.
    run.save(update_fields=["status", "error", "counts", "rpc_calls", "fees_paid", "finished_at"])
    return run


def housekeeping():
    """The last maintenance step: prune old run items and expired export files (never fails the run)."""
    from .exporting import delete_expired_exports
    from .retention import prune_run_items

    done = {}
    for name, step in (("items_pruned", prune_run_items), ("exports_deleted", delete_expired_exports)):
        try:
            done[name] = step()
        except Exception:
            logger.exception("maintenance: %s failed", name)
            done[name] = "failed"
    return done


def stale_after_seconds():
    from django_q.conf import Conf

    return (Conf.TIMEOUT or 600) + STALE_GRACE_SECONDS


def fail_stale_runs():
    """Runs left ``running`` by a dead worker: no progress for longer than the django-q2 timeout."""
    limit = stale_after_seconds()
    cutoff = timezone.now() - datetime.timedelta(seconds=limit)
    return OperationRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff).update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        error=f"no progress for more than {limit} s: the worker running it probably died; retry it",
    )


def cancel(run):
    """Cancel a queued run, or one awaiting approval (a running one cannot be interrupted safely).
    Returns whether it was cancelled."""
    return bool(
        OperationRun.objects.filter(
            pk=run.pk, status__in=(RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL)
        ).update(status=RunStatus.CANCELLED, finished_at=timezone.now())
    )


def retry(run, *, user=None, trigger=OperationTrigger.ADMIN_ACTION):
    """A new queued run over the records that failed (or everything, for a run that failed outright)."""
    if run.status not in FINISHED_RUN_STATUSES:
        raise ValueError(f"run #{run.pk} is {run.status}; only a finished run can be retried.")
    if run.kind == OperationKind.MAINTENANCE:
        return enqueue(run.kind, user=user, trigger=trigger)
    failed = run.items.filter(outcome="failed")
    key = "wallet_id" if run.kind in (OperationKind.SWEEP, OperationKind.RECLAIM) else "payment_id"
    ids = sorted({pk for pk in failed.values_list(key, flat=True) if pk})
    arguments = run_arguments(run.parameters, run.kind)
    arguments.pop("plan", None)  # a retry is previewed (and approved) afresh
    if run.status == RunStatus.FAILED and not ids:
        ids = arguments.get("ids")
    arguments.update(ids=ids, dry_run=False)
    return enqueue(run.kind, user=user, trigger=trigger, **arguments)


# -- schedules ------------------------------------------------------------------------------------------


def schedule_intervals():
    intervals = default_schedules()
    intervals.update(app_settings.SCHEDULES or {})
    return intervals


def install_schedules():
    """Create or update the django-q2 schedules; returns ``[(name, 'created'|'updated'|'unchanged', minutes)]``."""
    from django_q.models import Schedule

    report = []
    for kind, minutes in schedule_intervals().items():
        if kind not in default_schedules():
            raise ValueError(
                f"SCHEDULES: {kind!r} cannot be scheduled (use {' or '.join(map(repr, default_schedules()))})."
            )
        name = SCHEDULE_PREFIX + kind
        defaults = {
            "func": "solana_payments.jobs.run_scheduled",
            "args": repr(kind),
            "schedule_type": Schedule.MINUTES,
            "minutes": int(minutes),
            "repeats": -1,
        }
        schedule = Schedule.objects.filter(name=name).first()
        if schedule is None:
            first_run = timezone.now() + datetime.timedelta(minutes=int(minutes))
            Schedule.objects.create(name=name, next_run=first_run, **defaults)
            report.append((name, "created", minutes))
        elif any(getattr(schedule, field) != value for field, value in defaults.items()):
            for field, value in defaults.items():
                setattr(schedule, field, value)
            schedule.save()
            report.append((name, "updated", minutes))
        else:
            report.append((name, "unchanged", minutes))
    return report


def remove_schedules():
    from django_q.models import Schedule

    names = list(Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX).values_list("name", flat=True))
    Schedule.objects.filter(name__in=names).delete()
    return names
