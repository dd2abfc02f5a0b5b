"""Handing a run to django-q2, and the arguments a queued run is run with (for the jobs and approvals)."""

from django.db import transaction

from .models import OperationRun
from .operations import get_operation_class


def send_to_queue(run):
    """Hand the run's id to django-q2 once the current transaction commits."""
    from django_q.tasks import async_task

    def send():
        task_id = async_task(
            "solana_payments.jobs.execute",
            run.pk,
            task_name=f"solana_payments-{run.kind}-{run.pk}",
            group=f"solana_payments-{run.kind}",
        )
        OperationRun.objects.filter(pk=run.pk).update(task_id=task_id or "")
        run.task_id = task_id or ""

    transaction.on_commit(send)


def run_arguments(parameters, kind=None):
    """The recorded parameters that ``run_operation`` takes (and the operation's own options)."""
    names = ("ids", "limit", "sleep", "dry_run", "include_expired")
    if kind is not None:
        names += get_operation_class(kind).option_names
    return {k: v for k, v in parameters.items() if k in names}
