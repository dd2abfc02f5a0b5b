"""refund: money sent back to the customer, in the token the payment was paid in, exactly once.

- **How much**: the ``amount`` asked for, or the suggested one (``suggested_amount``); never more than
  the wallet received in that token, less what was already refunded.
- **To whom**: the ``to`` address given, or the payer read from the chain. It must be on curve (a key
  someone holds) and not a token account. Tokens go to the destination's associated token account for
  the token's program, created in the same transaction when missing (the fee payer pays the rent, which
  is recorded).
- **From where**: the one-time wallet while it still holds the amount (claimed for the run, so no sweep
  takes it meanwhile); otherwise the refund wallet (``REFUND_WALLET_KEYPAIR``). Without one, refunds of
  money that has left the wallet are refused with the reason.
- **Exactly once**: a payment has at most one ``pending`` refund (a database constraint). The signed
  transaction is written before it is sent; the next refund run of the payment first asks the chain
  about it: landed means done, failed or expired-and-absent means over, and one that may still land is
  re-sent as the very same bytes.

Refunds out of the one-time wallet are added to its ``refunded`` ledger, which ``Holdings.received_of``
reads, so the chain rule still counts that money as received (no payment looks underpaid after a refund).
"""

import base64
import logging
from decimal import Decimal, InvalidOperation

from django import forms
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.instructions import create_idempotent_associated_token_account, transfer_checked
from spl.token.models import TransferCheckedParams

from ..amounts import to_base_units
from ..chain.accounts import RENT_EXEMPT_MINIMUM, ata_rent, is_token_program, token_account_from_account
from ..chain.commitment import status_reached
from ..chain.keypairs import parse_keypair
from ..chain.transactions import expected_fee
from ..conf import app_settings
from ..exceptions import WalletKeyError
from ..holdings import read_holdings, token_account_address, token_program_id
from ..ledger import reading as ledger_reading
from ..ledger import totals as ledger_totals
from ..ledger.facts import facts_of
from ..models import (
    ItemOutcome,
    OneTimeWallet,
    Payment,
    PaymentException,
    Refund,
    RefundSource,
    RefundStatus,
    Transfer,
    TransferKind,
    WalletState,
)
from ..signals import payment_refunded
from .base import AdminAction, Operation
from .sending import FAILED, LANDED
from .settling import describe

logger = logging.getLogger(__name__)


def clean_amount(value):
    """A refund amount in token units (a decimal string), or None for the suggested amount."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"amount {value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount must be a positive number, not {value!r}")
    return str(amount)


def clean_destination(value):
    """An address to refund to, or None for the payer: it must parse and be on curve."""
    if value in (None, ""):
        return None
    try:
        key = Pubkey.from_string(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a Solana address") from None
    if not key.is_on_curve():
        raise ValueError(
            f"{key} is off curve: no one holds a key for it (a program or token account address?); "
            "give the customer's wallet address"
        )
    return str(key)


def clean_plan(plan):
    """The approved preview's refunds: ``{payment id: {"amount": base units, "to": address}}``."""
    if not isinstance(plan, dict):
        raise ValueError("plan must map payment ids to an amount and a destination")
    cleaned = {}
    for pk, entry in plan.items():
        amount = entry.get("amount") if isinstance(entry, dict) else None
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError(
                f"plan for payment {pk}: the amount must be a positive whole number of base units"
            )
        cleaned[str(pk)] = {"amount": amount, "to": clean_destination(entry.get("to"))}
    return cleaned


def suggested_amount(payment, received, refunded):
    """What to refund when no amount is given (base units of the paid token).

    Not accepted (open or expired: underpaid, paid late) -> everything received; overpaid -> the excess
    over the amount asked; topped up or paid twice -> what arrived after it was settled; any other
    accepted payment -> up to what was paid. Always less what was already refunded.
    """
    left = max(0, received - refunded)
    if not payment.is_settled:
        return left
    if payment.exception == PaymentException.OVERPAID:
        asked = next((o.amount for o in payment.options.all() if o.token_id == payment.paid_token_id), 0)
        return min(left, max(0, received - asked - refunded))
    if payment.exception in (PaymentException.TOPPED_UP, PaymentException.PAID_TWICE):
        return min(left, max(0, received - (payment.paid_amount or 0) - refunded))
    return left


