"""Expiring payments: one last look at the chain, then ``expired`` (or settled, or expired underpaid) and
their wallets closed; for expire, and for the cancellation of an open payment by hand (resolve)."""

from ..amounts import format_units
from ..models import ItemOutcome
from ..payments import expire_payments
from . import findings


class Expirer:
    """One last look at the chain, then ``expired`` (or settled, or expired underpaid) and the wallet
    closed: for expire, and for the cancellation of an open payment by hand (resolve). It reads and judges
    through ``settler``, closes through ``closer`` and records through ``recorder``."""

    def __init__(self, recorder, *, settler, closer, load_options, dry_run):
        self.recorder = recorder
        self.settler = settler
        self.closer = closer
        self.load_options = load_options
        self.dry_run = dry_run

    def expire(self, payments):
        self.load_options(payments)
        found = self.settler.read_payments(payments)
        self.recorder.counts["scanned"] += len(payments)
        verdicts = self.settler.act_on(found, expiring=True, settle_count="settled")
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
                self.recorder.skip("changed by another run meanwhile", payment=payment, wallet=payment.wallet)
                continue
            self.recorder.record(
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
                self.recorder.record(
                    ItemOutcome.DONE,
                    count="expired",
                    payment=payment,
                    wallet=payment.wallet,
                    reason="expired unpaid",
                )
            else:
                self.recorder.skip("changed by another run meanwhile", payment=payment, wallet=payment.wallet)
        # The wallets were read a moment ago: closing reads them again only after its transactions land.
        read = {payment.wallet_id: holdings for payment, _, holdings in found}
        self.closer.close_wallets([p.wallet for p in unpaid if p.pk in changed], holdings=read)
