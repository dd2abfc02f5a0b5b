"""The app's records: tokens, payments and their options, one-time wallets, and operation runs."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TokenProgram(models.TextChoices):
    NATIVE = "native", _("native SOL")
    TOKEN = "token", _("SPL Token")
    TOKEN_2022 = "token-2022", _("SPL Token-2022")


class PaymentToken(models.Model):
    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    mint = models.CharField(max_length=44, unique=True, null=True, blank=True, help_text=_("Empty for SOL."))
    token_program = models.CharField(max_length=16, choices=TokenProgram.choices, default=TokenProgram.NATIVE)
    decimals = models.PositiveSmallIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(mint__isnull=True, token_program="native"))
                | (models.Q(mint__isnull=False) & ~models.Q(token_program="native")),
                name="solana_payments_token_mint_matches_program",
            )
        ]
        permissions = [
            ("export_paymenttoken", "Can export payment tokens"),
            ("import_paymenttoken", "Can import payment tokens"),
        ]

    def __str__(self):
        return self.symbol

    @property
    def asset_key(self):
        """How the asset is named in a wallet's balances and totals: ``native`` for SOL, else the mint."""
        return "native" if self.is_native else self.mint

    @property
    def is_native(self):
        return self.mint is None


class PriceField(models.BigIntegerField):
    """A price with up to 8 decimal places, kept exactly as a whole number of 10^-8 units and read back
    as a ``Decimal``. Never a float, on any database: SQLite keeps a ``DecimalField`` as a float, and its
    conversion of a decimal string to a number was seen to store NULL in a process running LiteSVM."""

    PLACES = 8

    def from_db_value(self, value, expression, connection):
        return None if value is None else Decimal(int(value)).scaleb(-self.PLACES)

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value))

    def get_prep_value(self, value):
        if value is None or hasattr(value, "as_sql"):
            return value
        units = self.to_python(value).scaleb(self.PLACES)
        if units != units.to_integral_value():
            raise ValueError(f"a price has at most {self.PLACES} decimal places, not {value}")
        return int(units)


class PaymentStatus(models.TextChoices):
    INITIATED = "initiated", _("initiated")
    PROCESSED = "processed", _("processed")
    CONFIRMED = "confirmed", _("confirmed")
    FINALIZED = "finalized", _("finalized")
    EXPIRED = "expired", _("expired")


SETTLED_STATUSES = (PaymentStatus.PROCESSED, PaymentStatus.CONFIRMED, PaymentStatus.FINALIZED)


class PaymentException(models.TextChoices):
    NONE = "", _("none")
    UNDERPAID = "underpaid", _("underpaid")
    OVERPAID = "overpaid", _("overpaid")
    PAID_LATE = "paid_late", _("paid late")
    TOPPED_UP = "topped_up", _("topped up after settlement")
    PAID_TWICE = "paid_twice", _("paid twice")
    SEVERAL_PAYERS = "several_payers", _("paid by several senders")
    # Settled: short by no more than PAYMENT_TOLERANCE_PERCENT of the option's amount.
    UNDERPAID_WITHIN_TOLERANCE = "underpaid_within_tolerance", _("underpaid within tolerance")


class WalletState(models.TextChoices):
    CREATED = "created", _("created")
    PROCESSING_PAYMENT = "processing_payment", _("processing payment")
    RECEIVED_FUNDS = "received_funds", _("received funds")
    PROCESSING_FUNDS = "processing_funds", _("processing funds")
    SENT_FUNDS = "sent_funds", _("sent funds")
    FAILED_TO_SEND_FUNDS = "failed_to_send_funds", _("failed to send funds")
    PAYMENT_EXPIRED = "payment_expired", _("payment expired")
    PAYMENT_EXPIRED_AND_WALLET_CLOSED = (
        "payment_expired_and_wallet_closed",
        _("payment expired, wallet closed"),
    )


