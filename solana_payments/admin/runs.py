"""Read-only admins for the audit trail: operation runs and their items."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..amounts import format_units
from ..explorer import explorer_url
from ..models import OperationItem
from ..operations import get_operation_class
from ..resources import OperationItemResource, OperationRunResource
from .actions import cancel_runs, retry_runs
from .approvals import ApprovalMixin
from .display import short_signature, token_amount
from .exports import ExportAdminMixin
from .filters import PreviewFilter
from .mixins import DashboardLinkMixin, OperationPagesMixin, ReadOnlyAdminMixin
from .paging import BigTableAdminMixin


def explorer_link(signature):
    if not signature:
        return "-"
    return format_html(
        '<a href="{}" rel="noopener" target="_blank">{}</a>',
        explorer_url(signature),
        short_signature(signature),
    )


class ItemDisplayMixin:
    """How an item's signature and amount are shown, in the run's inline and in the items list."""

    @admin.display(description="signature")
    def signature_link(self, item):
        return explorer_link(item.signature)

    @admin.display(description="amount")
    def amount_display(self, item):
        return token_amount(item.amount, item.token)


def figures_list(pairs):
    """``[("scanned", 60), ("swept", 3)]`` as a compact list: "scanned 60 · swept 3"."""
    if not pairs:
        return "-"
    items = format_html_join(
        "", "<li>{} <strong>{}</strong></li>", ((name.replace("_", " "), n) for name, n in pairs)
    )
    return format_html('<ul class="sp-inline-figures">{}</ul>', items)


def lamports(value):
    """Lamports with their unit, and in SOL: "85000 lamports (0.000085 SOL)"."""
    if not value:
        return "0 lamports"
    return f"{value} lamports ({format_units(value, 9)} SOL)"


INLINE_ITEMS = 50  # a run's page lists its first items; the items changelist has all of them


class FirstItemsFormSet(BaseInlineFormSet):
    """The run's first ``INLINE_ITEMS`` items: a run of a million records still has a page that loads."""

    def get_queryset(self):
        if not hasattr(self, "_first_items"):
            self._first_items = super().get_queryset()[:INLINE_ITEMS]
        return self._first_items


class OperationItemInline(ItemDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = OperationItem
    formset = FirstItemsFormSet
    classes = ["sp-untitled-rows"]  # the reason is a column: no heading repeats it above each row
    verbose_name_plural = f"items (the first {INLINE_ITEMS}; every item is in the items list)"
    fields = [
        "outcome",
        "payment",
        "wallet",
        "reason",
        "signature_link",
        "amount_display",
        "destination",
        "fee",
        "rent",
    ]
    readonly_fields = fields
    extra = 0
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payment", "wallet", "token")


class OperationRunAdmin(
    ApprovalMixin,
    BigTableAdminMixin,
    OperationPagesMixin,
    ReadOnlyAdminMixin,
    ExportAdminMixin,
    admin.ModelAdmin,
):
    resource_classes = [OperationRunResource]
    actions = [retry_runs, cancel_runs]
    list_display = [
        "__str__",
        "preview_display",
        "status",
        "trigger",
        "requested_by",
        "progress",
        "fees_display",
        "created_at",
    ]
    list_filter = [PreviewFilter, "kind", "status", "trigger", "requested_by"]
    list_select_related = ["requested_by"]
    inlines = [OperationItemInline]
    fields = [
        "kind",
        "status",
        "approval_display",
        "trigger",
        "requested_by",
        "parent",
        "parameters",
        "progress",
        "items_link",
        "counts_display",
        "rpc_calls_display",
        "fees_display",
        "error",
        "task_id",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    ]
    readonly_fields = fields

    @admin.display(description="items")
    def items_link(self, run):
        url = reverse("admin:solana_payments_operationitem_changelist", current_app=self.admin_site.name)
        return format_html('<a href="{}?run__id__exact={}">every item of this run</a>', url, run.pk)

    class Media:
        css = {"all": ["solana_payments/admin.css"]}

    @admin.display(description="counts")
    def counts_display(self, run):
        # In the operation's own order: PostgreSQL's jsonb keeps a dict's keys sorted by length.
        counts = run.counts or {}
        order = [key for key in get_operation_class(run.kind).summary_keys if key in counts]
        return figures_list([(key, counts[key]) for key in order + sorted(set(counts) - set(order))])

    @admin.display(description="RPC calls")
    def rpc_calls_display(self, run):
        calls = run.rpc_calls or {}
        return figures_list([("total", sum(calls.values())), *sorted(calls.items())] if calls else [])

    @admin.display(description="fees paid", ordering="fees_paid")
    def fees_display(self, run):
        return lamports(run.fees_paid)

    @admin.display(description="preview", boolean=True)
    def preview_display(self, run):
        """A dry run: it read the chain and changed nothing."""
        return bool((run.parameters or {}).get("dry_run"))

    @admin.display(description="progress")
    def progress(self, run):
        return format_html(
            '<progress max="100" value="{}"></progress> {} / {}', run.progress_percent, run.done, run.total
        )


class OperationItemAdmin(
    BigTableAdminMixin,
    ItemDisplayMixin,
    ReadOnlyAdminMixin,
    ExportAdminMixin,
    DashboardLinkMixin,
    admin.ModelAdmin,
):
    resource_classes = [OperationItemResource]
    list_display = [
        "run",
        "outcome",
        "payment",
        "wallet",
        "reason",
        "signature_link",
        "amount_display",
        "fee",
        "rent",
    ]
    list_filter = ["outcome", "run__kind"]
    search_fields = ["signature", "wallet__address", "payment__reference", "reason"]
    exact_search = {
        "uuid": ["payment__reference"],
        "address": ["wallet__address"],
        "signature": ["signature"],
    }
    list_select_related = ["run", "payment", "wallet", "token"]
