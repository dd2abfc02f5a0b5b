"""reconcile: the database against the chain, for every wallet the app made (or a selection). Read-only.

Each difference is a :class:`~solana_payments.models.Difference` (and an item on the run) with its kind,
the amounts on each side and a suggested action:

| kind                   | found when                                                          | suggested            |
|------------------------|---------------------------------------------------------------------|----------------------|
| funds_in_empty_wallet  | a wallet in payment_expired / ..._wallet_closed / sent_funds holds funds | sweep, accept or refund |
| rent_mismatch          | rent paid less rent reclaimed differs from the rent of its token accounts | reclaim or investigate |
| money_missing          | a settled payment received less (held + swept + refunded) than it was settled with | investigate |
| sweep_not_landed       | a sweep item recorded done whose signature the chain does not know, or failed | investigate |
| unknown_token_account  | ``deep`` only: a token account (Token or Token-2022) of a mint the payment did not accept | refund or reclaim |

Cost without ``deep``: one ``getMultipleAccounts`` per 100 keys (a wallet and its token accounts) and one
``getSignatureStatuses`` per 256 recorded sweep signatures: about N/100 requests for N single-token wallets
(N x keys-per-wallet / 100 in general). ``deep`` adds two ``getTokenAccountsByOwner`` per wallet.

A difference stays open until a later reconcile of its wallet no longer finds it.
"""

from django.db.models import F
from solders.signature import Signature

from ..chain.accounts import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, token_account_from_account
from ..chain.commitment import status_reached
from ..holdings import NATIVE, assess, asset_key, read_holdings
from ..models import (
    QUIET_STATES,
    Difference,
    DifferenceKind,
    ItemOutcome,
    OneTimeWallet,
    OperationItem,
    PaymentStatus,
    SuggestedAction,
    WalletState,
)
from .base import AdminAction, Operation, chunked
from .wallets import wallet_refs, wallet_tokens

RENT_CHECKED_STATES = (WalletState.SENT_FUNDS, WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED)


