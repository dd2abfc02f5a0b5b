"""recheck: payments still ``initiated`` that were in fact paid on chain are settled; and the watch over
quiet wallets: those in a final state (expired, closed, swept) are re-read for ``WATCH_WINDOW`` after their
last activity, oldest-checked first, so money that arrives late, after a sweep or through a lagging node
is found and settled, flagged or swept by the same rule as everywhere else."""

import datetime

from django.db.models import F, Q
from django.utils import timezone

from ..conf import app_settings
from ..models import Payment, PaymentException, PaymentStatus
from . import findings
from .base import AdminAction, Operation, PaymentSelectionMixin, chunked
from .settling import SettlingMixin

LEAST_RECENTLY_CHECKED = (F("wallet__last_checked_at").asc(nulls_first=True), "pk")


class RecheckOperation(SettlingMixin, PaymentSelectionMixin, Operation):
    kind = "recheck"
    order = 1
    model = "payment"
    description = "Looks at the chain for initiated payments and settles those that were paid."
    default_limit = 200  # the seed's --limit default, wherever recheck is started from
    schedule_minutes = 5
    summary_keys = ("scanned", "reconciled", "pending", "failed")
    occasional_keys = ("watched", "flagged", "unswept")
    option_names = ("include_expired",)
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

    def eligible(self):
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
        if self.ids is not None or not size:
            return []
        since = timezone.now() - datetime.timedelta(seconds=app_settings.WATCH_WINDOW)
        watched = Payment.objects.watched(since).exclude(pk__in=[p.pk for p in exclude])
        return self.readable(watched.select_related("wallet").order_by(*LEAST_RECENTLY_CHECKED)[:size])

    def execute(self):
        payments = self.select(LEAST_RECENTLY_CHECKED)
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
        self.load_options(payments)
        found = self.read_payments(payments, checked=True)
        self.counts["scanned"] += len(payments)
        verdicts = self.act_on(found)
        self.record_pending(verdicts[findings.PENDING])
        if self.ids is not None:  # chosen by hand: say what was found, even when nothing was
            for v in verdicts[findings.QUIET]:
                reason = f"payment is {v.payment.status}: nothing new on chain"
                self.skip(reason, count="pending", payment=v.payment, wallet=v.wallet)
