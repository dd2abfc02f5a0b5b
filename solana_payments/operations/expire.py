"""expire: overdue ``initiated`` payments become ``expired`` after one last look at the chain, and their
wallets are closed in the same run (the seed's "tries to close related expired one-time wallets")."""

from django.utils import timezone

from ..amounts import format_units
from ..models import ItemOutcome, Payment, PaymentStatus
from ..payments import expire_payments
from .base import Operation, PaymentSelectionMixin, chunked
from .holdings import UNDERPAID
from .reclaim import ClosingMixin
from .settling import SettlingMixin


class ExpireOperation(ClosingMixin, SettlingMixin, PaymentSelectionMixin, Operation):
    kind = "expire"
    summary_keys = ("scanned", "expired", "settled", "underpaid", "closed", "skipped", "failed")

    def eligible(self):
        return Payment.objects.filter(
            status=PaymentStatus.INITIATED, expires_at__lt=timezone.now()
        ).select_related("wallet")

    def ineligible_reason(self, payment):
        if payment.status != PaymentStatus.INITIATED:
            return f"payment is {payment.status}, not initiated"
        return f"deadline not reached (expires at {payment.expires_at:%Y-%m-%d %H:%M:%S %Z})"

    def execute(self):
        payments = self.select(["expires_at", "pk"])
        self.set_total(len(payments))
        for chunk in chunked(payments, self.CHUNK):
            self.expire(chunk)
            self.advance(len(chunk))

    def expire(self, payments):
        self.load_options(payments)
        found = self.read_payments(payments)
        self.counts["scanned"] += len(payments)
        self.settle([entry for entry in found if entry[1].settles], count="settled")
        underpaid = [(p, a) for p, a, _ in found if a.verdict == UNDERPAID]
        unpaid = [p for p, a, _ in found if not a.settles and a.verdict != UNDERPAID]
        if self.dry_run:
            changed = {p.pk for p in unpaid} | {p.pk for p, _ in underpaid}
        else:
            changed = {p.pk for p in expire_payments(unpaid, underpaid=[p for p, _ in underpaid])}
        for payment, assessment in underpaid:
            token = assessment.token
            if payment.pk not in changed:
                self.skip("changed by another run meanwhile", payment=payment, wallet=payment.wallet)
                continue
            self.record(
                ItemOutcome.DONE,
                count="underpaid",
                payment=payment,
                wallet=payment.wallet,
                token=token,
                amount=assessment.held,
                reason=(
                    f"expired underpaid: holds {format_units(assessment.held, token.decimals)} of "
                    f"{format_units(assessment.expected, token.decimals)} {token.symbol}; wallet handed to sweep"
                ),
            )
        expired = [p for p in unpaid if p.pk in changed]
        for payment in unpaid:
            if payment.pk in changed:
                self.record(
                    ItemOutcome.DONE,
                    count="expired",
                    payment=payment,
                    wallet=payment.wallet,
                    reason="expired unpaid",
                )
            else:
                self.skip("changed by another run meanwhile", payment=payment, wallet=payment.wallet)
        self.close_wallets([p.wallet for p in expired])