# Wallets whose money sweep moves (a payment's own state decides whether now: see ``ready_to_sweep``).
SWEEPABLE_STATES = (
    WalletState.RECEIVED_FUNDS,
    WalletState.PROCESSING_PAYMENT,
    WalletState.PROCESSING_FUNDS,
    WalletState.FAILED_TO_SEND_FUNDS,
)
# Wallets the records call done with: the watch re-reads them for a while all the same.
QUIET_STATES = (
    WalletState.PAYMENT_EXPIRED,
    WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED,
    WalletState.SENT_FUNDS,
)


class WalletQuerySet(models.QuerySet):
    def sweepable(self):
        return self.filter(state__in=SWEEPABLE_STATES)

    def reclaimable(self):
        return self.filter(state=WalletState.PAYMENT_EXPIRED)


# Rent the fee payer put into a wallet's token accounts and has not got back (lamports; most often 0).
RENT_OWED = models.F("rent_paid") - models.F("rent_reclaimed")


class OneTimeWallet(models.Model):
    """A keypair made for one payment. The secret is stored encrypted and never shown."""

    address = models.CharField(max_length=44, unique=True)
    encrypted_secret = models.TextField(editable=False)
    state = models.CharField(max_length=40, choices=WalletState.choices, default=WalletState.CREATED)
    receiver_address = models.CharField(max_length=44, blank=True)
    rent_paid = models.PositiveBigIntegerField(
        default=0, help_text=_("Lamports the fee payer put into ATAs.")
    )
    rent_reclaimed = models.PositiveBigIntegerField(default=0, help_text=_("Lamports of rent returned."))
    pending_signature = models.CharField(
        max_length=88, blank=True, help_text=_("Written before a fund-moving transaction is sent.")
    )
    pending_transaction = models.TextField(
        blank=True,
        editable=False,
        help_text=_("The signed transaction (base64), so a retry resends the same one."),
    )
    pending_valid_until = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Last block height at which the pending transaction can land.")
    )
    claimed_by = models.ForeignKey(
        "OperationRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    last_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    balances = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=_("What the chain showed at the last read, in base units per asset ('native' is SOL)."),
    )
    holds_funds = models.BooleanField(default=False, editable=False, help_text=_("At the last read."))
    swept = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=_("Base units moved to the receiver so far, per asset ('native' is SOL)."),
    )
    refunded = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=_("Base units refunded out of this wallet so far, per asset ('native' is SOL)."),
    )
    history_cursor = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=_("The newest signature recorded in the transfer ledger, per account of the wallet."),
    )
    last_activity_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When it last changed state or received money: quiet wallets are watched for a while after."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WalletQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The changelist's default order, and its state filter (the selections use it too).
            models.Index(fields=["created_at", "id"], name="sp_wallet_created_id"),
            models.Index(fields=["state", "created_at", "id"], name="sp_wallet_state_created"),
            models.Index(fields=["state", "last_checked_at"], name="sp_wallet_state_checked"),
            models.Index(
                fields=["state"], name="sp_wallet_holds_funds", condition=models.Q(holds_funds=True)
            ),
            models.Index(fields=["last_activity_at"], name="sp_wallet_last_activity"),  # the watch
            # The dashboard's rent figures read only the wallets that owe rent (an expression index).
            models.Index(RENT_OWED, name="sp_wallet_rent_owed"),
        ]
        permissions = [("export_onetimewallet", "Can export one-time wallets (never their secrets)")]

    def __str__(self):
        return self.address

    def keypair(self):
        """Decrypt the secret. Only code that signs a transaction calls this."""
        from .keys import decrypt_keypair

        return decrypt_keypair(self.encrypted_secret, wallet_id=self.pk)


