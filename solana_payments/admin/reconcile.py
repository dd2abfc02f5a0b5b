"""The reconciliation report in the admin: differences between the database and the chain, read-only,
filtered and exported (CSV, XLSX, JSON) like the other records."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ..operations import operation_classes
from ..resources import DifferenceResource
from .exports import ExportAdminMixin
from .mixins import ReadOnlyAdminMixin
from .permissions import can_run


class DifferenceAdmin(ReadOnlyAdminMixin, ExportAdminMixin, admin.ModelAdmin):
    resource_classes = [DifferenceResource]
    list_display = [
        "kind",
        "is_open",
        "wallet_link",
        "asset",
        "recorded",
        "on_chain",
        "suggested_action",
        "detail",
        "run",
        "created_at",
    ]
    list_filter = ["is_open", "kind", "suggested_action"]
    search_fields = ["wallet__address", "payment__reference", "account", "asset"]
    list_select_related = ["wallet", "run"]
    fields = [
        "kind",
        "is_open",
        "wallet_link",
        "payment",
        "asset",
        "recorded",
        "on_chain",
        "account",
        "suggested_action",
        "detail",
        "run",
        "created_at",
    ]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("solana_payments.view_difference") or any(
            can_run(request.user, kind)
            for kind, operation_class in operation_classes().items()
            if operation_class.records_differences
        )

    @admin.display(description="wallet", ordering="wallet__address")
    def wallet_link(self, difference):
        url = reverse("admin:solana_payments_onetimewallet_change", args=[difference.wallet_id])
        return format_html('<a href="{}">{}</a>', url, difference.wallet.address)