class ReconcileOperation(Operation):
    kind = "reconcile"
    order = 8
    model = "wallet"
    description = (
        "Compares the database with the chain for every wallet (read-only) and lists each difference "
        "with a suggested action."
    )
    schedule_minutes = 24 * 60
    option_names = ("deep",)
    records_differences = True
    summary_keys = ("scanned", "agreed", "differences", "failed")
    admin_actions = (
        AdminAction(
            "reconcile_wallets", "Reconcile selected wallets with the chain (read-only)…", on="wallet"
        ),
    )
    command_help = (
        "Compare the database with the chain for every one-time wallet (or --ids): funds in wallets "
        "whose state says empty, rent, settled money, recorded sweeps; --deep also lists token accounts "
        "of mints no payment accepted. Read-only: each difference is listed with a suggested action."
    )

    @classmethod
    def add_command_arguments(cls, parser):
        parser.add_argument(
            "--deep",
            action="store_true",
            help="Also list every token account the wallets own (getTokenAccountsByOwner, both programs).",
        )

    @classmethod
    def command_options(cls, options):
        return {"deep": options["deep"]}

    @classmethod
    def clean_options(cls, ids, options):
        options = super().clean_options(ids, options)
        return {**options, "deep": bool(options.get("deep"))}

    def eligible(self):
        return OneTimeWallet.objects.select_related("payment", "payment__paid_token")

    def ineligible_reason(self, wallet):  # every wallet is eligible
        return ""

    def execute(self):
        wallets = self.selection.select([F("pk").asc()])
        self.set_total(len(wallets))
        for chunk in chunked(wallets, self.CHUNK):
            self.selection.load_options(chunk)
            self.counts["scanned"] += len(chunk)
            found = self.compare(chunk)
            if not self.dry_run:
                Difference.objects.filter(wallet__in=chunk, is_open=True).update(is_open=False)
                Difference.objects.bulk_create(found)
            differing = set()
            for difference in found:
                differing.add(difference.wallet_id)
                self.record(
                    ItemOutcome.DONE,
                    count="differences",
                    reason=f"{difference.get_kind_display()}: {difference.detail} -> {difference.suggested_action}",
                    **wallet_refs(difference.wallet),
                )
            self.counts["agreed"] += len(chunk) - len(differing)
            self.advance(len(chunk))

    def compare(self, wallets):
        tokens = {w.pk: wallet_tokens(w) for w in wallets}
        self.pause()
        holdings = read_holdings(self.chain, {w: tokens[w.pk] for w in wallets})
        found = []
        for wallet in wallets:
            held = holdings[wallet.pk]
            found += self.empty_but_holding(wallet, held)
            found += self.rent(wallet, held)
            found += self.missing(wallet, held)
        found += self.sweeps_not_landed(wallets)
        if self.options.get("deep"):
            found += self.unknown_accounts(wallets, tokens)
        return found

    def difference(self, wallet, kind, action, detail, **values):
        return Difference(
            run=self.run,
            wallet=wallet,
            payment=getattr(wallet, "payment", None),
            kind=kind,
            suggested_action=action,
            detail=detail[:300],
            **values,
        )

    # -- the checks ------------------------------------------------------------------------------------

    def empty_but_holding(self, wallet, held):
        if wallet.state not in QUIET_STATES or not held.has_funds:
            return []
        payment = getattr(wallet, "payment", None)
        action = SuggestedAction.SWEEP
        if payment is not None and payment.status == PaymentStatus.EXPIRED:
            settles = assess(payment.options.all(), held).settles
            action = SuggestedAction.ACCEPT if settles else SuggestedAction.REFUND
        return [
            self.difference(
                wallet,
                DifferenceKind.FUNDS_IN_EMPTY_WALLET,
                action,
                f"the wallet is {wallet.state}, yet holds {amount} of {asset}",
                asset=asset,
                recorded=0,
                on_chain=amount,
            )
            for asset, amount in held.balances().items()
        ]

    def rent(self, wallet, held):
        recorded = max(0, wallet.rent_paid - wallet.rent_reclaimed)
        on_chain = sum(h.lamports for h in held.open_token_accounts)
        if recorded == on_chain or not (wallet.rent_paid or wallet.state in RENT_CHECKED_STATES):
            return []
        if wallet.state in QUIET_STATES and held.has_funds:
            return []  # money arrived in it (and with it maybe an account): funds_in_empty_wallet says so
        action = SuggestedAction.RECLAIM if on_chain > recorded else SuggestedAction.INVESTIGATE
        return [
            self.difference(
                wallet,
                DifferenceKind.RENT_MISMATCH,
                action,
                f"{recorded} lamports of rent recorded as outstanding, {on_chain} in its token accounts",
                asset=NATIVE,
                recorded=recorded,
                on_chain=on_chain,
            )
        ]

    def missing(self, wallet, held):
        payment = getattr(wallet, "payment", None)
        if payment is None or not payment.is_settled or not payment.paid_token_id or not payment.paid_amount:
            return []
        token = payment.paid_token
        received = held.received_of(token)
        if received >= payment.paid_amount:
            return []
        return [
            self.difference(
                wallet,
                DifferenceKind.MONEY_MISSING,
                SuggestedAction.INVESTIGATE,
                f"settled with {payment.paid_amount}, but the wallet holds {held.amount_of(token)} and "
                f"{received - held.amount_of(token)} was swept or refunded",
                asset=asset_key(token),
                recorded=payment.paid_amount,
                on_chain=received,
            )
        ]

    def sweeps_not_landed(self, wallets):
        items = (
            OperationItem.objects.filter(
                wallet__in=wallets,
                run__kind="sweep",
                outcome=ItemOutcome.DONE,
                run__parameters__dry_run=False,
            )
            .exclude(signature="")
            .values_list("wallet_id", "signature")
            .distinct()
        )
        by_signature = {}
        for wallet_id, signature in items:
            by_signature.setdefault(signature, wallet_id)
        by_pk = {w.pk: w for w in wallets}
        found = []
        for signature in list(by_signature):
            try:
                Signature.from_string(signature)
            except ValueError:
                found.append(
                    self.difference(
                        by_pk[by_signature.pop(signature)],
                        DifferenceKind.SWEEP_NOT_LANDED,
                        SuggestedAction.INVESTIGATE,
                        "sweep recorded as done with something that is not a transaction signature",
                        account=signature[:88],
                    )
                )
        if not by_signature:
            return found
        self.pause()
        signatures = list(by_signature)
        statuses = self.chain.get_signature_statuses(signatures)
        for signature, status in zip(signatures, statuses, strict=True):
            if status is not None and status.err is None and status_reached(status, "confirmed"):
                continue
            what = (
                "unknown to the chain"
                if status is None
                else f"failed: {status.err}"
                if status.err
                else "unconfirmed"
            )
            found.append(
                self.difference(
                    by_pk[by_signature[signature]],
                    DifferenceKind.SWEEP_NOT_LANDED,
                    SuggestedAction.INVESTIGATE,
                    f"sweep transaction recorded as done is {what}",
                    account=signature,
                )
            )
        return found

    def unknown_accounts(self, wallets, tokens):
        owners = [w.address for w in wallets]
        self.pause()
        found = []
        for program in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            for wallet, accounts in zip(
                wallets, self.chain.get_token_accounts_by_owners(owners, program), strict=True
            ):
                known = {t.mint for t in tokens[wallet.pk] if not t.is_native}
                for address, account in accounts:
                    decoded = token_account_from_account(account, address)
                    if decoded is None or str(decoded.mint) in known:
                        continue
                    action = SuggestedAction.REFUND if decoded.amount else SuggestedAction.RECLAIM
                    found.append(
                        self.difference(
                            wallet,
                            DifferenceKind.UNKNOWN_TOKEN_ACCOUNT,
                            action,
                            f"holds {decoded.amount} of mint {decoded.mint}, which its payment did not accept "
                            f"({account.lamports} lamports of rent)",
                            asset=str(decoded.mint),
                            on_chain=decoded.amount,
                            account=str(address),
                        )
                    )
        return found
