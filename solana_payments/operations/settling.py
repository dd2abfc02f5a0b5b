"""Acting on what the chain shows: reading wallets in batches, and applying the one rule of ``findings``
to every payment read (settle, flag, hand funds back to sweep), for recheck, expire and reclaim alike."""

from collections import defaultdict

from django.utils import timezone

from ..amounts import format_units
from ..bulk import update_rows
from ..holdings import OVERPAID, UNDERPAID, UNPAID, WITHIN_TOLERANCE, Evidence, assess, read_holdings
from ..ledger import reading as ledger_reading
from ..ledger.facts import facts_of
from ..models import SETTLED_STATUSES, ItemOutcome, OneTimeWallet, PaymentException, PaymentStatus
from ..payments import (
    WALLET_STATES_BEFORE_FUNDS,
    Settlement,
    flag_payments,
    hand_wallets_to_sweep,
    settle_payments,
)
from . import findings

FLAG_REASONS = {
    PaymentException.UNDERPAID: "underpaid: received {received} of {expected}",
    PaymentException.PAID_LATE: "paid late, after LATE_PAYMENT_WINDOW: received {received}; not accepted",
    PaymentException.TOPPED_UP: "topped up: more money arrived after it was settled",
    PaymentException.PAID_TWICE: "paid twice: another full amount arrived after it was settled",
}


def balances_changed(payment, holdings):
    """Whether the wallet shows other balances than at its last read: it has new transfers to record."""
    return holdings.balances() != (payment.wallet.balances or {})


def unrecorded_accounts(payment, holdings, transfers):
    """The wallet's accounts whose recorded incoming transfers add up to less than it received (held now,
    plus swept and refunded): their new history must be read."""
    accounts = set()
    for option in payment.options.all():
        token = option.token
        recorded = sum(t.amount for t in transfers if t.token_id == token.pk and t.direction == "in")
        if recorded < holdings.received_of(token):
            accounts.add(str(holdings.where_is(token)))
    return accounts


def decided_by_ledger(payment, assessment, holdings):
    """Whether judging this payment needs its transfers: money sits in its wallet for a payment whose facts
    (payer, time, exception) are not decided yet, or a settled payment's wallet received more than it was
    settled with (dust, or a top-up)."""
    if assessment.verdict == UNPAID:
        return False
    if payment.status == PaymentStatus.INITIATED:
        return True
    if payment.status == PaymentStatus.EXPIRED:
        return not payment.exception or payment.exception == PaymentException.UNDERPAID
    if payment.exception == PaymentException.PAID_TWICE:
        return False
    return any(
        holdings.received_of(o.token)
        > ((payment.paid_amount or 0) if o.token_id == payment.paid_token_id else 0)
        for o in payment.options.all()
    )


def option_price(payment, token):
    return next((o.amount for o in payment.options.all() if o.token_id == token.pk), 0)


def remember_balances(wallets, holdings, *, checked=False, save=True):
    """Store what the chain showed on each wallet (the dashboard's figures come from these reads); with
    ``checked``, every wallet read also gets a new ``last_checked_at`` (recheck's and the watch's order).
    ``save=False`` sets them in memory only, for a caller that writes the wallets itself."""
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
    if save:
        update_rows(OneTimeWallet, changed, ["balances", "holds_funds"])
    if checked:
        OneTimeWallet.objects.filter(pk__in=[w.pk for w in wallets]).update(last_checked_at=now)


def describe(amount, token):
    return f"{format_units(amount, token.decimals)} {token.symbol}"


