"""resolve: an operator's decision about a payment the rules left open, with a required reason.

- **accept**: an expired (underpaid, late, or paid after the window) or an underpaid open payment is
  accepted as paid with what its wallet received. Its ledger decides: when what it kept (received minus
  refunded, from its transfer rows) is short of the price, accept is refused and says how much is missing,
  unless the operator accepts the shortfall explicitly (``accept_short``); a payment whose refunds left it
  nothing is never accepted. ``payment_accepted`` is sent once (the update is guarded
  by the status read), the exception is cleared (the decision is the answer to it, and the funds are no
  longer held by ``HOLD_FLAGGED_FUNDS``) and the wallet goes to sweep.
- **cancel**: an open (``initiated``) payment is cancelled: its deadline becomes now and it is expired
  the way expire does it (one last look at the chain, then the wallet to reclaim). Money that arrives
  later is found by the watch and judged like any late payment.

Each decision is one item: who, when (the item's time) and the reason.
"""

from django import forms
from django.utils import timezone

from ..conf import app_settings
from ..ledger.facts import facts_of
from ..models import ItemOutcome, Payment, PaymentException, PaymentStatus
from ..payments import Settlement, settle_payments
from .base import Operation, chunked
from .settling import describe, evidence_of, option_price

ACCEPT, CANCEL = "accept", "cancel"
DECISIONS = (ACCEPT, CANCEL)
MAX_REASON_LENGTH = 200