class PaymentQuerySet(models.QuerySet):
    def initiated(self):
        return self.filter(status=PaymentStatus.INITIATED)

    def overdue(self, now=None):
        """``initiated`` past their deadline: what expire takes."""
        return self.initiated().filter(expires_at__lt=now or timezone.now())

    def ready_to_sweep(self):
        """Payments whose wallet sweep moves now (not held: ``HOLD_FLAGGED_FUNDS`` is sweep's to apply)."""
        return self.filter(wallet__state__in=SWEEPABLE_STATES).exclude(status=PaymentStatus.INITIATED)

    def watched(self, since):
        """Payments whose wallet is quiet but still watched: last active ``since`` or later."""
        return self.filter(wallet__state__in=QUIET_STATES, wallet__last_activity_at__gte=since)

    def hot(self, since):
        """``initiated`` payments whose checkout page or status endpoint was asked about ``since`` or later:
        the checkout watch reads them all at once."""
        return self.initiated().filter(checkout_seen_at__gte=since)


class Payment(models.Model):
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.INITIATED)
    exception = models.CharField(max_length=32, choices=PaymentException.choices, default="", blank=True)
    expires_at = models.DateTimeField()
    wallet = models.OneToOneField(OneTimeWallet, on_delete=models.PROTECT, related_name="payment")
    paid_token = models.ForeignKey(
        PaymentToken, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    paid_amount = models.PositiveBigIntegerField(null=True, blank=True, help_text=_("In base units."))
    paid_signature = models.CharField(max_length=88, blank=True)
    payer = models.CharField(max_length=44, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # When its checkout page or status endpoint was last asked about (written at most every few seconds):
    # the checkout watch reads the wallets of payments seen in the last minute.
    checkout_seen_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    refunded_amount = models.PositiveBigIntegerField(
        default=0,
        editable=False,
        help_text=_("Base units of the paid token refunded so far, from any wallet."),
    )
    # A payment priced in the shop's currency: its options' amounts were computed from rates at creation.
    price = PriceField(null=True, blank=True, help_text=_("In the payment's currency."))
    currency = models.CharField(
        max_length=8,
        blank=True,
        default="",
        db_default="",
        help_text=_("Empty for a payment priced in tokens."),
    )
    metadata = models.JSONField(default=dict, blank=True)
    label = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500, blank=True)
    email = models.EmailField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="sp_payment_status_expires"),
            # The changelist's default order, and its status and exception filters in that order.
            models.Index(fields=["created_at", "id"], name="sp_payment_created_id"),
            models.Index(fields=["status", "created_at", "id"], name="sp_payment_status_created"),
            models.Index(fields=["exception", "created_at", "id"], name="sp_payment_exception_created"),
        ]
        permissions = [("export_payment", "Can export payments")]

    def __str__(self):
        return str(self.reference)

    @property
    def is_settled(self):
        return self.status in SETTLED_STATUSES

    @property
    def refund_marker(self):
        """``refunded`` / ``partly refunded`` / ``""``, against what the wallet received (``paid_amount``)."""
        if not self.refunded_amount:
            return ""
        return _("refunded") if self.refunded_amount >= (self.paid_amount or 0) else _("partly refunded")


