"""The transfer ledger in the admin: a payment's transfers on its page, the accounting list and export, and
the payments changelist's filters that read the ledger (several payers, dust)."""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html

from ..models import PaymentException, Transfer
from ..resources import TransferResource
from .display import token_amount
from .exports import ExportAdminMixin
from .mixins import DashboardLinkMixin, ReadOnlyAdminMixin
from .paging import BigTableAdminMixin
from .runs import explorer_link


class TransferDisplayMixin:
    @admin.display(description="amount")
    def amount_display(self, transfer):
        sign = "+" if transfer.direction == "in" else "−"
        dust = " (dust)" if transfer.is_dust else ""
        return f"{sign}{token_amount(transfer.amount, transfer.token)}{dust}"

    @admin.display(description="transaction")
    def signature_link(self, transfer):
        return explorer_link(transfer.signature)


class TransferInline(TransferDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """A payment's transfers, oldest first, with the running total of each token."""

    model = Transfer
    fk_name = "payment"
    fields = ["block_time", "kind", "amount_display", "running_total", "counterparty", "signature_link"]
    readonly_fields = fields
    extra = 0
    show_change_link = False
    verbose_name_plural = "transfers (the payment's ledger)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("token").order_by("slot", "recorded_at", "id")

    @admin.display(description="running total")
    def running_total(self, transfer):
        totals = getattr(self, "_totals", None)
        if totals is None or transfer.pk not in totals:
            totals = self._totals = running_totals(transfer.payment_id)
        return token_amount(totals.get(transfer.pk), transfer.token)


def running_totals(payment_id):
    """``{transfer pk: base units the one-time wallet held after it}`` of one payment, per token, in chain
    order (one query). A refund paid from the refund wallet left the wallet's balance as it was."""
    totals, held = {}, {}
    rows = Transfer.objects.filter(payment_id=payment_id).order_by("slot", "recorded_at", "id")
    fields = ("pk", "token_id", "amount", "direction", "from_refund_wallet")
    for pk, token_id, amount, direction, from_refund_wallet in rows.values_list(*fields):
        if not from_refund_wallet:
            held[token_id] = held.get(token_id, 0) + (amount if direction == "in" else -amount)
        totals[pk] = held.get(token_id, 0)
    return totals


class TransferAdmin(
    TransferDisplayMixin,
    BigTableAdminMixin,
    ReadOnlyAdminMixin,
    ExportAdminMixin,
    DashboardLinkMixin,
    admin.ModelAdmin,
):
    """Every transfer, for accounting: filter by date and token, then export (CSV or XLSX)."""

    resource_classes = [TransferResource]
    list_display = [
        "block_time",
        "payment_link",
        "kind",
        "amount_display",
        "counterparty",
        "signature_link",
        "fee",
        "rent",
    ]
    list_filter = [("block_time", admin.DateFieldListFilter), "token", "direction", "kind", "is_dust"]
    search_fields = ["signature", "counterparty", "wallet__address", "payment__reference"]
    exact_search = {
        "uuid": ["payment__reference"],
        "address": ["counterparty"],
        "signature": ["signature"],
    }
    list_select_related = ["payment", "token"]

    @admin.display(description="payment", ordering="payment__reference")
    def payment_link(self, transfer):
        if transfer.payment_id is None:
            return "-"
        url = reverse("admin:solana_payments_payment_change", args=[transfer.payment_id])
        return format_html('<a href="{}">{}</a>', url, transfer.payment.label or transfer.payment.reference)


class SeveralPayersFilter(admin.SimpleListFilter):
    title = "payers"
    parameter_name = "payers"

    def lookups(self, request, model_admin):
        return [("several", "several payers")]

    def queryset(self, request, queryset):
        if self.value() == "several":
            return queryset.filter(exception=PaymentException.SEVERAL_PAYERS)
        return queryset


class DustFilter(admin.SimpleListFilter):
    title = "dust"
    parameter_name = "dust"

    def lookups(self, request, model_admin):
        return [("yes", "has dust"), ("no", "no dust")]

    def queryset(self, request, queryset):
        dust = Exists(Transfer.objects.filter(payment=OuterRef("pk"), is_dust=True))
        if self.value() == "yes":
            return queryset.filter(dust)
        if self.value() == "no":
            return queryset.exclude(dust)
        return queryset
