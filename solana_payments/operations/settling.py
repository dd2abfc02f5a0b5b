"""What recheck and expire share: reading wallets in batches and settling the payments found paid."""

from ..amounts import format_units
from ..conf import app_settings
from ..models import ItemOutcome, PaymentException, PaymentStatus
from ..payments import Settlement, settle_payments
from .holdings import OVERPAID, assess, find_evidence, read_holdings


class SettlingMixin:
    def read_payments(self, payments):
        """``[(payment, assessment, holdings)]`` for payments whose options are loaded."""
        wallet_tokens = {p.wallet: [o.token for o in p.options.all()] for p in payments}
        self.pause()
        holdings = read_holdings(
            self.chain, wallet_tokens, commitment=app_settings.PAYMENT_ACCEPTANCE_COMMITMENT
        )
        return [(p, assess(p.options.all(), holdings[p.wallet_id]), holdings[p.wallet_id]) for p in payments]

    def settle(self, found, *, from_statuses=(PaymentStatus.INITIATED,), count="reconciled"):
        """Settle ``[(payment, assessment, holdings)]`` found paid; record one item each."""
        if not found:
            return []
        self.pause()
        evidence = find_evidence(self.chain, [(p.pk, h.where_is(a.token), a.token) for p, a, h in found])
        settlements = []
        for payment, assessment, _ in found:
            proof = evidence.get(payment.pk)
            late = payment.status == PaymentStatus.EXPIRED or (
                proof is not None and proof.paid_at is not None and proof.paid_at > payment.expires_at
            )
            if late:
                exception = PaymentException.PAID_LATE
            elif assessment.verdict == OVERPAID:
                exception = PaymentException.OVERPAID
            else:
                exception = ""
            settlements.append(Settlement(payment, assessment, proof, exception))
        settled = (
            set()
            if self.dry_run
            else {p.pk for p in settle_payments(settlements, from_statuses=from_statuses)}
        )
        for s in settlements:
            payment, assessment = s.payment, s.assessment
            amount = f"{format_units(assessment.held, assessment.token.decimals)} {assessment.token.symbol}"
            if self.dry_run or payment.pk in settled:
                reason = f"paid {amount}" + (f" ({s.exception.replace('_', ' ')})" if s.exception else "")
                self.record(
                    ItemOutcome.DONE,
                    count=count,
                    payment=payment,
                    wallet=payment.wallet,
                    reason=reason,
                    signature=s.evidence.signature if s.evidence else "",
                    token=assessment.token,
                    amount=assessment.held,
                )
            else:
                self.skip("settled by another run meanwhile", payment=payment, wallet=payment.wallet)
        return [s.payment for s in settlements if self.dry_run or s.payment.pk in settled]
