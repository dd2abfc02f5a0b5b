"""Operation actions on payments and wallets, and the confirmation page they share with the dashboard.

Two steps, like ``django.contrib.admin.actions.delete_selected``: the first request shows what would
happen, and only a POST carrying ``post=yes`` queues the run on django-q2. The preview is a dry run of
the operation itself (``run_operation(..., dry_run=True)``), so it goes through the same code as the
real run: eligible records, skipped ones with their reasons, amounts, transactions and fees.

Every view here checks the ``run_<kind>`` permission itself: ``admin_view`` only checks staff.
"""

from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from .. import jobs
from ..amounts import format_units
from ..conf import app_settings
from ..exceptions import SolanaPaymentsError
from ..models import (
    FINISHED_RUN_STATUSES,
    ItemOutcome,
    OperationKind,
    OperationRun,
    OperationTrigger,
    RunStatus,
)
from ..operations import get_operation_class, run_operation
from ..parameters import clean_ids
from .display import token_amount
from .permissions import OPERATION_KINDS, RunPermissionsMixin, can_run

MAX_IDS = 10_000
PREVIEW_ROWS = 50
PREVIEW_MAX_RETRY_SECONDS = 5.0
TRIGGERS = (OperationTrigger.ADMIN_ACTION, OperationTrigger.DASHBOARD)
CHANGE_LIST_TEMPLATE = "admin/solana_payments/change_list.html"


class InvalidSelection(ValueError):
    """A selection of records that cannot be run: the message says why, for the admin's message bar."""


def record_model(kind):
    """What the operation selects (its ``model``): payments or wallets."""
    return get_operation_class(kind).record_model()


def record_noun(kind, count=2):
    noun = get_operation_class(kind).model
    return noun if count == 1 else noun + "s"


def parse_ids(values):
    """Record ids from form values (repeated fields or comma-separated): ``[int]`` without duplicates.

    Raises ``InvalidSelection`` for no ids, more than ``MAX_IDS``, or anything but a decimal number in
    1 .. 2**63-1 (negative, huge and non-integer ids never reach the database).
    """
    parts = [part for value in values for part in str(value).split(",") if part.strip()]
    if not parts:
        raise InvalidSelection("No records were selected: nothing was run.")
    if len(parts) > MAX_IDS:
        raise InvalidSelection(
            f"{len(parts):,} records were selected; at most {MAX_IDS:,} can be run at once. "
            "Narrow the selection with the filters, or run the operation on everything eligible "
            "from the operations dashboard."
        )
    try:
        return clean_ids(parts)
    except ValueError as exc:
        raise InvalidSelection(f"{exc}: nothing was run.") from None


