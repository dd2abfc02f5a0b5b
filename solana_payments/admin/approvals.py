"""Four-eyes approval in the admin: a held run's page shows its preview, and a second person decides.

``<run id>/approval/``: GET shows the preview recorded when the run was asked for, with approve and reject
buttons; POST decides. The view checks ``approve_runs`` and that the decider is not the requester
itself (``approvals.check_decider``): ``admin_view`` only checks staff.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .. import approvals
from ..models import OperationRun, Payment, PaymentOption, RunStatus, Transfer
from .display import token_amount
from .objects import object_or_404
from .previews import summarize

PAYMENTS_SHOWN = 20


def payments_to_judge(run, current_app):
    """What a second person needs to judge a held run on payments: each payment's label, email, price (its
    options), what it received and what was refunded already. Empty for a run on wallets."""
    from ..operations import get_operation_class

    if get_operation_class(run.kind).model != "payment":
        return []
    ids = (run.parameters.get("ids") or [])[:PAYMENTS_SHOWN]
    payments = (
        Payment.objects.filter(pk__in=ids)
        .select_related("paid_token")
        .prefetch_related(
            Prefetch("options", PaymentOption.objects.select_related("token").order_by("token__symbol")),
            Prefetch(
                "transfers", Transfer.objects.select_related("token").order_by("slot", "recorded_at", "id")
            ),
        )
        .order_by("pk")
    )
    return [
        {
            "payment": payment,
            "url": reverse(
                "admin:solana_payments_payment_change", args=[payment.pk], current_app=current_app
            ),
            "price": " or ".join(token_amount(o.amount, o.token) for o in payment.options.all()) or "-",
            "received": token_amount(payment.paid_amount, payment.paid_token),
            "refunded": token_amount(payment.refunded_amount, payment.paid_token)
            if payment.refunded_amount
            else "-",
            # The ledger: who sent what, and when, so the destination of a refund can be judged.
            "transfers": [
                {
                    "when": t.block_time,
                    "what": f"{'+' if t.direction == 'in' else '−'}{token_amount(t.amount, t.token)}",
                    "kind": t.get_kind_display() + (" (dust)" if t.is_dust else ""),
                    "counterparty": t.counterparty,
                }
                for t in payment.transfers.all()
            ],
        }
        for payment in payments
    ]


class ApprovalMixin:
    """For the run admin: the approval page, and the decision on the run's own page."""

    def get_urls(self):
        app, model = self.opts.app_label, self.opts.model_name
        urls = [
            path(
                "<path:object_id>/approval/",
                self.admin_site.admin_view(self.approval_view),
                name=f"{app}_{model}_approval",
            )
        ]
        return urls + super().get_urls()

    @admin.display(description="approval")
    def approval_display(self, run):
        if run.status == RunStatus.AWAITING_APPROVAL:
            url = reverse("admin:solana_payments_operationrun_approval", args=[run.pk])
            reason = run.parameters.get("held", "")
            return format_html(
                'Awaiting approval ({}): <a href="{}" id="sp-review">review it</a>', reason, url
            )
        if not run.decision:
            return "-"
        text = f"{run.get_decision_display()} by {run.decided_by or 'a deleted user'} at {run.decided_at:%Y-%m-%d %H:%M}"
        return f"{text}: {run.decision_reason}" if run.decision_reason else text

    def approval_view(self, request, object_id):
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not request.user.has_perm(approvals.APPROVE_PERMISSION):
            raise PermissionDenied
        run = object_or_404(OperationRun.objects.select_related("requested_by", "preview"), object_id)
        run_url = reverse(
            "admin:solana_payments_operationrun_change", args=[run.pk], current_app=self.admin_site.name
        )
        if request.method == "POST":
            try:
                if request.POST.get("decision") == "approve":
                    approvals.approve(run, request.user)
                    self.message_user(request, f"Run #{run.pk} approved: it is queued.", messages.SUCCESS)
                elif request.POST.get("decision") == "reject":
                    approvals.reject(run, request.user, request.POST.get("reason", ""))
                    self.message_user(request, f"Run #{run.pk} rejected: nothing was done.", messages.WARNING)
                else:
                    self.message_user(request, "Choose approve or reject.", messages.ERROR)
            except (PermissionDenied, ValueError) as exc:
                self.message_user(request, f"Not decided: {exc}.", messages.ERROR)
            return HttpResponseRedirect(run_url)
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": f"Approve {run}?",
            "subtitle": None,
            "opts": self.opts,
            "run": run,
            "run_url": run_url,
            "preview": summarize(run.preview) if run.preview else None,
            "request_reason": run.parameters.get("reason", ""),
            "payments": payments_to_judge(run, self.admin_site.name),
            "more_payments": max(0, len(run.parameters.get("ids") or []) - PAYMENTS_SHOWN),
            "own_run": run.requested_by_id is not None and run.requested_by_id == request.user.pk,
            "awaiting": run.status == RunStatus.AWAITING_APPROVAL,
            "record_noun": "records",
        }
        return TemplateResponse(request, "admin/solana_payments/approval.html", context)