class PaymentOption(models.Model):
    """One token the customer may pay with, and how much of it, in base units."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="options")
    token = models.ForeignKey(PaymentToken, on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField(
        help_text=_("In base units (lamports or the token's smallest unit).")
    )
    # For a payment priced in a currency: the rate locked at creation (one token in that currency), kept
    # as an exact decimal string (SQLite's decimals are floats).
    rate = models.CharField(
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text=_("One token in the payment's currency."),
    )
    rate_source = models.CharField(max_length=64, blank=True, default="", db_default="")
    rate_published_at = models.DateTimeField(null=True, blank=True)
    rate_confidence = models.CharField(
        max_length=40,
        blank=True,
        default="",
        db_default="",
        help_text=_("± in the payment's currency, when the source gives one."),
    )
    off_peg = models.BooleanField(
        default=False,
        db_default=False,
        help_text=_("A pegged stablecoin outside PEG_BAND_PERCENT: priced at its own rate."),
    )

    class Meta:
        ordering = ["payment_id", "token__symbol"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "token"], name="solana_payments_one_option_per_token"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="solana_payments_option_amount_gt_0"
            ),
        ]

    def __str__(self):
        from .amounts import format_units

        return f"{format_units(self.amount, self.token.decimals)} {self.token}"  # in token units: "0.25 SOL"

    @property
    def rate_value(self):
        """The rate as a ``Decimal`` (None for an option priced in tokens)."""
        return Decimal(self.rate) if self.rate else None


def operation_kinds():
    """The kinds a run may have: one per registered operation (``operations/registry.py``), read from the
    registry when asked, so a new operation needs no edit here nor a migration of its own."""
    from django.apps import apps

    return apps.get_app_config("solana_payments").operation_kind_choices()


class OperationTrigger(models.TextChoices):
    ADMIN_ACTION = "admin_action", _("admin action")
    DASHBOARD = "dashboard", _("dashboard")
    COMMAND = "command", _("command")
    SCHEDULE = "schedule", _("schedule")
    API = "api", _("code")
    CHECKOUT = "checkout", _("checkout status")


class RunStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("awaiting approval")
    REJECTED = "rejected", _("rejected")
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    PARTIAL = "partial", _("partial")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


FINISHED_RUN_STATUSES = (
    RunStatus.SUCCEEDED,
    RunStatus.PARTIAL,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.REJECTED,
)


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class OperationRun(models.Model):
    """One recorded run of an operation, whatever started it."""

    kind = models.CharField(max_length=16, choices=operation_kinds)
    trigger = models.CharField(max_length=16, choices=OperationTrigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who asked, by name: the user's, or for a command ``--requested-by`` (by default the OS user).
    requester = models.CharField(max_length=150, blank=True, default="", db_default="")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    rpc_calls = models.JSONField(default=dict, blank=True)
    fees_paid = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # Four-eyes approval: the dry run shown to the approver, and the decision on the run.
    preview = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    decision = models.CharField(max_length=16, choices=ApprovalDecision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "-created_at"], name="sp_run_kind_created"),
            models.Index(fields=["created_at", "id"], name="sp_run_created_id"),
            models.Index(fields=["status", "created_at", "id"], name="sp_run_status_created"),
        ]
        # The run_<kind> permissions are made from the operations registry after each migrate (see
        # runs.permissions): one per operation, a maintenance run needing each step's.
        permissions = [
            ("approve_runs", "Can approve or reject runs that wait for a second person"),
            ("export_operationrun", "Can export operation runs"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def progress_percent(self):
        if not self.total:
            return 100 if self.status in FINISHED_RUN_STATUSES else 0
        return min(100, round(100 * self.done / self.total))

    @property
    def rpc_call_total(self):
        return sum(self.rpc_calls.values()) if self.rpc_calls else 0


class ItemOutcome(models.TextChoices):
    DONE = "done", _("done")
    SKIPPED = "skipped", _("skipped")
    FAILED = "failed", _("failed")
    WOULD_DO = "would-do", _("would do")


class OperationItem(models.Model):
    """What one run did to one record: the audit trail and the ledger of every lamport moved."""

    run = models.ForeignKey(OperationRun, on_delete=models.CASCADE, related_name="items")
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    wallet = models.ForeignKey(
        OneTimeWallet, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=ItemOutcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    signature = models.CharField(max_length=88, blank=True)
    token = models.ForeignKey(
        PaymentToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    amount = models.PositiveBigIntegerField(null=True, blank=True)
    fee = models.PositiveBigIntegerField(default=0)
    rent = models.PositiveBigIntegerField(default=0)
    destination = models.CharField(max_length=44, blank=True, help_text=_("Where a refund went (its owner)."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["run_id", "id"]
        indexes = [
            models.Index(fields=["run", "outcome"], name="sp_item_run_outcome"),
            # The changelist's default order (a run's items in order), its outcome filter, and the
            # exact search by signature (most items have none).
            models.Index(fields=["run", "id"], name="sp_item_run_id"),
            models.Index(fields=["outcome", "run", "id"], name="sp_item_outcome_run"),
            models.Index(fields=["signature"], name="sp_item_signature", condition=~models.Q(signature="")),
        ]
        permissions = [("export_operationitem", "Can export operation items")]

    def __str__(self):
        return f"{self.get_outcome_display()}: {self.reason}" if self.reason else self.get_outcome_display()


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    LANDED = "landed", _("landed")
    FAILED = "failed", _("failed")


class RefundSource(models.TextChoices):
    WALLET = "wallet", _("one-time wallet")
    REFUND_WALLET = "refund_wallet", _("refund wallet")


class Refund(models.Model):
    """Money sent back for a payment: written before its transaction is sent, so it is sent exactly once.

    A ``pending`` refund holds its signed transaction; the next refund run of the payment asks the chain
    about it before anything else (landed, failed, or re-sent as the very same bytes).
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    run = models.ForeignKey(OperationRun, on_delete=models.SET_NULL, null=True, related_name="+")
    token = models.ForeignKey(PaymentToken, on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField(help_text=_("In base units."))
    source = models.CharField(max_length=16, choices=RefundSource.choices)
    destination = models.CharField(max_length=44, help_text=_("The owner the money went to."))
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    signature = models.CharField(max_length=88, unique=True)
    signed_transaction = models.TextField(editable=False, help_text=_("Base64, re-sent as is."))
    valid_until = models.PositiveBigIntegerField(help_text=_("Last block height at which it can land."))
    fee = models.PositiveBigIntegerField(default=0)
    rent = models.PositiveBigIntegerField(default=0, help_text=_("Rent of a token account created for it."))
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    landed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payment_id", "created_at"]
        constraints = [
            # The claim: a payment has at most one refund in flight.
            models.UniqueConstraint(
                fields=["payment"],
                condition=models.Q(status="pending"),
                name="solana_payments_one_pending_refund",
            ),
        ]

    def __str__(self):
        from .amounts import format_units

        amount = format_units(self.amount, self.token.decimals)
        return f"{amount} {self.token} to {self.destination} ({self.get_status_display()})"


class TransferDirection(models.TextChoices):
    IN = "in", _("in")
    OUT = "out", _("out")


class TransferKind(models.TextChoices):
    PAYMENT = "payment", _("customer payment")
    SWEEP = "sweep", _("sweep")
    REFUND = "refund", _("refund")
    RENT = "rent", _("rent")
    TOP_UP = "top_up", _("fee payer top-up")
    UNKNOWN = "unknown", _("unknown")


class Transfer(models.Model):
    """One movement of a token into or out of a one-time wallet, as the chain recorded it.

    The payment's facts (who paid, when, what was received, refunded and swept) are derived from these
    rows by ``ledger.facts``; see docs/operations.md. Written once per (signature, position): ``position``
    is the index, in the transaction's account keys, of the wallet's account whose balance moved (the
    wallet itself for SOL, its token account for a token).
    """

    wallet = models.ForeignKey(OneTimeWallet, on_delete=models.CASCADE, related_name="transfers")
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, null=True, blank=True, related_name="transfers"
    )
    signature = models.CharField(max_length=88)
    position = models.PositiveSmallIntegerField()
    slot = models.PositiveBigIntegerField(null=True, blank=True)
    block_time = models.DateTimeField(null=True, blank=True)
    direction = models.CharField(max_length=3, choices=TransferDirection.choices)
    token = models.ForeignKey(PaymentToken, on_delete=models.PROTECT, related_name="+")
    amount = models.PositiveBigIntegerField(help_text=_("In base units."))
    counterparty = models.CharField(
        max_length=44, blank=True, help_text=_("The owner on the other side (never a token account).")
    )
    kind = models.CharField(max_length=16, choices=TransferKind.choices)
    from_refund_wallet = models.BooleanField(
        default=False,
        help_text=_(
            "A refund paid from the refund wallet: one of the payment's transfers, not a movement of the "
            "one-time wallet's own balance."
        ),
    )
    is_dust = models.BooleanField(default=False, help_text=_("Below the dust threshold: decides nothing."))
    fee = models.PositiveBigIntegerField(default=0, help_text=_("Lamports of the transaction's fee."))
    rent = models.PositiveBigIntegerField(
        default=0, help_text=_("Lamports of rent a closed account returned.")
    )
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["slot", "recorded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["signature", "position"], name="sp_transfer_signature_position"),
        ]
        indexes = [models.Index(fields=["payment", "token"], name="sp_transfer_payment_token")]
        permissions = [("export_transfer", "Can export transfers")]

    def __str__(self):
        from .amounts import format_units

        return f"{self.direction} {format_units(self.amount, self.token.decimals)} {self.token} ({self.kind})"

    @property
    def signed_amount(self):
        return self.amount if self.direction == TransferDirection.IN else -self.amount


