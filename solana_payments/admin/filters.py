"""Changelist filters."""

from django.contrib import admin

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
