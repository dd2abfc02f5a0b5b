"""recheck: payments still ``initiated`` that were in fact paid on chain are settled."""

import datetime

from django.db.models import F, Q
from django.utils import timezone

from ..amounts import format_units
from ..conf import app_settings
from ..models import OneTimeWallet, Payment, PaymentException, PaymentStatus
from .base import Operation, PaymentSelectionMixin, chunked
from .holdings import UNDERPAID
from .settling import SettlingMixin


class RecheckOperation(SettlingMixin, PaymentSelectionMixin, Operation):
    kind = "recheck"
    default_limit = 200  # the seed's --limit default, wherever recheck is started from
    summary_keys = ("scanned", "reconciled", "pending", "failed")

    def eligible(self):
        eligible = Q(status=PaymentStatus.INITIATED)
        if self.options.get("include_expired"):
            window_start = timezone.now() - datetime.timedelta(seconds=app_settings.LATE_PAYMENT_WINDOW)
            eligible |= Q(
                status=PaymentStatus.EXPIRED,
                expires_at__gte=window_start,
                exception__in=["", PaymentException.UNDERPAID],
            )
        return Payment.objects.filter(eligible).select_related("wallet")

    def ineligible_reason(self, payment):
        if payment.status == PaymentStatus.EXPIRED:
            return "payment is expired (use --include-expired within LATE_PAYMENT_WINDOW)"
        return f"payment is {payment.status}, not initiated"

    def execute(self):
        payments = self.select([F("wallet__last_checked_at").asc(nulls_first=True), "pk"])
        self.set_total(len(payments))
        for chunk in chunked(payments, self.CHUNK):
            self.check(chunk)
            self.advance(len(chunk))

    def check(self, payments):
        self.load_options(payments)
        found = self.read_payments(payments)
        self.counts["scanned"] += len(payments)
        paid = [entry for entry in found if entry[1].settles]
        self.settle(paid, from_statuses=(PaymentStatus.INITIATED, PaymentStatus.EXPIRED))
        for payment, assessment, _ in found:
            if assessment.settles:
                continue
            if assessment.verdict == UNDERPAID:
                token = assessment.token
                reason = (
                    f"underpaid: holds {format_units(assessment.held, token.decimals)} of "
                    f"{format_units(assessment.expected, token.decimals)} {token.symbol}"
                )
                self.skip(
                    reason,
                    count="pending",
                    payment=payment,
                    wallet=payment.wallet,
                    token=token,
                    amount=assessment.held,
                )
            else:
                self.skip("not paid yet", count="pending", payment=payment, wallet=payment.wallet)
        if not self.dry_run:
            OneTimeWallet.objects.filter(pk__in=[p.wallet_id for p in payments]).update(
                last_checked_at=timezone.now()
            )
