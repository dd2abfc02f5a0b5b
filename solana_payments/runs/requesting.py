"""``request_run()``: the one way a run is asked for.

The command, the admin actions, the dashboard's buttons, the payment desk, the schedules, retries, the
shop's status endpoint and ``jobs.enqueue`` all call it. It cleans the parameters once into a frozen
``RunRequest``, refuses a record already in an open run, applies four-eyes approval (see ``approvals``),
records the run and hands it to django-q2, or runs it here for a command, a schedule or a preview.
``run_operation`` then only executes what was recorded.
"""

from ..models import FINISHED_RUN_STATUSES, OperationRun, OperationTrigger, RunStatus
from ..operations import RunRequest, get_operation_class, run_operation
from ..run_queue import send_to_queue
from .holding import hold_if_needed


def request_run(
    kind,
    selection=None,
    *,
    trigger,
    user=None,
    requester="",
    dry_run=False,
    limit=None,
    sleep=0,
    options=None,
    inline=False,
    chain=None,
    on_progress=None,
):
    """Ask for a run of ``kind`` over ``selection`` (record ids, or None for everything eligible up to
    ``limit``) and return its ``OperationRun``.

    A dry run (a preview) runs here and now. Otherwise the run is held ``awaiting approval`` when it must
    wait for a second person, else queued on django-q2, or run here with ``inline`` (a command, a
    schedule, the shop's status check). ``ValueError`` says what was refused before anything is recorded.
    ``user`` is who asked (a Django user); ``requester`` their name when there is no user (a command's
    ``--requested-by``, by default the OS user).
    """
    request = RunRequest.clean(
        kind, ids=selection, limit=limit, sleep=sleep, dry_run=dry_run, options=options
    )
    user = user if user is not None and user.is_authenticated else None
    requester = user.get_username() if user is not None else str(requester or "")[:150]
    if request.dry_run:
        return run_operation(
            kind, request=request, trigger=trigger, user=user, chain=chain, on_progress=on_progress
        )
    operation_class = request.operation_class
    operation_class.refuse_if_open(request.ids)
    held, preview = hold_if_needed(request, user=user, requester=requester, trigger=trigger, chain=chain)
    if held is not None:
        return held  # awaiting approval: queued when a second person approves it
    run = OperationRun.objects.create(
        kind=kind,
        trigger=trigger,
        requested_by=user,
        requester=requester,
        parameters=request.parameters(),
        status=RunStatus.RUNNING if inline else RunStatus.QUEUED,
        preview=preview,  # what it is about to move counts in its requester's approval window
    )
    if inline:
        return run_operation(
            kind, request=request, run=run, trigger=trigger, chain=chain, on_progress=on_progress
        )
    send_to_queue(run)
    return run


def retry_run(run, *, user=None, requester="", trigger=OperationTrigger.ADMIN_ACTION):
    """Ask for a new run over the records that failed in ``run`` (or everything it took, for a run that
    failed outright), exactly as a fresh request of the same kind: cleaned, held, recorded and queued."""
    if run.status not in FINISHED_RUN_STATUSES:
        raise ValueError(f"run #{run.pk} is {run.status}; only a finished run can be retried.")
    operation_class = get_operation_class(run.kind)
    parameters = run.parameters or {}
    ids = operation_class.retry_ids(run)
    if run.status == RunStatus.FAILED and not ids:
        ids = parameters.get("ids")
    # What the approved run pinned from its preview is not asked for again: a retry is previewed afresh.
    names = [n for n in operation_class.option_names if n not in operation_class.pinned_options]
    options = {name: parameters[name] for name in names if name in parameters}
    return request_run(
        run.kind,
        ids,
        trigger=trigger,
        user=user,
        requester=requester,
        limit=parameters.get("limit") if ids is None else None,
        sleep=parameters.get("sleep", 0),
        options=options,
    )