def clean_decision(decision, reason):
    """``(decision, reason)`` cleaned, or ``ValueError`` saying what is wrong."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValueError("a reason is required: say why the payment is accepted or cancelled")
    if len(reason) > MAX_REASON_LENGTH:
        raise ValueError(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    return decision, reason


def who(run):
    user = run.requested_by
    return user.get_username() if user is not None else f"a {run.get_trigger_display()}"


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(d, d.capitalize()) for d in DECISIONS],
        widget=forms.RadioSelect,
        help_text="Accept: take what was received as paid. Cancel: an open payment the customer gave up.",
    )
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, help_text="Required; recorded with your name.")
    accept_short = forms.BooleanField(
        required=False,
        label="Accept although short of the price",
        help_text="Without it, a payment that kept less than its price (received minus refunded) is refused "
        "and the run says how much is missing. A payment whose refunds left it nothing is never accepted.",
    )


class ResolveOperation(Operation):
    kind = "resolve"
    expires = True
    order = 6
    model = "payment"
    description = (
        "Accepts an expired, underpaid or late payment as paid, or cancels an open one, with a reason."
    )
    needs_selection = True
    option_names = ("decision", "reason", "accept_short")
    summary_keys = ("scanned", "accepted", "cancelled", "skipped", "failed")
    occasional_keys = ("settled", "underpaid", "closed", "flagged", "unswept")
    desk_label = "Accept or cancel"
    desk_form = ResolveForm
    records_decisions = True  # its done items are listed on the payment's page
    command_help = (
        "Accept an expired, underpaid or late payment as paid, or cancel an open one, with a reason "
        "(recorded with who and when)."
    )

    @classmethod
    def add_command_arguments(cls, parser):
        parser.add_argument("--decision", required=True, choices=list(DECISIONS))
        parser.add_argument("--reason", required=True, help="Why (required, recorded on the payment).")
        parser.add_argument(
            "--accept-short",
            action="store_true",
            help="Accept a payment that kept less than its price (received minus refunded); without it such "
            "a payment is refused with how much is missing. A fully refunded payment is never accepted.",
        )

    @classmethod
    def command_options(cls, options):
        return {
            "decision": options["decision"],
            "reason": options["reason"],
            "accept_short": options["accept_short"],
        }

    @classmethod
    def clean_options(cls, ids, options):
        options = super().clean_options(ids, options)
        decision, reason = clean_decision(options.get("decision"), options.get("reason"))
        return {
            **options,
            "decision": decision,
            "reason": reason,
            "accept_short": bool(options.get("accept_short")),
        }

    @property
    def decision(self):
        return self.options["decision"]

    def eligible(self):
        statuses = [PaymentStatus.INITIATED]
        if self.decision == ACCEPT:
            statuses.append(PaymentStatus.EXPIRED)
        return Payment.objects.filter(status__in=statuses).select_related("wallet")

    def ineligible_reason(self, payment):
        if self.decision == CANCEL:
            return f"payment is {payment.status}: only an open (initiated) payment can be cancelled"
        return f"payment is already settled ({payment.status}): there is nothing to accept"

    def execute(self):
        payments = self.selection.select(["pk"])
        self.set_total(len(payments))
        for chunk in chunked(payments, self.CHUNK):
            if self.decision == ACCEPT:
                self.accept(chunk)
            else:
                self.cancel(chunk)
            self.advance(len(chunk))

    def note(self, verb):
        return f"{verb} by {who(self.run)}: {self.options['reason']}"

    # -- accept ----------------------------------------------------------------------------------------

    def accept(self, payments):
        self.selection.load_options(payments)
        found = self.settler.read_payments(payments)
        self.counts["scanned"] += len(payments)
        candidates = []
        for payment, assessment, holdings in found:
            if assessment.token is None:
                self.skip(
                    "nothing was received in its wallet: there is nothing to accept",
                    payment=payment,
                    wallet=payment.wallet,
                )
            else:
                candidates.append((payment, assessment, holdings))
        self.settler.read_ledgers([(p, h) for p, _, h in candidates])
        received = []
        for payment, assessment, holdings in candidates:
            if refused := self.short_of_price(payment, assessment, holdings):
                self.skip(refused, payment=payment, wallet=payment.wallet)
            else:
                received.append((payment, assessment, holdings))
        if not received:
            return
        settlements = [Settlement(p, a, evidence_of(p, a, h)[0]) for p, a, h in received]
        if self.dry_run:
            accepted = {s.payment.pk for s in settlements}
        else:
            from_statuses = (PaymentStatus.INITIATED, PaymentStatus.EXPIRED)
            accepted = {
                p.pk for p in settle_payments(settlements, from_statuses=from_statuses, announce_flags=False)
            }
        for payment, assessment, _ in received:
            if payment.pk not in accepted:
                self.skip("changed by another run meanwhile", payment=payment, wallet=payment.wallet)
                continue
            self.record(
                ItemOutcome.DONE,
                count="accepted",
                payment=payment,
                wallet=payment.wallet,
                token=assessment.token,
                amount=assessment.held,
                reason=f"{self.note('accepted')} (received {describe(assessment.held, assessment.token)})",
            )

    def short_of_price(self, payment, assessment, holdings):
        """Why the payment cannot be accepted (``""`` when it can), from its ledger: what it kept (received
        minus refunded) is short of the price and the shortfall was not accepted explicitly, or its refunds
        left it nothing (accepting it would tell the shop to ship an order whose money went back)."""
        token = assessment.token
        price = option_price(payment, token)
        facts = facts_of(holdings.transfers or [], token, price)
        kept = facts.received - facts.refunded
        if kept >= price:
            return ""
        counted = f"received {describe(facts.received, token)}"
        if facts.refunded:
            counted += f", refunded {describe(facts.refunded, token)}"
        missing = describe(price - max(kept, 0), token)
        if kept <= 0:
            return f"refused: {counted}: nothing is kept, {missing} short of the price; a refunded payment is not accepted"
        if self.options.get("accept_short"):
            return ""
        return (
            f"refused: {counted}: the {describe(kept, token)} kept is {missing} short of the price "
            f"({describe(price, token)}); accept the shortfall explicitly to accept it anyway"
        )

    @staticmethod
    def what_happens_to_funds(payment):
        """For a cancelled payment that had received part of its price: where that money goes now."""
        if payment.exception != PaymentException.UNDERPAID or not payment.paid_token_id:
            return ""
        received = describe(payment.paid_amount or 0, payment.paid_token)
        if payment.exception in app_settings.HOLD_FLAGGED_FUNDS:
            where = "it stays in the one-time wallet (HOLD_FLAGGED_FUNDS)"
        else:
            where = "it goes to the receiver with the next sweep"
        return f"; it had received {received}: flagged underpaid, {where}; refund it from the desk"

    # -- cancel ----------------------------------------------------------------------------------------

    def cancel(self, payments):
        now = timezone.now()
        pks = [p.pk for p in payments]
        if not self.dry_run:  # the deadline is now: a late payment's window counts from the cancellation
            Payment.objects.filter(pk__in=pks, status=PaymentStatus.INITIATED, expires_at__gt=now).update(
                expires_at=now
            )
        for payment in payments:
            payment.expires_at = min(payment.expires_at, now)
        self.expirer.expire(payments)
        now_stored = {p.pk: p for p in Payment.objects.filter(pk__in=pks).select_related("paid_token")}
        for payment in payments:
            stored = now_stored[payment.pk]
            status = PaymentStatus.EXPIRED if self.dry_run else stored.status
            if status == PaymentStatus.EXPIRED:
                self.record(
                    ItemOutcome.DONE,
                    count="cancelled",
                    payment=payment,
                    wallet=payment.wallet,
                    reason=self.note("cancelled") + self.what_happens_to_funds(stored),
                )
            elif status != PaymentStatus.INITIATED:
                self.skip(
                    "not cancelled: it was paid in full on chain and is settled; refund it instead",
                    payment=payment,
                    wallet=payment.wallet,
                )