class Settler:
    """Reads payments' wallets and applies the chain rule to them: for recheck, expire, resolve, reclaim
    and sweep alike. It reads through ``chain``, waits ``pause()`` before each round trip (``--sleep``),
    records through ``recorder`` and, in a ``dry_run``, changes nothing."""

    def __init__(self, chain, recorder, *, dry_run, pause):
        self.chain = chain
        self.recorder = recorder
        self.dry_run = dry_run
        self.pause = pause

    def read_payments(self, payments, *, checked=False):
        """``[(payment, assessment, holdings)]`` for payments whose options are loaded."""
        wallet_tokens = {p.wallet: [o.token for o in p.options.all()] for p in payments}
        self.pause()
        holdings = read_holdings(self.chain, wallet_tokens)
        found = [(p, assess(p.options.all(), holdings[p.wallet_id]), holdings[p.wallet_id]) for p in payments]
        self.read_ledgers([(p, h) for p, a, h in found if balances_changed(p, h)])
        if not self.dry_run:
            remember_balances([p.wallet for p in payments], holdings, checked=checked)
        return found

    def read_ledgers(self, pairs):
        """Attach to each ``(payment, holdings)`` its wallet's transfer ledger, read from the chain first for
        the accounts whose recorded transfers do not add up to what the wallet received (a dry run reads
        but writes nothing)."""
        pairs = [(p, h) for p, h in pairs if h.transfers is None]
        if not pairs:
            return
        recorded = ledger_reading.ledgers([p.wallet_id for p, _ in pairs])
        books = []
        for payment, holdings in pairs:
            unexplained = unrecorded_accounts(payment, holdings, recorded[payment.wallet_id])
            if unexplained:
                tokens = [o.token for o in payment.options.all()]
                books.append(ledger_reading.WalletBook(payment.wallet, tokens, payment, read=unexplained))
        if books:
            self.pause()
            recorded.update(ledger_reading.sync(self.chain, books, save=not self.dry_run, recorded=recorded))
        for payment, holdings in pairs:
            holdings.transfers = recorded.get(payment.wallet_id, [])

    def act_on(self, found, *, expiring=False, settle_count="reconciled"):
        """Judge every ``(payment, assessment, holdings)`` read and carry out the verdicts that settle, flag
        or send funds back to sweep. Returns ``{verdict kind: [Verdict]}`` for what the caller decides."""
        now = timezone.now()
        by_kind = defaultdict(list)
        self.read_ledgers([(p, h) for p, a, h in found if decided_by_ledger(p, a, h)])
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
                self.recorder.skip("changed by another run meanwhile", payment=v.payment, wallet=v.wallet)
                continue
            a = v.assessment
            reason = FLAG_REASONS[v.exception].format(
                received=describe(a.held, a.token) if a.token else "-",
                expected=describe(a.expected, a.token) if a.token else "-",
            )
            if v.to_sweep:
                reason += "; funds handed to sweep"
            self.recorder.record(
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
                self.recorder.skip("changed by another run meanwhile", payment=v.payment, wallet=v.wallet)
                continue
            self.recorder.record(
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
        self.read_ledgers([(p, h) for p, _, h in found])
        settlements, senders = [], {}
        for payment, assessment, holdings in found:
            proof, facts = evidence_of(payment, assessment, holdings)
            senders[payment.pk] = facts.senders
            late = payment.status == PaymentStatus.EXPIRED or (
                proof is not None and proof.paid_at is not None and proof.paid_at > payment.expires_at
            )
            if late:
                exception = PaymentException.PAID_LATE
            elif facts.several_payers:
                exception = PaymentException.SEVERAL_PAYERS
            elif assessment.verdict == OVERPAID and assessment.held - facts.dust > assessment.expected:
                exception = PaymentException.OVERPAID  # dust alone never makes a payment overpaid
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
                if len(senders[payment.pk]) > 1:
                    reason += f" by {', '.join(senders[payment.pk])}"
                self.recorder.record(
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
                self.recorder.skip("settled by another run meanwhile", payment=payment, wallet=payment.wallet)
        return [s.payment for s in settlements if self.dry_run or s.payment.pk in settled]

    def record_pending(self, verdicts):
        for v in verdicts:
            a = v.assessment
            if a.verdict == UNDERPAID:
                reason = f"underpaid: holds {format_units(a.held, a.token.decimals)} of {describe(a.expected, a.token)}"
                self.recorder.skip(
                    reason, count="pending", payment=v.payment, wallet=v.wallet, token=a.token, amount=a.held
                )
            else:
                self.recorder.skip("not paid yet", count="pending", payment=v.payment, wallet=v.wallet)


def evidence_of(payment, assessment, holdings):
    """``(Evidence or None, Facts)`` of a payment found paid, from its wallet's transfer ledger."""
    facts = facts_of(holdings.transfers or [], assessment.token, option_price(payment, assessment.token))
    row = facts.paying or facts.last  # short of the price (an accepted underpayment): the newest transfer
    if row is None:
        return None, facts
    return Evidence(signature=row.signature, payer=facts.payer, paid_at=row.block_time), facts
