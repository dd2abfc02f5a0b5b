"""Admin actions: the operations on selected payments and wallets, and retry / cancel on runs.

An operation action shows the confirmation page with the preview first, and acts only when the page posts
back ``post=yes`` (like ``django.contrib.admin.actions.delete_selected``).
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import jobs
from ..models import FINISHED_RUN_STATUSES, OperationTrigger, RunStatus
from ..operations import get_operation_class, operation_classes
from .forms import MAX_IDS, InvalidSelection, parse_ids
from .permissions import can_run
from .previews import preview_operation
from .views import confirmation_response, start_run


def operation_actions(records):
    """The admin actions the operations offer on ``records`` (``"payment"`` or ``"wallet"``), in the
    order of the flow: each operation declares its own (``Operation.admin_actions``)."""
    return [
        operation_action(kind, action.name, action.description, records=action.on)
        for kind, operation_class in operation_classes().items()
        for action in operation_class.admin_actions
        if action.on == records
    ]


def operation_action(kind, name, description, *, records):
    """An admin action running ``kind`` on the selected ``records``: their own ids when the operation
    selects such records, else the ids of the records it selects that they name (a payment's wallet)."""
    via = None if get_operation_class(kind).model == records else get_operation_class(kind).model

    @admin.action(permissions=[f"run_{kind}"], description=description)
    def action(modeladmin, request, queryset):
        if not can_run(request.user, kind):
            raise PermissionDenied  # get_actions already hides it; a forged call stops here too
        try:
            ids = selected_ids(request, queryset, via=via)
        except InvalidSelection as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        if request.POST.get("post") == "yes":  # confirmation posted back here, like delete_selected
            start_run(request, modeladmin, kind, ids=ids, limit=None, trigger=OperationTrigger.ADMIN_ACTION)
            return None
        try:
            preview = preview_operation(
                kind, ids=ids, limit=None, user=request.user, trigger=OperationTrigger.ADMIN_ACTION
            )
        except InvalidSelection as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        fields = {
            "ids": ",".join(str(pk) for pk in ids),
            "trigger": OperationTrigger.ADMIN_ACTION,
            "next": request.get_full_path(),
        }
        return confirmation_response(
            request,
            modeladmin,
            kind,
            preview,
            fields=fields,
            back_url=request.get_full_path(),
            opts=modeladmin.opts,
        )

    action.__name__ = name
    action.__qualname__ = name
    return action


def selected_ids(request, queryset, *, via=None):
    """The ids the operation takes for the selected rows: their own, or those of their ``via`` relation."""
    queryset = queryset.prefetch_related(None).order_by()
    if queryset.count() > MAX_IDS:
        raise InvalidSelection(
            f"More than {MAX_IDS:,} records are selected; narrow the selection with the filters, "
            "or run the operation on everything eligible from the operations dashboard."
        )
    pks = list(queryset.values_list("pk", flat=True))
    if request.POST.get("select_across") != "1":
        posted = parse_ids(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        missing = sorted(set(posted) - set(pks))
        if missing:
            shown = ", ".join(f"#{pk}" for pk in missing[:10]) + (" …" if len(missing) > 10 else "")
            raise InvalidSelection(
                f"{len(missing)} selected record(s) do not exist ({shown}): nothing was run."
            )
    if not pks:
        raise InvalidSelection("No records were selected: nothing was run.")
    if via:
        return sorted(pk for pk in queryset.values_list(via, flat=True) if pk is not None)
    return sorted(pks)


def _run_link(modeladmin, run):
    url = reverse(
        "admin:solana_payments_operationrun_change", args=[run.pk], current_app=modeladmin.admin_site.name
    )
    return format_html('<a href="{}">#{}</a>', url, run.pk)


def _is_preview(run):
    return bool((run.parameters or {}).get("dry_run"))


def retry_refusal(user, run):
    """Why ``run`` cannot be retried by ``user``, or None."""
    if not can_run(user, run.kind):
        return f"you may not run {run.kind}"
    if _is_preview(run):
        return "it is a preview (dry run); start a new run instead"
    if run.status not in (RunStatus.FAILED, RunStatus.PARTIAL):
        return f"it is {run.get_status_display()}: only failed and partial runs are retried"
    return None


@admin.action(permissions=["run_any"], description="Retry the failed items of selected runs…")
def retry_runs(modeladmin, request, queryset):
    runs = list(queryset.order_by("pk")[: MAX_IDS + 1])
    if len(runs) > MAX_IDS:
        modeladmin.message_user(request, f"Select at most {MAX_IDS:,} runs.", messages.ERROR)
        return None
    rows = [(run, retry_refusal(request.user, run)) for run in runs]
    if request.POST.get("post") == "yes":
        started = []
        for run, refusal in rows:
            if refusal is None:
                started.append(jobs.retry(run, user=request.user, trigger=OperationTrigger.ADMIN_ACTION))
        refused = [(run, refusal) for run, refusal in rows if refusal]
        if started:
            links = format_html_join(", ", "{}", ((_run_link(modeladmin, r),) for r in started))
            modeladmin.message_user(
                request, format_html("{} retry run(s) queued: {}.", len(started), links), messages.SUCCESS
            )
        for run, refusal in refused:
            modeladmin.message_user(request, f"Run #{run.pk} was not retried: {refusal}.", messages.WARNING)
        return None
    request.current_app = modeladmin.admin_site.name
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Retry runs: confirm",
        "subtitle": None,
        "rows": rows,
        "retryable": sum(1 for _, refusal in rows if refusal is None),
        "opts": modeladmin.opts,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action_name": "retry_runs",
        "back_url": request.get_full_path(),
    }
    return TemplateResponse(request, "admin/solana_payments/retry_confirmation.html", context)


@admin.action(
    permissions=["run_any"], description="Cancel selected queued runs (or withdraw them from approval)"
)
def cancel_runs(modeladmin, request, queryset):
    """Cancel what has not started: queued runs, and runs awaiting approval (withdrawn). ``jobs.cancel``
    decides, with a conditional update; this only says why a run was left alone."""
    cancelled, refused = [], []
    for run in queryset.order_by("pk")[:MAX_IDS]:
        if not can_run(request.user, run.kind):
            refused.append((run, f"you may not run {run.kind}"))
        elif run.status not in (RunStatus.QUEUED, RunStatus.AWAITING_APPROVAL):
            what = "finished" if run.status in FINISHED_RUN_STATUSES else run.get_status_display()
            refused.append(
                (run, f"it is {what}: only queued runs and runs awaiting approval can be cancelled")
            )
        elif jobs.cancel(run):
            cancelled.append(run)
        else:
            refused.append((run, "it started meanwhile"))
    if cancelled:
        links = format_html_join(", ", "{}", ((_run_link(modeladmin, r),) for r in cancelled))
        modeladmin.message_user(
            request, format_html("{} run(s) cancelled: {}.", len(cancelled), links), messages.SUCCESS
        )
    for run, refusal in refused:
        modeladmin.message_user(request, f"Run #{run.pk} was not cancelled: {refusal}.", messages.WARNING)
    return None
