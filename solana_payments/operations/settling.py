"""Acting on what the chain shows: reading wallets in batches, and applying the one rule of ``findings``
to every payment read (settle, flag, hand funds back to sweep), for recheck, expire and reclaim alike."""

from collections import defaultdict

from django.utils import timezone

from ..amounts import format_units
from ..bulk import update_rows
from ..models import SETTLED_STATUSES, ItemOutcome, OneTimeWallet, PaymentException, PaymentStatus
from ..payments import (
    WALLET_STATES_BEFORE_FUNDS,
    Settlement,
    flag_payments,
    hand_wallets_to_sweep,
    settle_payments,
)
from . import findings
from .holdings import OVERPAID, UNDERPAID, WITHIN_TOLERANCE, assess, find_evidence, read_holdings

FLAG_REASONS = {
    PaymentException.UNDERPAID: "underpaid: received {received} of {expected}",
    PaymentException.PAID_LATE: "paid late, after LATE_PAYMENT_WINDOW: received {received}; not accepted",
    PaymentException.TOPPED_UP: "topped up: more money arrived after it was settled",
    PaymentException.PAID_TWICE: "paid twice: another full amount arrived after it was settled",
}


def remember_balances(wallets, holdings, *, checked=False):
    """Store what the chain showed on each wallet (the dashboard's figures come from these reads); with
    ``checked``, every wallet read also gets a new ``last_checked_at`` (recheck's and the watch's order)."""
    now = timezone.now()
    changed = []
    for wallet in wallets:
        held = holdings.get(wallet.pk)
        if held is None:
            continue
        balances = held.balances()
        if balances != (wallet.balances or {}) or bool(balances) != wallet.holds_funds:
            wallet.balances, wallet.holds_funds = balances, bool(balances)
            changed.append(wallet)
    update_rows(OneTimeWallet, changed, ["balances", "holds_funds"])
    if checked:
        OneTimeWallet.objects.filter(pk__in=[w.pk for w in wallets]).update(last_checked_at=now)


def describe(amount, token):
    return f"{format_units(amount, token.decimals)} {token.symbol}"


class SettlingMixin:
    def read_payments(self, payments, *, checked=False):
        """``[(payment, assessment, holdings)]`` for payments whose options are loaded."""
        wallet_tokens = {p.wallet: [o.token for o in p.options.all()] for p in payments}
        self.pause()
        holdings = read_holdings(self.chain, wallet_tokens)
        if not self.dry_run:
            remember_balances([p.wallet for p in payments], holdings, checked=checked)
        return [(p, assess(p.options.all(), holdings[p.wallet_id]), holdings[p.wallet_id]) for p in payments]

    def act_on(self, found, *, expiring=False, settle_count="reconciled"):
        """Judge every ``(payment, assessment, holdings)`` read and carry out the verdicts that settle, flag
        or send funds back to sweep. Returns ``{verdict kind: [Verdict]}`` for what the caller decides."""
        now = timezone.now()
        by_kind = defaultdict(list)
        for payment, assessment, holdings in found:
            verdict = findings.judge(payment, assessment, holdings, expiring=expiring, now=now)
            by_kind[verdict.kind].append(verdict)
        settled = self.settle(
            [(v.payment, v.assessment, v.holdings) for v in by_kind[findings.SETTLE]], count=settle_count
        )
        settled_pks = {p.pk for p in settled}
        self.flag(by_kind[findings.FLAG])
        to_sweep = [
            v
            for kind in (findings.SETTLE, findings.FLAG, findings.UNSWEPT)
            for v in by_kind[kind]
            if v.to_sweep
            and (kind != findings.SETTLE or v.payment.pk in settled_pks)
            # settling already moved a wallet that was waiting for its payment
            and not (kind == findings.SETTLE and v.wallet.state in WALLET_STATES_BEFORE_FUNDS)
        ]
        self.hand_to_sweep(to_sweep, record=by_kind[findings.UNSWEPT])
        return by_kind

    def flag(self, verdicts):
        if not verdicts:
            return
        flags = []
        for v in verdicts:
            unsettled = v.payment.status not in SETTLED_STATUSES
            received = (v.assessment.token, v.assessment.held) if unsettled and v.assessment.token else None
            flags.append((v.payment, v.exception, received))
        flagged = set() if self.dry_run else {p.pk for p in flag_payments(flags)}
        for v in verdicts:
            if not self.dry_run and v.payment.pk not in flagged:
                self.skip("changed by another run meanwhile", payment=v.payment, wallet=v.wallet)
                continue
            a = v.assessment
            reason = FLAG_REASONS[v.exception].format(
                received=describe(a.held, a.token) if a.token else "-",
                expected=describe(a.expected, a.token) if a.token else "-",
            )
            if v.to_sweep:
                reason += "; funds handed to sweep"
            self.record(
                ItemOutcome.DONE,
                count="flagged",
                payment=v.payment,
                wallet=v.wallet,
                reason=reason,
                token=a.token,
                amount=a.held or None,
            )

    def hand_to_sweep(self, verdicts, *, record=()):
        """Send the wallets of ``verdicts`` (back) to sweep; ``record`` are those with no other item."""
        if not verdicts:
            return
        moved = (
            {v.wallet.pk for v in verdicts}
            if self.dry_run
            else hand_wallets_to_sweep([v.wallet for v in verdicts])
        )
        for v in record:
            if v.wallet.pk not in moved:
                self.skip("changed by another run meanwhile", payment=v.payment, wallet=v.wallet)
                continue
            self.record(
                ItemOutcome.DONE,
                count="unswept",
                payment=v.payment,
                wallet=v.wallet,
                reason=f"funds found in a wallet marked {v.wallet.state}: handed back to sweep",
            )

    def settle(
        self, found, *, from_statuses=(PaymentStatus.INITIATED, PaymentStatus.EXPIRED), count="reconciled"
    ):
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
            elif assessment.verdict == WITHIN_TOLERANCE:
                exception = PaymentException.UNDERPAID_WITHIN_TOLERANCE
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
            amount = describe(assessment.held, assessment.token)
            if self.dry_run or payment.pk in settled:
                reason = f"paid {amount}" + (f" ({s.exception.replace('_', ' ')})" if s.exception else "")
                if assessment.verdict == WITHIN_TOLERANCE:
                    reason += f" of {describe(assessment.expected, assessment.token)}"
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

    def record_pending(self, verdicts):
        for v in verdicts:
            a = v.assessment
            if a.verdict == UNDERPAID:
                reason = f"underpaid: holds {format_units(a.held, a.token.decimals)} of {describe(a.expected, a.token)}"
                self.skip(
                    reason, count="pending", payment=v.payment, wallet=v.wallet, token=a.token, amount=a.held
                )
            else:
                self.skip("not paid yet", count="pending", payment=v.payment, wallet=v.wallet)
