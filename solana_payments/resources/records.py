"""What the admin exports: payments (with their options), wallets, runs and run items."""

from __future__ import annotations

from django.db import connections
from django.db.models import Aggregate, CharField, OuterRef, Subquery, TextField, Value
from django.db.models.functions import Cast, Concat

from ..amounts import format_units, plain_decimal
from ..models import (
    Difference,
    OneTimeWallet,
    OperationItem,
    OperationRun,
    Payment,
    PaymentOption,
)
from .safety import (
    JsonTextWidget,
    SafeModelResource,
    WholeNumberWidget,
    column,
    moment,
    text,
    whole,
)


def token_amount(base, token):
    """Exact token units as a decimal string; base units when the token is unknown."""
    if base is None:
        return ""
    if token is None:
        return str(base)
    return format_units(base, token.decimals)


def _username(user):
    return user.get_username() if user is not None else ""


# -- payments -----------------------------------------------------------------------------------------

_ENTRY_SEPARATOR = "\x1f"  # between options in the aggregated text (cannot appear in a symbol typed in)


class _JoinedText(Aggregate):
    """``group_concat`` (SQLite) / ``string_agg`` (PostgreSQL) of text, with a fixed separator."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s)"
    output_field = TextField()
    allow_distinct = False

    def __init__(self, expression, separator, **extra):
        super().__init__(expression, Value(separator), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG", **extra_context)


AGGREGATE_OPTION_VENDORS = ("sqlite", "postgresql")


def options_subquery():
    entry = Concat(
        Cast("amount", CharField()),
        Value(":"),
        Cast("token__decimals", CharField()),
        Value(":"),
        "token__symbol",
        output_field=TextField(),
    )
    options = (
        PaymentOption.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(joined=_JoinedText(entry, _ENTRY_SEPARATOR))
        .values("joined")
    )
    return Subquery(options, output_field=TextField())


def format_options(pairs):
    """``[("USDC", 25000001, 6), ("SOL", 500000000, 9)]`` -> ``"SOL 0.5; USDC 25.000001"``."""
    return "; ".join(
        f"{symbol} {format_units(amount, decimals)}" for symbol, amount, decimals in sorted(pairs)
    )


class PaymentResource(SafeModelResource):
    """Payments with their wallet, options and what was paid (export only)."""

    reference = text("reference")
    status = text("status")
    exception = text("exception")
    created_at = moment("created_at")
    deadline = moment("expires_at")
    paid_at = moment("paid_at")
    wallet = text("wallet__address")
    wallet_state = text("wallet__state")
    options = column()
    price = column()  # a payment priced in a currency: what it is worth ("" when priced in tokens)
    currency = text("currency")
    paid_token = text("paid_token__symbol")
    paid_amount = column()
    refunded_amount = column()
    signature = text("paid_signature")
    payer = text("payer")
    label = text("label")
    email = text("email")

    export_relations = ("wallet", "paid_token")

    class Meta:
        model = Payment
        name = "Payments"

    def prepare_export_queryset(self, queryset):
        queryset = super().prepare_export_queryset(queryset)
        if connections[queryset.db].vendor in AGGREGATE_OPTION_VENDORS:
            return queryset.annotate(options_text=options_subquery())
        # Other databases: django-import-export pages through the queryset when it has a prefetch.
        return queryset.prefetch_related("options__token")

    def dehydrate_options(self, payment):
        if hasattr(payment, "options_text"):
            pairs = []
            for entry in (payment.options_text or "").split(_ENTRY_SEPARATOR):
                if entry:
                    amount, decimals, symbol = entry.split(":", 2)
                    pairs.append((symbol, int(amount), int(decimals)))
            return format_options(pairs)
        return format_options((o.token.symbol, o.amount, o.token.decimals) for o in payment.options.all())

    def dehydrate_paid_amount(self, payment):
        return token_amount(payment.paid_amount, payment.paid_token)

    def dehydrate_refunded_amount(self, payment):
        """What went back to the customer, in the paid token (0 when nothing was refunded)."""
        return token_amount(payment.refunded_amount, payment.paid_token) if payment.paid_token_id else ""

    def dehydrate_price(self, payment):
        return plain_decimal(payment.price) or ""


# -- wallets ------------------------------------------------------------------------------------------


class OneTimeWalletResource(SafeModelResource):
    """Wallet addresses and state, the rent they hold or returned (export only; no key material)."""

    address = text("address")
    state = text("state")
    payment = text("payment__reference")
    receiver = text("receiver_address")
    rent_paid_lamports = whole("rent_paid")
    rent_reclaimed_lamports = whole("rent_reclaimed")
    last_checked_at = moment("last_checked_at")
    created_at = moment("created_at")

    export_relations = ("payment",)

    class Meta:
        model = OneTimeWallet
        name = "One-time wallets"


# -- the audit trail ----------------------------------------------------------------------------------


class OperationRunResource(SafeModelResource):
    """Who ran what, when, how it went and what it cost (export only)."""

    id = whole("id")
    kind = text("kind")
    trigger = text("trigger")
    requested_by = column()
    status = text("status")
    parent = whole("parent_id")
    created_at = moment("created_at")
    started_at = moment("started_at")
    finished_at = moment("finished_at")
    total = whole("total")
    done = whole("done")
    counts = column("counts", JsonTextWidget())
    rpc_calls = column("rpc_calls", JsonTextWidget())
    fees_paid_lamports = whole("fees_paid")
    parameters = column("parameters", JsonTextWidget())
    error = text("error")

    export_relations = ("requested_by",)

    class Meta:
        model = OperationRun
        name = "Operation runs"

    def dehydrate_requested_by(self, run):
        return _username(run.requested_by)


class OperationItemResource(SafeModelResource):
    """The ledger: one row per record a run touched, with signature, amount, fee and rent (export only)."""

    id = whole("id")
    run = whole("run_id")
    kind = text("run__kind")
    requested_by = column()
    created_at = moment("created_at")
    outcome = text("outcome")
    reason = text("reason")
    payment = text("payment__reference")
    wallet = text("wallet__address")
    token = text("token__symbol")
    amount = column()
    fee_lamports = whole("fee")
    rent_lamports = whole("rent")
    signature = text("signature")

    export_relations = ("run__requested_by", "payment", "wallet", "token")

    class Meta:
        model = OperationItem
        name = "Operation items"

    def dehydrate_requested_by(self, item):
        return _username(item.run.requested_by)

    def dehydrate_amount(self, item):
        return token_amount(item.amount, item.token)


# -- tokens (import and export) -----------------------------------------------------------------------


class DifferenceResource(SafeModelResource):
    """The reconciliation report: one row per difference between the database and the chain."""

    id = whole("id")
    run = whole("run_id")
    created_at = moment("created_at")
    kind = text("kind")
    is_open = column("is_open")
    wallet = text("wallet__address")
    wallet_state = text("wallet__state")
    payment = text("payment__reference")
    asset = text("asset")
    recorded = column("recorded", WholeNumberWidget())
    on_chain = column("on_chain", WholeNumberWidget())
    account = text("account")
    suggested_action = text("suggested_action")
    detail = text("detail")

    export_relations = ("wallet", "payment")

    class Meta:
        model = Difference
        name = "Reconciliation differences"