class DifferenceKind(models.TextChoices):
    FUNDS_IN_EMPTY_WALLET = "funds_in_empty_wallet", _("funds in a wallet whose state says empty")
    UNKNOWN_TOKEN_ACCOUNT = "unknown_token_account", _("token account the records do not know")
    RENT_MISMATCH = "rent_mismatch", _("rent recorded differs from rent on chain")
    MONEY_MISSING = "money_missing", _("settled, yet its money is neither swept nor in the wallet")
    SWEEP_NOT_LANDED = "sweep_not_landed", _("sweep recorded without a landed transaction")


class SuggestedAction(models.TextChoices):
    SWEEP = "sweep", _("sweep")
    REFUND = "refund", _("refund")
    RECLAIM = "reclaim", _("reclaim")
    ACCEPT = "accept", _("accept")
    INVESTIGATE = "investigate", _("investigate")


class Difference(models.Model):
    """One thing reconcile found where the database and the chain disagree. Read-only: nothing is fixed
    by finding it. A difference stays ``open`` until a later reconcile of the same wallet no longer sees it."""

    run = models.ForeignKey(OperationRun, on_delete=models.CASCADE, related_name="differences")
    wallet = models.ForeignKey(OneTimeWallet, on_delete=models.CASCADE, related_name="differences")
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=32, choices=DifferenceKind.choices)
    asset = models.CharField(max_length=44, blank=True, help_text=_("'native' for SOL, else the mint."))
    recorded = models.BigIntegerField(
        null=True, blank=True, help_text=_("What the database says (base units).")
    )
    on_chain = models.BigIntegerField(
        null=True, blank=True, help_text=_("What the chain shows (base units).")
    )
    account = models.CharField(max_length=88, blank=True, help_text=_("The account or signature concerned."))
    suggested_action = models.CharField(max_length=16, choices=SuggestedAction.choices)
    detail = models.CharField(max_length=300, blank=True)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["is_open", "kind"], name="sp_difference_open_kind")]
        permissions = [("export_difference", "Can export reconciliation differences")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.wallet}"


