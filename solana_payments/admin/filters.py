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