def check_exist(kind, ids):
    """Raise ``InvalidSelection`` naming the ids that match no record."""
    found = set(record_model(kind)._default_manager.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        shown = ", ".join(f"#{pk}" for pk in missing[:10]) + (" …" if len(missing) > 10 else "")
        verb = "does" if len(missing) == 1 else "do"
        raise InvalidSelection(
            f"{len(missing)} selected {record_noun(kind, len(missing))} {verb} not exist ({shown}): "
            "nothing was run."
        )


def safe_next(request, url):
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


# -- the preview ------------------------------------------------------------------------------------


@dataclass
class Preview:
    """What a dry run of the operation found, summed up for the confirmation page."""

    run: OperationRun
    records: int  # distinct records the operation would act on
    counts: dict  # items by outcome
    planned: list  # the first would-do items
    skipped: list  # the first skipped items, with their reasons
    failed: list  # the first items the preview could not settle
    amounts: list  # "0.5 SOL", by token
    fees: int  # lamports
    rent: int  # lamports of rent that would return to the fee payer
    transactions: int | None  # None when the dry run could not tell

    @property
    def failed_outright(self):
        return self.run.status == RunStatus.FAILED

    @property
    def fees_sol(self):
        return format_units(self.fees, 9)

    @property
    def rent_sol(self):
        return format_units(self.rent, 9)

    @property
    def more_planned(self):
        return max(0, self.counts.get(ItemOutcome.WOULD_DO, 0) - len(self.planned))

    @property
    def more_skipped(self):
        return max(0, self.counts.get(ItemOutcome.SKIPPED, 0) - len(self.skipped))

    @property
    def more_failed(self):
        return max(0, self.counts.get(ItemOutcome.FAILED, 0) - len(self.failed))


def planned_transactions(items):
    """Distinct transactions among the would-do items that pay a fee.

    Settling items carry the customer's signature and no fee, so only fee-bearing items count; a dry run
    records the signature each planned transaction would have.
    """
    return items.filter(fee__gt=0).exclude(signature="").values("signature").distinct().count()


def preview_operation(kind, *, ids, limit, user, trigger):
    """Dry-run the operation (the same code as the real run) and sum up what it would do.

    The chain client is the run's usual one, only less patient with a node that is down: someone is
    waiting for the page. Raises ``InvalidSelection`` when no client can be built from the settings.
    """
    from ..chain.client import ChainClient

    try:
        chain = ChainClient.from_settings(
            max_retry_seconds=min(float(app_settings.RPC_MAX_RETRY_SECONDS), PREVIEW_MAX_RETRY_SECONDS)
        )
    except (SolanaPaymentsError, ValueError) as exc:
        raise InvalidSelection(f"The preview could not start: {exc}") from None
    try:
        run = run_operation(kind, ids=ids, limit=limit, dry_run=True, trigger=trigger, user=user, chain=chain)
    finally:
        chain.close()
    return summarize(run)


def summarize(run):
    items = run.items.all()
    planned = items.filter(outcome=ItemOutcome.WOULD_DO)
    record = get_operation_class(run.kind).model
    totals = planned.aggregate(records=Count(record, distinct=True), fees=Sum("fee"), rent=Sum("rent"))
    amounts = (
        planned.filter(amount__isnull=False, token__isnull=False)
        .values("token__symbol", "token__decimals")
        .annotate(total=Sum("amount"))
        .order_by("token__symbol")
    )
    counts = {row["outcome"]: row["n"] for row in items.values("outcome").annotate(n=Count("pk")).order_by()}
    rows = items.select_related("payment", "wallet", "token")
    planned_rows, skipped_rows, failed_rows = (
        with_amount_text(rows.filter(outcome=outcome)[:PREVIEW_ROWS])
        for outcome in (ItemOutcome.WOULD_DO, ItemOutcome.SKIPPED, ItemOutcome.FAILED)
    )
    return Preview(
        run=run,
        records=totals["records"] or 0,
        counts=counts,
        planned=planned_rows,
        skipped=skipped_rows,
        failed=failed_rows,
        amounts=[f"{format_units(a['total'], a['token__decimals'])} {a['token__symbol']}" for a in amounts],
        fees=totals["fees"] or 0,
        rent=totals["rent"] or 0,
        transactions=planned_transactions(planned),
    )


def with_amount_text(items):
    items = list(items)
    for item in items:
        item.amount_text = token_amount(item.amount, item.token)
    return items


def confirmation_response(request, modeladmin, kind, preview, *, fields, back_url, opts):
    """The confirmation page; its form posts ``fields`` and ``post=yes`` to the shared run view."""
    admin_site = modeladmin.admin_site
    request.current_app = admin_site.name
    count = len(fields.get("ids", "").split(",")) if fields.get("ids") else None
    context = {
        **admin_site.each_context(request),
        "title": f"Run {kind}: confirm",
        "subtitle": None,
        "kind": kind,
        "description": get_operation_class(kind).description,
        "selected": (
            f"{count} selected {record_noun(kind, count)}" if count is not None else "everything eligible now"
        ),
        "limit": fields.get("limit"),
        "scope_all": "all" in fields,
        "preview": preview,
        "record_noun": record_noun(kind),
        "form_action": reverse(
            "admin:solana_payments_operationrun_run", args=[kind], current_app=admin_site.name
        ),
        "fields": sorted(fields.items()),
        "back_url": back_url,
        "opts": opts,
        "preview_url": (
            reverse(
                "admin:solana_payments_operationrun_change",
                args=[preview.run.pk],
                current_app=admin_site.name,
            )
            if preview
            else None
        ),
    }
    return TemplateResponse(request, "admin/solana_payments/operation_confirmation.html", context)


def start_run(request, modeladmin, kind, *, ids, limit, trigger):
    """Queue the run on django-q2 and tell the user, with a link to the run's page."""
    run = jobs.enqueue(kind, ids=ids, limit=limit, user=request.user, trigger=trigger)
    url = reverse(
        "admin:solana_payments_operationrun_change", args=[run.pk], current_app=modeladmin.admin_site.name
    )
    scope = f"{len(ids)} {record_noun(kind, len(ids))}" if ids is not None else "everything eligible"
    held = run.status == RunStatus.AWAITING_APPROVAL  # see approvals: a second person approves it
    modeladmin.message_user(
        request,
        format_html(
            '{} {} for {}: <a href="{}">run #{}</a>.',
            kind.capitalize(),
            "awaits approval" if held else "queued",
            scope,
            url,
            run.pk,
        ),
        messages.SUCCESS,
    )
    from .dashboard import cluster_warning  # the dashboard module imports this one

    warning = cluster_warning()
    if warning:
        modeladmin.message_user(request, warning, messages.WARNING)
    return run


# -- the shared confirmation view (dashboard buttons and action confirmations post here) -------------


def operation_view(modeladmin, request, kind):
    """``GET``: a page whose button asks for the preview, and nothing else. ``POST`` without ``post``: the
    preview page (a recorded dry run). ``POST`` with ``post=yes``: queue the run.

    Parameters: ``ids`` (repeated or comma-separated record ids: payments for recheck and expire, wallets
    for sweep and reclaim) or ``all=1`` (everything eligible), ``trigger`` (``dashboard`` or
    ``admin_action``) and ``next`` (where to go afterwards).
    """
    if kind not in OPERATION_KINDS:
        raise Http404(f"No operation called {kind!r}.")
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if not can_run(request.user, kind):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    back = safe_next(request, data.get("next")) or reverse(
        "admin:solana_payments_dashboard", current_app=modeladmin.admin_site.name
    )
    trigger = data.get("trigger") or OperationTrigger.DASHBOARD
    try:
        if trigger not in TRIGGERS:
            raise InvalidSelection(f"{trigger[:24]!r} is not a way to start a run from the admin.")
        if data.get("all") == "1" and not data.getlist("ids"):
            ids, limit = None, get_operation_class(kind).default_limit
        else:
            ids, limit = parse_ids(data.getlist("ids")), None
            check_exist(kind, ids)
    except InvalidSelection as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(back)

    if request.method == "POST" and data.get("post") == "yes":
        start_run(request, modeladmin, kind, ids=ids, limit=limit, trigger=trigger)
        return HttpResponseRedirect(back)

    fields = {"trigger": trigger, "next": back}
    if ids is None:
        fields["all"] = "1"
    else:
        fields["ids"] = ",".join(str(pk) for pk in ids)
    if limit:
        fields["limit"] = limit
    if request.method == "GET":
        # A link, a bookmark or a browser's prefetch records no run and asks the chain nothing: the page
        # only offers the preview, which is a POST.
        return confirmation_response(request, modeladmin, kind, None, fields=fields, back_url=back, opts=None)
    try:
        preview = preview_operation(kind, ids=ids, limit=limit, user=request.user, trigger=trigger)
    except InvalidSelection as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(back)
    return confirmation_response(request, modeladmin, kind, preview, fields=fields, back_url=back, opts=None)


# -- the actions on payments and wallets -------------------------------------------------------------


def operation_action(kind, name, description, *, via_wallets=False):
    """An admin action running ``kind`` on the selected records (their wallets with ``via_wallets``)."""

    @admin.action(permissions=[f"run_{kind}"], description=description)
    def action(modeladmin, request, queryset):
        if not can_run(request.user, kind):
            raise PermissionDenied  # get_actions already hides it; a forged call stops here too
        try:
            ids = selected_ids(request, kind, queryset, via_wallets=via_wallets)
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


def selected_ids(request, kind, queryset, *, via_wallets):
    """The ids the operation takes for the selected rows: their own, or their wallets'."""
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
    if via_wallets:
        return sorted(queryset.values_list("wallet_id", flat=True))
    return sorted(pks)


recheck_payments = operation_action(
    OperationKind.RECHECK, "recheck_payments", "Recheck selected payments on chain…"
)
expire_payments = operation_action(
    OperationKind.EXPIRE, "expire_payments", "Expire selected overdue payments…"
)
sweep_payment_wallets = operation_action(
    OperationKind.SWEEP, "sweep_payment_wallets", "Sweep the wallets of selected payments…", via_wallets=True
)
reclaim_payment_wallets = operation_action(
    OperationKind.RECLAIM,
    "reclaim_payment_wallets",
    "Reclaim the rent of selected payments' wallets…",
    via_wallets=True,
)
sweep_wallets = operation_action(OperationKind.SWEEP, "sweep_wallets", "Sweep selected wallets…")
reclaim_wallets = operation_action(
    OperationKind.RECLAIM, "reclaim_wallets", "Reclaim the rent of selected wallets…"
)


class OperationActionsMixin(RunPermissionsMixin):
    """For the payment and wallet admins: the permission hooks of the actions, id checks, dashboard link."""

    change_list_template = CHANGE_LIST_TEMPLATE

    def response_action(self, request, queryset):
        # Django filters the changelist with the posted ids as they are: a huge or non-numeric id would
        # crash the query. Refuse them with a message instead.
        try:
            parse_ids(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        except InvalidSelection as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        return super().response_action(request, queryset)


class DashboardLinkMixin:
    """For the app's other admins: the changelist template with the link to the operations dashboard."""

    change_list_template = CHANGE_LIST_TEMPLATE


# -- the actions on runs ------------------------------------------------------------------------------


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


@admin.action(permissions=["run_any"], description="Cancel selected queued runs")
def cancel_runs(modeladmin, request, queryset):
    cancelled, refused = [], []
    for run in queryset.order_by("pk")[:MAX_IDS]:
        if not can_run(request.user, run.kind):
            refused.append((run, f"you may not run {run.kind}"))
        elif run.status != RunStatus.QUEUED:
            what = "finished" if run.status in FINISHED_RUN_STATUSES else run.get_status_display()
            refused.append((run, f"it is {what}: only queued runs can be cancelled"))
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