class Refused(Exception):
    """A refund this run will not send, with the reason (a skipped item)."""


def clean_request_reason(reason):
    """The requester's reason, one line of at most ``MAX_REASON_LENGTH`` characters (may be empty)."""
    from .resolve import MAX_REASON_LENGTH

    reason = " ".join(str(reason or "").split())
    if len(reason) > MAX_REASON_LENGTH:
        raise ValueError(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    return reason


def reason_length():
    from .resolve import MAX_REASON_LENGTH

    return MAX_REASON_LENGTH


class RefundForm(forms.Form):
    amount = forms.CharField(
        required=False,
        label="Amount",
        help_text="In token units. Empty: the suggested amount (see the preview).",
    )
    to = forms.CharField(
        required=False,
        label="Refund to",
        help_text="A wallet address. Empty: the payer, read from the chain.",
        widget=forms.TextInput(attrs={"size": 48}),
    )
    reason = forms.CharField(
        max_length=reason_length(),
        label="Reason",
        help_text="Required: why this refund, for the person who approves it. Recorded with the run.",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    def clean_amount(self):
        return self._cleaned(clean_amount, "amount")

    def clean_to(self):
        return self._cleaned(clean_destination, "to")

    def _cleaned(self, clean, name):
        try:
            return clean(self.cleaned_data.get(name))
        except ValueError as exc:
            message = str(exc)
            raise forms.ValidationError(message[:1].upper() + message[1:] + ".") from None


class RefundOperation(Operation):
    kind = "refund"
    order = 7
    model = "payment"
    description = "Sends money back to the payer (or a given address) in the token it was paid in, once."
    moves_money = True
    signs = True
    needs_selection = True
    option_names = ("amount", "to", "plan", "reason")
    one_open_run_per_record = True
    summary_keys = ("scanned", "refunded", "skipped", "failed")
    occasional_keys = ("recovered",)
    pinned_options = ("plan",)
    always_held = True
    held_reason = "every refund waits for a second person"
    admin_actions = (
        AdminAction(
            "refund_payments", "Refund selected payments (suggested amounts, to their payers)…", on="payment"
        ),
    )
    desk_label = "Refund"
    desk_form = RefundForm
    command_help = (
        "Refund payments in the token they were paid in: the suggested amount or --amount (token units), "
        "to the payer read from the chain or --to. From the one-time wallet while it holds the money, "
        "else from REFUND_WALLET_KEYPAIR. Exactly once."
    )

    @classmethod
    def options_from_preview(cls, preview):
        """The refunds the preview shows, pinned for the approved run: ``{payment id: {amount, to}}``."""
        items = preview.items.filter(
            outcome=ItemOutcome.WOULD_DO, payment__isnull=False, amount__isnull=False
        )
        return {"plan": {str(i.payment_id): {"amount": i.amount, "to": i.destination} for i in items}}

    @classmethod
    def add_command_arguments(cls, parser):
        parser.add_argument("--amount", help="In token units, e.g. 0.25 (default: the suggested amount).")
        parser.add_argument("--to", help="The wallet to refund to (default: the payer read from the chain).")

    @classmethod
    def command_options(cls, options):
        return {"amount": options["amount"], "to": options["to"]}

    @classmethod
    def clean_options(cls, ids, options):
        options = super().clean_options(ids, options)
        cleaned = {
            **options,
            "amount": clean_amount(options.get("amount")),
            "to": clean_destination(options.get("to")),
            "reason": clean_request_reason(options.get("reason")),  # why it was asked for, for the approver
        }
        if options.get("plan") is not None:
            cleaned["plan"] = clean_plan(options["plan"])
        return cleaned

    def eligible(self):
        return Payment.objects.filter(paid_token__isnull=False, paid_amount__gt=0).select_related(
            "wallet", "paid_token"
        )

    def ineligible_reason(self, payment):
        return "nothing was received for this payment: there is nothing to refund"

    def execute(self):
        payments = self.selection.select(["pk"])
        self.set_total(len(payments))
        self.selection.load_options(payments)
        for payment in payments:
            self.counts["scanned"] += 1
            try:
                self.refund(payment)
            except Refused as exc:
                if str(exc):
                    self.skip(str(exc), payment=payment, wallet=payment.wallet)
            self.advance()
            if self.chain_error:
                raise self.chain_error

    # -- one payment -----------------------------------------------------------------------------------

    def refund(self, payment):
        self._sent_by = ""  # what the destination sent, when the ledger chose it (for the item's reason)
        pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).first()
        if pending is not None:
            if self.dry_run:
                raise Refused(f"a refund is in flight ({pending.signature}): the run asks the chain first")
            state = self.recover(pending, payment)
            if state == LANDED and pending.run_id != self.run.pk:
                raise Refused(
                    "an earlier refund of this payment landed meanwhile (recorded above): "
                    "not refunding again in this run; check the amounts and refund again if needed"
                )
            if state != FAILED:
                return
        token = payment.paid_token
        wallet = payment.wallet
        self.pause()
        holdings = read_holdings(self.chain, {wallet: [] if token.is_native else [token]})[wallet.pk]
        refunded = ledger_totals.refunded_amount(payment)
        received = holdings.received_of(token)
        left = max(0, received - refunded)
        amount = self.amount(payment, token, received, refunded)
        if amount > left:
            raise Refused(
                f"refused: {describe(amount, token)} is more than was received and not yet refunded "
                f"({describe(left, token)}: received {describe(received, token)}, "
                f"refunded {describe(refunded, token)})"
            )
        destination = self.destination(payment, holdings, token)
        source, keypair = self.source(payment, holdings, token, amount)
        built = self.build(payment, token, amount, destination, keypair)
        if self.dry_run:
            self.record(
                ItemOutcome.DONE,
                count="refunded",
                reason=f"refund {describe(amount, token)} to {destination} from the {source.label}"
                + (f"; it sent {self._sent_by}" if self._sent_by else ""),
                token=token,
                amount=amount,
                destination=str(destination),
                fee=built["fee"],
                rent=built["rent"],
                payment=payment,
                wallet=wallet,
            )
            return
        tx = built["transaction"]
        try:
            with transaction.atomic():
                self.recheck_left_locked(payment, token, received, amount)
                refund = Refund.objects.create(
                    payment=payment,
                    run=self.run,
                    token=token,
                    amount=amount,
                    source=source,
                    destination=str(destination),
                    signature=str(tx.signatures[0]),
                    signed_transaction=base64.b64encode(bytes(tx)).decode(),
                    valid_until=built["valid_until"],
                    fee=built["fee"],
                    rent=built["rent"],
                )
        except IntegrityError:
            raise Refused("another refund of this payment is in flight") from None
        self.send_refund(refund, payment, tx)

    @staticmethod
    def recheck_left_locked(payment, token, received, amount):
        """Under the payment's row lock, in the transaction that writes the pending refund: what is left to
        refund is re-read, so two runs with the same plan never both send (``amount`` ≤ received −
        refunded − pending)."""
        now = timezone.now()
        locked = Payment.objects.filter(pk=payment.pk)
        if connection.features.has_select_for_update:
            list(locked.select_for_update().values_list("pk", flat=True))
        else:  # SQLite: the first write takes the database's write lock for the rest of the transaction
            locked.update(updated_at=now)
        in_flight = (
            Refund.objects.filter(payment=payment, status=RefundStatus.PENDING)
            .exclude(signature__in=Transfer.objects.filter(payment=payment).values("signature"))
            .aggregate(total=Sum("amount"))["total"]
        )
        committed = ledger_totals.refunded_amount(payment) + (in_flight or 0)
        left = received - committed
        if amount > left:
            raise Refused(
                f"refused: {describe(amount, token)} is more than is left to refund ({describe(max(left, 0), token)}:"
                f" received {describe(received, token)}, refunded or in flight {describe(committed, token)})"
            )

    def planned(self, payment):
        """This payment's entry in the approved plan (None when the run has no plan)."""
        plan = self.options.get("plan")
        if plan is None:
            return None
        if str(payment.pk) not in plan:
            raise Refused("not in the approved preview: nothing is refunded for it in this run")
        return plan[str(payment.pk)]

    def amount(self, payment, token, received, refunded):
        planned = self.planned(payment)
        if planned is not None:
            return planned["amount"]
        if self.options.get("amount") is None:
            amount = suggested_amount(payment, received, refunded)
            if amount <= 0:
                raise Refused(
                    f"nothing to suggest: received {describe(received, token)}, "
                    f"refunded {describe(refunded, token)}; give an amount"
                )
            return amount
        try:
            return to_base_units(
                Decimal(self.options["amount"]), token.decimals, what=f"{token.symbol} amount"
            )
        except ValueError as exc:
            raise Refused(f"refused: {exc}") from None

    def destination(self, payment, holdings, token):
        planned = self.planned(payment)
        address = (planned or {}).get("to") or self.options.get("to")
        if not address:
            address, self._sent_by = self.sender(payment, token)
        try:
            address = clean_destination(address)
        except ValueError as exc:
            raise Refused(f"refused: {exc}") from None
        self._destination_account = self.chain.get_accounts([address])[0]
        account = self._destination_account
        if account is not None and is_token_program(account.owner):
            raise Refused(f"refused: {address} is a token account, not a wallet: give its owner's address")
        return Pubkey.from_string(address)

    def sender(self, payment, token):
        """``(address, what it sent)``: the one sender of the payment's transfers in ``token`` (dust left
        out), from its transfer ledger. Several senders, or none recorded, need an explicit address."""
        book = ledger_reading.WalletBook(payment.wallet, [o.token for o in payment.options.all()], payment)
        self.pause()
        transfers = ledger_reading.sync(self.chain, [book], save=not self.dry_run)[payment.wallet_id]
        price = next((o.amount for o in payment.options.all() if o.token_id == token.pk), 0)
        facts = facts_of(transfers, token, price)
        if len(facts.all_senders) > 1:
            raise Refused(
                f"paid by several senders ({', '.join(facts.all_senders)}): give the address to refund to (--to)"
            )
        if not facts.all_senders:
            raise Refused(
                "no sender of this payment is recorded in its transfers: give the address to refund to"
            )
        sender = facts.all_senders[0]
        sent = [t for t in transfers if t.counterparty == sender and t.token_id == token.pk and not t.is_dust]
        what = "; ".join(
            f"{describe(t.amount, token)} on {t.block_time:%Y-%m-%d %H:%M:%S} UTC ({t.signature[:12]}…)"
            for t in sent
            if t.block_time is not None
        )
        return sender, what

    def source(self, payment, holdings, token, amount):
        """``(RefundSource, keypair)``: the one-time wallet while it holds the amount, else the refund wallet."""
        wallet = payment.wallet
        held = holdings.amount_of(token)
        why_not = ""
        if held < amount:
            why_not = f"the one-time wallet holds {describe(held, token)}"
        elif wallet.pending_signature:
            why_not = "a sweep of the one-time wallet is in flight"
        elif token.is_native and 0 < held - amount < RENT_EXEMPT_MINIMUM:
            why_not = "the one-time wallet would be left with less than its rent-exempt minimum"
        if not why_not:
            if not self.claim([wallet], WalletState.values, self.wallet_refs):
                raise Refused("")  # claim() recorded why
            try:
                return RefundSource.WALLET, wallet.keypair()
            except WalletKeyError as exc:  # an undecryptable key: say so, never send from elsewhere silently
                raise Refused(f"the one-time wallet's key: {exc}") from None
        if not app_settings.REFUND_WALLET_KEYPAIR:
            raise Refused(
                f"{why_not}, and no REFUND_WALLET_KEYPAIR is configured: a swept payment can be refunded "
                "only from a refund wallet"
            )
        keypair = parse_keypair(app_settings.REFUND_WALLET_KEYPAIR, name="REFUND_WALLET_KEYPAIR")
        self.pause()
        if token.is_native:
            balance = self.chain.get_balance(keypair.pubkey())
            spare = balance - RENT_EXEMPT_MINIMUM
        else:
            account = self.chain.get_accounts([token_account_address(keypair.pubkey(), token)])[0]
            decoded = token_account_from_account(account) if account is not None else None
            spare = balance = decoded.amount if decoded else 0
        if spare < amount:
            raise Refused(f"{why_not}, and the refund wallet holds only {describe(max(balance, 0), token)}")
        return RefundSource.REFUND_WALLET, keypair

    @staticmethod
    def wallet_refs(wallet):
        return {"wallet": wallet, "payment": getattr(wallet, "payment", None)}

    def build(self, payment, token, amount, destination, keypair):
        fee_payer = self.signer.fee_payer()
        source = keypair.pubkey()
        rent = 0
        if token.is_native:
            if self._destination_account is None and amount < RENT_EXEMPT_MINIMUM:
                raise Refused(
                    f"refused: {destination} does not exist yet and {describe(amount, token)} is below the "
                    "rent-exempt minimum of a new account (0.00089088 SOL)"
                )
            instructions = [
                transfer(TransferParams(from_pubkey=source, to_pubkey=destination, lamports=amount))
            ]
        else:
            mint, program = Pubkey.from_string(token.mint), token_program_id(token)
            target = token_account_address(destination, token)
            instructions = []
            self.pause()
            if self.chain.get_accounts([target])[0] is None:
                instructions.append(
                    create_idempotent_associated_token_account(fee_payer.pubkey(), destination, mint, program)
                )
                rent = ata_rent(program)
            instructions.append(
                transfer_checked(
                    TransferCheckedParams(
                        program_id=program,
                        source=token_account_address(source, token),
                        mint=mint,
                        dest=target,
                        owner=source,
                        amount=amount,
                        decimals=token.decimals,
                    )
                )
            )
        self.pause()
        blockhash = self.chain.get_latest_blockhash()
        signers = [fee_payer] if source == fee_payer.pubkey() else [fee_payer, keypair]
        message = MessageV0.try_compile(fee_payer.pubkey(), instructions, [], blockhash.blockhash)
        return {
            "transaction": VersionedTransaction(message, signers),
            "fee": expected_fee(len(signers)),
            "rent": rent,
            "valid_until": blockhash.last_valid_block_height,
        }

    # -- sending and recovery --------------------------------------------------------------------------

    def send_refund(self, refund, payment, tx, note=""):
        sent = self.signer.send_and_confirm([tx])
        self.chain_error = self.chain_error or sent.chain_error
        outcome = sent.outcomes[refund.signature]
        if outcome.state == LANDED:
            self.landed(refund, payment, note=note, slot=outcome.slot)
        elif outcome.state == FAILED:
            self.failed(refund, payment, outcome.error, fee=refund.fee if outcome.fee_charged else 0)
        else:
            self.record(
                ItemOutcome.FAILED,
                reason=f"refund sent but not confirmed ({outcome.error}); the next refund run of this "
                "payment asks the chain first",
                signature=refund.signature,
                token=refund.token,
                amount=refund.amount,
                destination=refund.destination,
                payment=payment,
                wallet=payment.wallet,
            )
        return outcome.state

    def recover(self, refund, payment):
        """Settle a refund written ahead by an earlier run; returns landed / failed / unknown."""
        self.pause()
        (status,) = self.chain.get_signature_statuses([refund.signature])
        note = "earlier transaction landed"
        if status is not None and status.err is None and status_reached(status, "confirmed"):
            self.counts["recovered"] += 1
            self.landed(refund, payment, note=note, slot=status.slot)
            return LANDED
        if status is not None and status.err is not None:
            self.failed(refund, payment, f"earlier refund failed on chain: {status.err}", fee=refund.fee)
            return FAILED
        if status is None and self.chain.get_block_height() > refund.valid_until:
            Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
                status=RefundStatus.FAILED, error="its blockhash expired before it landed"
            )
            return FAILED
        tx = VersionedTransaction.from_bytes(base64.b64decode(refund.signed_transaction))
        state = self.send_refund(refund, payment, tx, note=note)
        if state == LANDED:
            self.counts["recovered"] += 1
        return state

    def landed(self, refund, payment, note="", slot=None):
        now = timezone.now()
        with transaction.atomic():
            if not Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
                status=RefundStatus.LANDED, landed_at=now
            ):
                return
            rows = record_refund_transfer(payment, refund, slot=slot)
            payment.refunded_amount = ledger_totals.refunded_amount(payment)
            Payment.objects.filter(pk=payment.pk).update(refunded_amount=payment.refunded_amount)
            if refund.source == RefundSource.WALLET:
                wallet = OneTimeWallet.objects.select_for_update().get(pk=payment.wallet_id)
                ledger_totals.add_out(wallet, rows)
                OneTimeWallet.objects.filter(pk=wallet.pk).update(
                    refunded=wallet.refunded, last_activity_at=now
                )
                payment.wallet.refunded = wallet.refunded
            transaction.on_commit(lambda: announce_refund(payment, refund))
        source = RefundSource(refund.source).label
        reason = f"refunded {describe(refund.amount, refund.token)} to {refund.destination} from the {source}"
        if self._sent_by and not note:
            reason += f"; it sent {self._sent_by}"
        self.record(
            ItemOutcome.DONE,
            count="refunded",
            reason=f"{reason}; {note}" if note else reason,
            signature=refund.signature,
            token=refund.token,
            amount=refund.amount,
            destination=refund.destination,
            fee=refund.fee,
            rent=refund.rent,
            payment=payment,
            wallet=payment.wallet,
        )

    def failed(self, refund, payment, error, *, fee=0):
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
            status=RefundStatus.FAILED, error=error[:300], fee=fee
        )
        self.record(
            ItemOutcome.FAILED,
            reason=f"refund failed: {error}",
            signature=refund.signature,
            token=refund.token,
            amount=refund.amount,
            destination=refund.destination,
            fee=fee,
            payment=payment,
            wallet=payment.wallet,
        )


def announce_refund(payment, refund):
    for receiver, result in payment_refunded.send_robust(sender=Payment, payment=payment, refund=refund):
        if isinstance(result, Exception):
            logger.error(
                "payment_refunded receiver %r failed for payment %s: %r", receiver, payment.pk, result
            )


def record_refund_transfer(payment, refund, *, slot=None):
    """A landed refund joins the payment's transfer ledger, from the transaction the run built; returns its
    rows. A refund from the refund wallet is the payment's row too, marked as not moving the wallet."""
    tx = VersionedTransaction.from_bytes(base64.b64decode(refund.signed_transaction))
    keys = tx.message.account_keys
    book = ledger_reading.WalletBook(payment.wallet, [refund.token], payment)
    paid_from = None
    if refund.source != RefundSource.WALLET:
        owner = keys[1] if tx.message.header.num_required_signatures > 1 else keys[0]  # [0] pays the fee
        paid_from = owner if refund.token.is_native else token_account_address(owner, refund.token)
    return ledger_reading.record_sent(
        book,
        refund.signature,
        keys,
        [(refund.token, refund.amount, 0)],
        kind=TransferKind.REFUND,
        counterparty=refund.destination,
        fee=refund.fee,
        slot=slot,
        paid_from=paid_from,
    )
