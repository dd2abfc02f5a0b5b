"""Changelist filters."""

from django.contrib import admin

from ..dry_runs import dry_run_q, not_dry_run
from ..funds import CATEGORIES, category_filter


class FundsOnChainFilter(admin.SimpleListFilter):
    """Wallets (or payments, through their wallet) by what the last chain read found in them."""

    title = "funds on chain"
    parameter_name = "funds"
    prefix = ""

    def lookups(self, request, model_admin):
        return list(CATEGORIES.items())

    def queryset(self, request, queryset):
        if self.value() in CATEGORIES:
            return queryset.filter(category_filter(self.value(), prefix=self.prefix))
        return queryset


class PaymentFundsOnChainFilter(FundsOnChainFilter):
    prefix = "wallet__"


class PreviewFilter(admin.SimpleListFilter):
    """Previews (dry runs) are hidden from the runs list unless asked for: they changed nothing."""

    title = "previews"
    parameter_name = "previews"

    def lookups(self, request, model_admin):
        return [("shown", "shown too"), ("only", "previews only")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "hidden",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "shown":
            return queryset
        if self.value() == "only":
            return queryset.filter(dry_run_q())
        return queryset.filter(not_dry_run())


class PaymentStatusFilter(admin.SimpleListFilter):
    """Payments by status, in the words an operator looks for ("paid (confirmed)"); the same URL
    parameter as the admin's own status filter, so links to ``?status__exact=…`` keep working."""

    title = "status"
    parameter_name = "status__exact"

    def lookups(self, request, model_admin):
        from .display import PAYMENT_STATUS_WORDS

        return list(PAYMENT_STATUS_WORDS.items())

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class DecisionFilter(admin.SimpleListFilter):
    """Payments an operator accepted (a short or late payment taken as paid) or cancelled, apart from
    those the rules settled or expired by themselves."""

    title = "operator's decision"
    parameter_name = "decision"

    def lookups(self, request, model_admin):
        return [("accept", "accepted"), ("cancel", "cancelled"), ("none", "none")]

    def queryset(self, request, queryset):
        if self.value() in ("accept", "cancel"):
            return queryset.filter(decision=self.value())
        if self.value() == "none":
            return queryset.filter(decision__isnull=True)
        return queryset
