"""django-q2 jobs: executing a queued run, the schedules, stale runs, cancel and retry.

Runs are asked for with ``runs.request_run`` (``enqueue`` and ``retry`` are its shortcuts here).

The task's only argument is the run id (no secrets and no selections in the queue). ``execute`` claims
the run with a conditional update, so a task delivered twice runs the operation once.
django-q2 is imported inside the functions: its ``Conf`` reads settings at import time.
"""

import datetime
import logging

from django.utils import timezone

from .conf import app_settings
from .models import ApprovalDecision, OperationRun, OperationTrigger, RunStatus
from .operations import RunRequest, default_schedules, run_operation
from .operations.maintenance import housekeeping  # noqa: F401  (the maintenance run's last step)
from .runs import request_run, retry_run
from .runs.holding import preview_still_holds

logger = logging.getLogger(__name__)

SCHEDULE_PREFIX = "solana_payments "
STALE_GRACE_SECONDS = 60


def enqueue(
    kind, *, ids=None, limit=None, dry_run=False, sleep=0, user=None, trigger=OperationTrigger.API, **options
):
    """Ask for a run and hand it to django-q2 (``runs.request_run``). Returns the run.

    A run that needs a second person's approval (see ``approvals``) is recorded ``awaiting approval``
    with its preview instead, and queued when it is approved.
    """
    return request_run(
        kind, ids, trigger=trigger, user=user, dry_run=dry_run, limit=limit, sleep=sleep, options=options
    )


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
        else:
            request = RunRequest.from_parameters(run.kind, run.parameters)
            run_operation(run.kind, request=request, run=run, trigger=run.trigger)
    except ValueError as exc:  # parameters written by hand or before they were checked: the run fails
        OperationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc), finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run.status


def run_scheduled(kind):
    """What a django-q2 schedule calls: stale runs are failed first, then the operation runs as one run."""
    fail_stale_runs()
    run = request_run(kind, None, trigger=OperationTrigger.SCHEDULE, inline=True)
    run.refresh_from_db()
    return run.status


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
    """A new run over the records that failed (or everything, for a run that failed outright), asked for
    like any other (``runs.retry_run``): held for approval exactly as a fresh request would be."""
    return retry_run(run, user=user, trigger=trigger)


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
