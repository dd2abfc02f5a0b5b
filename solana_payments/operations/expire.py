"""expire: overdue ``initiated`` payments become ``expired`` after one last look at the chain, and their
wallets are closed in the same run (the seed's "tries to close related expired one-time wallets")."""

from ..amounts import format_units
from ..models import ItemOutcome, Payment, PaymentStatus
from ..payments import expire_payments
from . import findings
from .base import AdminAction, Operation, chunked
from .closing import ClosingMixin
from .settling import SettlingMixin


class ExpiringMixin(ClosingMixin, SettlingMixin):
    """One last look at the chain, then ``expired`` (or settled, or expired underpaid) and the wallet
    closed: for expire, and for the cancellation of an open payment by hand (resolve)."""

    def expire(self, payments):
        self.selection.load_options(payments)
        found = self.read_payments(payments)
        self.counts["scanned"] += len(payments)
        verdicts = self.act_on(found, expiring=True, settle_count="settled")
        underpaid = verdicts[findings.EXPIRE_UNDERPAID]
        unpaid = [v.payment for v in verdicts[findings.EXPIRE]]
        for v in underpaid:  # what the wallet received is recorded on the payment
            v.payment.paid_token, v.payment.paid_amount = v.assessment.token, v.assessment.held
        if self.dry_run:
            changed = {p.pk for p in unpaid} | {v.payment.pk for v in underpaid}
        else:
            changed = {p.pk for p in expire_payments(unpaid, underpaid=[v.payment for v in underpaid])}
        for v in underpaid:
            payment, assessment = v.payment, v.assessment
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
        # The wallets were read a moment ago: closing reads them again only after its transactions land.
        read = {payment.wallet_id: holdings for payment, _, holdings in found}
        self.close_wallets([p.wallet for p in unpaid if p.pk in changed], holdings=read)


class ExpireOperation(ExpiringMixin, Operation):
    kind = "expire"
    order = 2
    model = "payment"
    description = (
        "Marks initiated payments past their deadline expired (after one last look at the chain), then "
        "closes the token accounts of their wallets."
    )
    summary_keys = ("scanned", "expired", "settled", "underpaid", "closed", "skipped", "failed")
    occasional_keys = ("flagged", "unswept", "stranded")
    admin_actions = (AdminAction("expire_payments", "Expire selected overdue payments…", on="payment"),)
    tile_figures = ("overdue_payments",)
    command_help = (
        "Mark 'initiated' payments past their deadline as 'expired' (after one last look at the chain) "
        "and try to close their one-time wallets."
    )

    def eligible(self):
        return Payment.objects.overdue().select_related("wallet")

    def ineligible_reason(self, payment):
        if payment.status != PaymentStatus.INITIATED:
            return f"payment is {payment.status}, not initiated"
        return f"deadline not reached (expires at {payment.expires_at:%Y-%m-%d %H:%M:%S %Z})"

    def execute(self):
        payments = self.selection.select(["expires_at", "pk"])
        self.set_total(len(payments))
        for chunk in chunked(payments, self.CHUNK):
            self.expire(chunk)
            self.advance(len(chunk))
