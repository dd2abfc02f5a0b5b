"""The exceptions desk on a payment's page: refund it, accept it or cancel it.

Each form works like the other operation pages: the first POST previews (a recorded dry run of the
operation itself, with the form's values), and only a POST carrying ``post=yes`` asks for the run. A
refund always waits for a second person's approval (see ``approvals``); a decision runs when queued.
Every view checks the operation's permission itself: ``admin_view`` only checks staff.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ..models import OperationItem, OperationRun, OperationTrigger, PaymentException, Refund, RunStatus
from ..operations import get_operation_class, operation_classes
from ..runs import request_run
from .display import token_amount
from .objects import object_or_404
from .permissions import can_run
from .previews import summarize


def desk_kinds():
    """``{kind: label}`` of the operations a payment's page links to a form of (``desk_label``)."""
    return {kind: c.desk_label for kind, c in operation_classes().items() if c.desk_label and c.desk_form}


def decision_kinds():
    """The operations whose done items are decisions on a payment, listed on its page."""
    return [kind for kind, c in operation_classes().items() if c.records_decisions]


class RefundInline(admin.TabularInline):
    model = Refund
    classes = ["sp-untitled-rows"]
    fields = [
        "status",
        "amount_display",
        "destination",
        "source",
        "signature_link",
        "fee",
        "rent",
        "landed_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "refunds"

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("solana_payments.view_payment")  # a payment's refunds are part of it

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("token")

    @admin.display(description="amount")
    def amount_display(self, refund):
        return token_amount(refund.amount, refund.token)

    @admin.display(description="signature")
    def signature_link(self, refund):
        from .runs import explorer_link  # the runs admin imports the dashboard, which imports this module

        return explorer_link(refund.signature)


class DeskMixin:
    """For the payment admin: ``<id>/refund/`` and ``<id>/resolve/``, a refund marker, the decisions."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                f"<path:object_id>/{kind}/",
                self.admin_site.admin_view(self.desk_view),
                {"kind": kind},
                name=f"{info[0]}_{info[1]}_{kind}",
            )
            for kind in desk_kinds()
        ]
        return urls + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        desk = [
            (reverse(f"admin:solana_payments_payment_{kind}", args=[object_id]), label)
            for kind, label in desk_kinds().items()
            if can_run(request.user, kind)
        ]
        extra_context = {**(extra_context or {}), "desk_links": desk}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="refunded")
    def refund_display(self, payment):
        if not payment.refunded_amount:
            return "-"
        return f"{token_amount(payment.refunded_amount, payment.paid_token)} ({payment.refund_marker})"

    @admin.display(description="decisions")
    def decisions_display(self, payment):
        items = OperationItem.objects.filter(
            payment=payment, run__kind__in=decision_kinds(), run__parameters__dry_run=False, outcome="done"
        ).order_by("created_at")
        if not items:
            return "-"
        return format_html_join(
            "",
            "<div>{} — {}</div>",
            ((f"{item.created_at:%Y-%m-%d %H:%M}", item.reason) for item in items),
        )

    def desk_view(self, request, object_id, kind):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not can_run(request.user, kind):
            raise PermissionDenied
        payment = object_or_404(self.get_queryset(request), object_id)
        change_url = reverse(
            "admin:solana_payments_payment_change", args=[payment.pk], current_app=self.admin_site.name
        )
        operation_class = get_operation_class(kind)
        form = operation_class.desk_form(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            options = {k: v for k, v in form.cleaned_data.items()}
            asked = request.POST.get("post") == "yes"
            run = request_run(
                kind,
                [payment.pk],
                trigger=OperationTrigger.ADMIN_ACTION,
                user=request.user,
                dry_run=not asked,
                options=options,
            )
            if asked:
                self.tell_queued(request, kind, run)
                return HttpResponseRedirect(change_url)
            preview = summarize(run)
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": f"{operation_class.desk_label} payment {payment.reference}",
            "subtitle": None,
            "opts": self.opts,
            "original": payment,
            "payment": payment,
            "kind": kind,
            "description": operation_class.description,
            "always_held": operation_class.always_held,
            "form": form,
            "preview": preview,
            "change_url": change_url,
            "preview_url": preview
            and reverse("admin:solana_payments_operationrun_change", args=[preview.run.pk]),
            "record_noun": "payments",
            "received": token_amount(payment.paid_amount, payment.paid_token),
            "refunded": token_amount(payment.refunded_amount, payment.paid_token),
        }
        return TemplateResponse(request, "admin/solana_payments/payment/desk.html", context)

    def tell_queued(self, request, kind, run):
        url = reverse(
            "admin:solana_payments_operationrun_change", args=[run.pk], current_app=self.admin_site.name
        )
        if run.status == RunStatus.AWAITING_APPROVAL:
            text = '{} awaits approval by a second person: <a href="{}">run #{}</a>.'
        else:
            text = '{} queued: <a href="{}">run #{}</a>.'
        self.message_user(request, format_html(text, kind.capitalize(), url, run.pk), messages.SUCCESS)


FLAGGED_WORK = (PaymentException.UNDERPAID, PaymentException.OVERPAID, PaymentException.PAID_LATE)


def desk_notices(admin_site):
    """What waits for the desk, for the dashboard: runs awaiting approval, underpaid, overpaid and paid-late
    payments not refunded, the open differences reconcile found, the webhook endpoints that were disabled
    for failing, and stablecoins priced off their peg in the last day (one query). All of it is work to
    do: the dashboard shows each as a warning (a disabled endpoint as an error), never as good news."""
    import datetime

    from django.utils import timezone

    from ..models import Difference, Payment, PaymentOption
    from ..webhooks.models import WebhookEndpoint

    runs = reverse("admin:solana_payments_operationrun_changelist", current_app=admin_site.name)
    payments = reverse("admin:solana_payments_payment_changelist", current_app=admin_site.name)
    differences = reverse("admin:solana_payments_difference_changelist", current_app=admin_site.name)
    counts = count_each(
        awaiting_approval=OperationRun.objects.filter(status=RunStatus.AWAITING_APPROVAL),
        **{
            exception.value: Payment.objects.filter(exception=exception, refunded_amount=0)
            for exception in FLAGGED_WORK
        },
        open_differences=Difference.objects.filter(is_open=True),
        disabled_endpoints=WebhookEndpoint.objects.filter(is_active=False).exclude(disabled_reason=""),
        off_peg=PaymentOption.objects.filter(
            off_peg=True, payment__created_at__gte=timezone.now() - datetime.timedelta(days=1)
        ),
    )
    flagged = [
        {
            "exception": exception.value,
            "count": counts[exception.value],
            "label": exception.label,
            "url": f"{payments}?exception__exact={exception.value}",
        }
        for exception in FLAGGED_WORK
        if counts[exception.value]
    ]
    endpoints = reverse("admin:solana_payments_webhookendpoint_changelist", current_app=admin_site.name)
    return {
        **counts,
        "flagged_payments": flagged,
        "awaiting_approval_url": f"{runs}?status__exact={RunStatus.AWAITING_APPROVAL}",
        "differences_url": f"{differences}?is_open__exact=1",
        "disabled_endpoints_url": f"{endpoints}?is_active__exact=0",
        "off_peg_url": f"{payments}?options__off_peg__exact=1",
    }


def count_each(**querysets):
    """``{name: count}`` of several querysets in one query (a UNION ALL of their counts)."""
    from django.db.models import CharField, Count, Value

    first, *rest = (
        queryset.order_by()
        .annotate(key=Value(name, output_field=CharField()))
        .values("key")
        .annotate(n=Count("pk"))
        .values_list("key", "n")
        for name, queryset in querysets.items()
    )
    # Since Django 6.1 a union takes the first model's default ordering unless told otherwise, and an
    # ORDER BY on a column the counts do not select fails.
    return {name: 0 for name in querysets} | dict(first.union(*rest, all=True).order_by())
