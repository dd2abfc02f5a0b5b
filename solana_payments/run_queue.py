"""Handing a run to django-q2 (for ``runs.request_run`` and ``approvals.approve``)."""

from django.db import transaction

from .models import OperationRun


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
