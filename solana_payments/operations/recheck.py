"""recheck: payments still ``initiated`` that were in fact paid on chain are settled; and the watch over
quiet wallets: those in a final state (expired, closed, swept) are re-read for ``WATCH_WINDOW`` after their
last activity, oldest-checked first, so money that arrives late, after a sweep or through a lagging node
is found and settled, flagged or swept by the same rule as everywhere else.

With ``hot_seconds`` it reads only the checkout watch's hot set: initiated payments whose checkout page or
status endpoint was asked about that many seconds ago or later (no quiet wallets), and it records a pending
payment only when its wallet shows something new, so reading the same open checkouts every second writes
no rows for those that nothing arrived in."""

import datetime

from django.db.models import F, Q
from django.utils import timezone

from ..conf import app_settings
from ..models import Payment, PaymentException, PaymentStatus
from . import findings
from .base import AdminAction, Operation, chunked

LEAST_RECENTLY_CHECKED = (F("wallet__last_checked_at").asc(nulls_first=True), "pk")


class RecheckOperation(Operation):
    kind = "recheck"
    settles = True
    order = 1
    model = "payment"
    description = "Looks at the chain for initiated payments and settles those that were paid."
    default_limit = 200  # the seed's --limit default, wherever recheck is started from
    schedule_minutes = 5
    summary_keys = ("scanned", "reconciled", "pending", "failed")
    occasional_keys = ("watched", "flagged", "unswept")
    option_names = ("include_expired", "hot_seconds")
    admin_actions = (AdminAction("recheck_payments", "Recheck selected payments on chain…", on="payment"),)
    tile_figures = ("initiated_payments", "overdue_of_initiated", "per_run_limit")
    command_records = "initiated payments"
    command_help = (
        "Scan payments still 'initiated' and settle those that were in fact paid on chain "
        "(status, signal, ON_PAYMENT_ACCEPTED hook)."
    )

    @classmethod
    def add_command_arguments(cls, parser):
        parser.add_argument(
            "--include-expired",
            action="store_true",
            help="Also recheck expired payments inside LATE_PAYMENT_WINDOW; they settle as 'paid_late'.",
        )

    @classmethod
    def command_options(cls, options):
        return {"include_expired": True} if options["include_expired"] else {}

    @classmethod
    def clean_options(cls, ids, options):
        options = super().clean_options(ids, options)
        hot = options.get("hot_seconds")
        if hot is None:
            options.pop("hot_seconds", None)
            return options
        if isinstance(hot, bool) or not isinstance(hot, int | float) or not 0 < hot <= 24 * 3600:
            raise ValueError(f"hot_seconds must be a number of seconds from 1 to 86400, not {hot!r}")
        if ids is not None:
            raise ValueError("hot_seconds selects the checkout watch's payments: give no ids with it")
        return {**options, "hot_seconds": hot}

    def eligible(self):
        hot = self.options.get("hot_seconds")
        if hot is not None:
            since = timezone.now() - datetime.timedelta(seconds=hot)
            return Payment.objects.hot(since).select_related("wallet")
        if self.ids is not None:  # selected by hand: the chain decides, whatever state the records are in
            return Payment.objects.select_related("wallet")
        eligible = Q(status=PaymentStatus.INITIATED)
        if self.options.get("include_expired"):
            window_start = timezone.now() - datetime.timedelta(seconds=app_settings.LATE_PAYMENT_WINDOW)
            eligible |= Q(
                status=PaymentStatus.EXPIRED,
                expires_at__gte=window_start,
                exception__in=["", PaymentException.UNDERPAID],
            )
        return Payment.objects.filter(eligible).select_related("wallet")

    def ineligible_reason(self, payment):  # pragma: no cover - every selected payment is eligible
        return f"payment is {payment.status}"

    def quiet(self, exclude):
        """Payments whose wallet is quiet but still watched, oldest-checked first (``WATCH_BATCH_SIZE``)."""
        size = app_settings.WATCH_BATCH_SIZE
        if self.ids is not None or not size or self.options.get("hot_seconds") is not None:
            return []
        since = timezone.now() - datetime.timedelta(seconds=app_settings.WATCH_WINDOW)
        watched = Payment.objects.watched(since).exclude(pk__in=[p.pk for p in exclude])
        return self.selection.readable(
            watched.select_related("wallet").order_by(*LEAST_RECENTLY_CHECKED)[:size]
        )

    def execute(self):
        payments = self.selection.select(LEAST_RECENTLY_CHECKED)
        quiet = self.quiet(exclude=payments)
        self.set_total(len(payments) + len(quiet))
        for chunk in chunked(payments, self.CHUNK):
            self.check(chunk)
            self.advance(len(chunk))
        for chunk in chunked(quiet, self.CHUNK):
            self.check(chunk)
            self.counts["watched"] += len(chunk)
            self.advance(len(chunk))

    def check(self, payments):
        self.selection.load_options(payments)
        before = {p.pk: dict(p.wallet.balances or {}) for p in payments}
        found = self.settler.read_payments(payments, checked=True)
        self.counts["scanned"] += len(payments)
        verdicts = self.settler.act_on(found)
        pending = verdicts[findings.PENDING]
        if self.options.get("hot_seconds") is not None:  # the watch: only what shows something new
            pending = [v for v in pending if v.holdings.balances() != before[v.payment.pk]]
            self.counts["pending"] += len(verdicts[findings.PENDING]) - len(pending)
        self.settler.record_pending(pending)
        if self.ids is not None:  # chosen by hand: say what was found, even when nothing was
            for v in verdicts[findings.QUIET]:
                reason = f"payment is {v.payment.status}: nothing new on chain"
                self.skip(reason, count="pending", payment=v.payment, wallet=v.wallet)
