"""Admins for tokens, payments and one-time wallets. Wallet secrets never reach a page."""

from django.contrib import admin
from django.db.models import CharField, OuterRef, Prefetch, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from ..amounts import format_price
from ..dry_runs import not_dry_run
from ..explorer import explorer_url
from ..models import ItemOutcome, OperationItem, PaymentOption, PaymentStatus
from ..resources import OneTimeWalletResource, PaymentResource, PaymentTokenResource
from .desk import DeskMixin, RefundInline, decision_kinds
from .display import payment_status_words, short_reference, token_amount
from .exports import ExportAdminMixin, ImportExportAdminMixin
from .filters import DecisionFilter, FundsOnChainFilter, PaymentFundsOnChainFilter, PaymentStatusFilter
from .mixins import DashboardLinkMixin, OperationActionsMixin
from .new_payment import NewPaymentMixin
from .paging import BigTableAdminMixin
from .simulate import SimulatePaymentMixin
from .tokens import CHAIN_FIELDS, PaymentTokenForm, token_in_use
from .transfers import DustFilter, SeveralPayersFilter, TransferInline


class PaymentTokenAdmin(ImportExportAdminMixin, DashboardLinkMixin, admin.ModelAdmin):
    resource_classes = [PaymentTokenResource]
    form = PaymentTokenForm  # checked against the chain like an imported row
    list_display = ["symbol", "name", "mint", "token_program", "decimals", "is_active"]
    list_filter = ["is_active", "token_program"]
    search_fields = ["symbol", "name", "mint"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly + list(CHAIN_FIELDS) if token_in_use(obj) else readonly


class PaymentOptionInline(admin.TabularInline):
    model = PaymentOption
    classes = ["sp-untitled-rows"]  # no raw "250000000 SOL" above each row: the amount column says it
    fields = ["token", "amount_display", "rate_display", "rate_source", "rate_published_at", "off_peg"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="amount")
    def amount_display(self, option):
        return token_amount(option.amount, option.token)

    @admin.display(description="rate")
    def rate_display(self, option):
        """One token in the payment's currency, ± the source's confidence, when priced in a currency."""
        if not option.rate:
            return "-"
        currency = option.payment.currency
        text = f"1 {option.token} = {option.rate} {currency}"
        if option.rate_confidence:
            text += f" ± {option.rate_confidence}"
        return text


class PaymentAdmin(
    NewPaymentMixin,
    DeskMixin,
    BigTableAdminMixin,
    SimulatePaymentMixin,
    ExportAdminMixin,
    OperationActionsMixin,
    admin.ModelAdmin,
):
    resource_classes = [PaymentResource]
    operation_records = "payment"  # the operations' actions on payments (their own declarations)
    # Few columns, each wrapping: the list fits its box beside the filters at 1,280 px.
    list_display = [
        "reference_display",
        "customer_display",
        "status_display",
        "amounts_display",
        "wallet_short",
        "created_display",
    ]
    list_display_links = ["reference_display"]
    list_filter = [
        PaymentStatusFilter,
        DecisionFilter,
        "exception",
        "wallet__state",
        PaymentFundsOnChainFilter,
        SeveralPayersFilter,
        DustFilter,
        "paid_token",
        "created_at",
    ]  # no currency filter: its choices would be a DISTINCT over every payment (?currency=EUR works)
    search_fields = ["reference", "wallet__address", "label", "email", "paid_signature", "payer"]
    exact_search = {"uuid": ["reference"], "address": ["wallet__address"]}
    list_select_related = ["wallet", "paid_token"]
    # No date_hierarchy: its list of years is a DISTINCT over every payment. The created_at filter stays.
    inlines = [PaymentOptionInline, TransferInline, RefundInline]
    readonly_fields = [
        "reference",
        "status_display",
        "exception",
        "price_display",
        "expires_at",
        "wallet_link",
        "wallet_state",
        "paid_display",
        "signature_display",
        "payer",
        "paid_at",
        "refund_display",
        "decisions_display",
        "user",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "status_display",
                    "exception",
                    "price_display",
                    "expires_at",
                    "wallet_link",
                    "wallet_state",
                ]
            },
        ),
        ("Paid", {"fields": ["paid_display", "signature_display", "payer", "paid_at", "refund_display"]}),
        ("Decisions", {"fields": ["decisions_display"]}),
        ("Customer", {"fields": ["label", "message", "email", "user", "metadata"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    class Media:
        css = {"all": ["solana_payments/admin.css"]}

    def get_queryset(self, request):
        options = PaymentOption.objects.select_related("token").order_by("token__symbol")
        # An operator's decision tells an accepted short payment from one paid in full, and a cancelled
        # payment from an abandoned one: the last decision that was carried out, if any.
        decisions = (
            OperationItem.objects.filter(
                not_dry_run("run__"),
                payment=OuterRef("pk"),
                run__kind__in=decision_kinds(),
                outcome=ItemOutcome.DONE,
            )
            .order_by("-pk")
            .values(decided=KeyTextTransform("decision", "run__parameters"))[:1]
        )
        return (
            super()
            .get_queryset(request)
            .annotate(decision=Subquery(decisions, output_field=CharField()))
            .prefetch_related(Prefetch("options", queryset=options))
        )

    def has_add_permission(self, request):
        return False  # payments are created by the shop's code through create_payment()

    def lookup_allowed(self, lookup, value, request=None):
        # the dashboard's off-peg notice links to the payments with a stablecoin priced off its peg
        return lookup == "options__off_peg__exact" or super().lookup_allowed(lookup, value, request)

    def has_delete_permission(self, request, obj=None):
        return False  # a payment owns a wallet that may hold money

    @admin.display(description="reference", ordering="reference")
    def reference_display(self, payment):
        return short_reference(payment.reference)

    @admin.display(description="customer", ordering="label")
    def customer_display(self, payment):
        if not payment.label and not payment.email:
            return "-"
        return format_html(
            '<span class="sp-cell-line">{}</span><span class="sp-cell-line sp-muted sp-break">{}</span>',
            payment.label,
            payment.email,
        )

    @admin.display(description="status", ordering="status")
    def status_display(self, payment):
        words = payment_status_words(payment.status)
        decided = {"accept": "accepted", "cancel": "cancelled"}.get(getattr(payment, "decision", None))
        lines = [f"{words}, {decided}" if decided else words]
        if payment.exception:
            lines.append(payment.get_exception_display())
        if payment.status == PaymentStatus.INITIATED:
            deadline = timezone.localtime(payment.expires_at)
            same_day = deadline.date() == timezone.localdate()
            lines.append(f"until {deadline:%H:%M}" if same_day else f"until {deadline:%Y-%m-%d}")
        return format_html_join("", '<span class="sp-cell-line">{}</span>', ((line,) for line in lines))

    @admin.display(description="amounts")
    def amounts_display(self, payment):
        lines = [" or ".join(token_amount(o.amount, o.token) for o in payment.options.all()) or "-"]
        if payment.currency:  # priced in the shop's currency: what it is worth
            lines.insert(0, f"price {format_price(payment.price, payment.currency)}")
        if payment.paid_amount is not None:
            lines.append(f"paid {token_amount(payment.paid_amount, payment.paid_token)}")
        if payment.refunded_amount:
            lines.append(f"refunded {token_amount(payment.refunded_amount, payment.paid_token)}")
        return format_html_join("", '<span class="sp-cell-line">{}</span>', ((line,) for line in lines))

    @admin.display(description="created", ordering="created_at")
    def created_display(self, payment):
        created = timezone.localtime(payment.created_at)
        return format_html(
            '<span class="sp-cell-line">{}</span><span class="sp-cell-line">{}</span>',
            f"{created:%Y-%m-%d}",
            f"{created:%H:%M}",
        )

    @admin.display(description="options")
    def options_display(self, payment):
        return ", ".join(token_amount(o.amount, o.token) for o in payment.options.all())

    @admin.display(description="price", ordering="price")
    def price_display(self, payment):
        return format_price(payment.price, payment.currency) or "-"

    @admin.display(description="paid", ordering="paid_amount")
    def paid_display(self, payment):
        return token_amount(payment.paid_amount, payment.paid_token)

    @admin.display(description="signature")
    def signature_display(self, payment):
        if not payment.paid_signature:
            return "-"
        return format_html(
            '<a class="sp-break" href="{}" rel="noopener" target="_blank">{}</a>',
            explorer_url(payment.paid_signature),
            payment.paid_signature,
        )

    @admin.display(description="wallet", ordering="wallet__address")
    def wallet_link(self, payment):
        url = reverse("admin:solana_payments_onetimewallet_change", args=[payment.wallet_id])
        return format_html('<a href="{}">{}</a>', url, payment.wallet.address)

    @admin.display(description="wallet", ordering="wallet__address")
    def wallet_short(self, payment):
        url = reverse("admin:solana_payments_onetimewallet_change", args=[payment.wallet_id])
        address = payment.wallet.address
        return format_html(
            '<a href="{}" title="{}" class="sp-cell-line sp-nowrap">{}…</a><span class="sp-cell-line">{}</span>',
            url,
            address,
            address[:8],
            payment.wallet.get_state_display(),
        )

    @admin.display(description="wallet state", ordering="wallet__state")
    def wallet_state(self, payment):
        return payment.wallet.get_state_display()


class OneTimeWalletAdmin(BigTableAdminMixin, ExportAdminMixin, OperationActionsMixin, admin.ModelAdmin):
    resource_classes = [OneTimeWalletResource]
    operation_records = "wallet"
    list_display = ["address", "state", "payment_link", "rent_paid", "rent_reclaimed", "last_checked_at"]
    list_filter = ["state", FundsOnChainFilter]
    search_fields = ["address", "payment__reference", "pending_signature"]
    exact_search = {"uuid": ["payment__reference"], "address": ["address"]}
    list_select_related = ["payment"]
    # The encrypted secret is not a form field (editable=False) and is listed nowhere here.
    fields = [
        "address",
        "state",
        "payment_link",
        "receiver_address",
        "rent_paid",
        "rent_reclaimed",
        "pending_signature",
        "last_error",
        "balances",
        "swept",
        "refunded",
        "last_checked_at",
        "last_activity_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a wallet would destroy the only copy of its secret

    @admin.display(description="payment")
    def payment_link(self, wallet):
        payment = getattr(wallet, "payment", None)
        if payment is None:
            return "-"
        url = reverse("admin:solana_payments_payment_change", args=[payment.pk])
        return format_html('<a href="{}">{}</a>', url, payment.reference)