class Dashboard(OperationRun):
    """No table of its own: gives the operations dashboard its admin address and its place in the index."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = _("operations dashboard")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")


class ExportJob(models.Model):
    """An export too big to build in a request: written to a private file by a django-q2 worker.

    The file lies in ``EXPORT_DIRECTORY`` (never a public media or static directory), is downloaded from
    the admin by users who may export that model, and is deleted after ``EXPORT_FILE_SECONDS``.
    """

    model_name = models.CharField(max_length=64, help_text=_("The exported model, e.g. payment."))
    resource = models.CharField(max_length=200, help_text=_("Dotted path of the export's resource."))
    file_format = models.CharField(max_length=8)
    fields = models.JSONField(default=list, blank=True, help_text=_("Columns chosen; empty for all."))
    query = models.BinaryField(editable=False, help_text=_("The changelist's query (filters, search)."))
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    total = models.PositiveBigIntegerField(default=0)
    done = models.PositiveBigIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    size = models.PositiveBigIntegerField(default=0, help_text=_("Bytes written."))
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at", "id"], name="sp_export_created_id")]

    def __str__(self):
        return f"export #{self.pk} ({self.model_name}, {self.file_format})"

    @property
    def progress_percent(self):
        if not self.total:
            return 100 if self.status == ExportStatus.SUCCEEDED else 0
        return min(100, round(100 * self.done / self.total))

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()

