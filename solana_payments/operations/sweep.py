"""sweep: the funds of settled one-time wallets go to the merchant's receiver wallet.

Exactly once: each wallet is claimed for the run, its transaction is signed and written to the database
before it is sent (signature, signed bytes, last valid block height), and a later run first asks the chain
about a written signature: landed means done, failed or expired-and-absent means rebuild, and a
transaction that may still land is re-sent as the very same bytes, which can never move money twice.
"""

import base64
from collections import defaultdict
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from ..amounts import format_units
from ..bulk import update_rows
from ..chain.commitment import status_reached
from ..chain.transactions import (
    TokenFunds,
    WalletFunds,
    build_create_ata_transactions,
    build_sweep_transactions,
)
from ..conf import app_settings
from ..holdings import assess, asset_key, read_holdings, token_account_address, token_program_id
from ..ledger import reading as ledger_reading
from ..ledger import totals as ledger_totals
from ..models import (
    SWEEPABLE_STATES,
    ItemOutcome,
    OneTimeWallet,
    PaymentStatus,
    PaymentToken,
    Refund,
    RefundSource,
    RefundStatus,
    Transfer,
    TransferKind,
    WalletState,
)
from .base import AdminAction, Operation, chunked
from .sending import (
    FAILED,
    LANDED,
    Flight,
    fee_shares,
    in_pipeline,
)
from .settling import remember_balances
from .wallets import wallet_refs, wallet_tokens

WRITE_AHEAD_FIELDS = ["state", "pending_signature", "pending_transaction", "pending_valid_until"]


def not_ready_reason(wallet):
    """Why a wallet in a sweepable state is not swept now, or ``""`` when it is."""
    payment = getattr(wallet, "payment", None)
    if payment is None:
        return "the wallet belongs to no payment"
    if payment.status == PaymentStatus.INITIATED:
        return "checkout still in progress: the payment is not settled"
    if payment.exception and payment.exception in app_settings.HOLD_FLAGGED_FUNDS:
        return f"held: the payment is flagged {payment.exception} and HOLD_FLAGGED_FUNDS keeps such funds"
    return ""


class SweepOperation(Operation):
    kind = "sweep"
    order = 3
    model = "wallet"
    description = "Moves every SOL and token balance of settled one-time wallets to the receiver wallet."
    moves_money = True
    signs = True
    settles = True
    summary_keys = ("scanned", "swept", "skipped", "failed")
    occasional_keys = ("held", "flagged", "unswept")
    admin_actions = (
        AdminAction("sweep_payment_wallets", "Sweep the wallets of selected payments…", on="payment"),
        AdminAction("sweep_wallets", "Sweep selected wallets…", on="wallet"),
    )
    tile_figures = ("wallets_ready", "funds_waiting", "funds_held", "funds_stranded", "failed_to_send")
    command_help = (
        "Send the funds of one-time wallets in processing/failed-send states to the configured "
        "receiver wallet, several wallets per transaction."
    )
    wallet_refs = staticmethod(wallet_refs)

    def eligible(self):
        return OneTimeWallet.objects.sweepable().select_related("payment")

    def ineligible_reason(self, wallet):
        return f"wallet is {wallet.state}: only wallets in {', '.join(SWEEPABLE_STATES)} are swept"

    def __init__(self, run, chain, **kwargs):
        super().__init__(run, chain, **kwargs)
        self._sol = None  # the SOL token, read when the run starts

    def execute(self):
        self._sol = PaymentToken.objects.filter(mint__isnull=True).first()
        wallets = self.selection.select([F("pk").asc()])
        self.set_total(len(wallets))
        for chunk in chunked(wallets, self.CHUNK):
            self.selection.load_options(chunk)
            self.counts["scanned"] += len(chunk)
            ready = []
            for wallet in chunk:
                reason = not_ready_reason(wallet)
                if reason:
                    self.skip(
                        reason,
                        count="held" if reason.startswith("held") else None,
                        **self.wallet_refs(wallet),
                    )
                else:
                    ready.append(wallet)
            ready = self.claim(ready, SWEEPABLE_STATES, self.wallet_refs)
            ready = self.without_refund_in_flight(ready)
            self.refresh_written_ahead(ready)
            written_ahead = [w for w in ready if w.pending_signature]
            fresh = [w for w in ready if not w.pending_signature]
            self.sweep(self.recover(written_ahead) + fresh)
            self.advance(len(chunk))
            if self.chain_error:
                raise self.chain_error

    def send(self, transactions):
        sent = self.signer.send_and_confirm(transactions)
        self.chain_error = self.chain_error or sent.chain_error
        return sent.outcomes

    def without_refund_in_flight(self, wallets):
        """Leave out wallets whose payment has a refund out of the wallet still ``pending``: signed by a
        refund run that stopped, it may yet land, and the refund run must settle it before a sweep moves
        the money it would pay."""
        pks = [w.pk for w in wallets]
        if not pks:
            return wallets
        in_flight = set(
            Refund.objects.filter(
                payment__wallet_id__in=pks, status=RefundStatus.PENDING, source=RefundSource.WALLET
            ).values_list("payment__wallet_id", flat=True)
        )
        for wallet in wallets:
            if wallet.pk in in_flight:
                self.skip(
                    "a refund out of this wallet is still pending; left until a refund run settles it",
                    **self.wallet_refs(wallet),
                )
        return [w for w in wallets if w.pk not in in_flight]

    @staticmethod
    def refresh_written_ahead(wallets):
        """Re-read what another run may have written ahead between our read and our claim."""
        rows = OneTimeWallet.objects.filter(pk__in=[w.pk for w in wallets]).values("pk", *WRITE_AHEAD_FIELDS)
        current = {row.pop("pk"): row for row in rows}
        for wallet in wallets:
            for field, value in current[wallet.pk].items():
                setattr(wallet, field, value)

    # -- recovery of signatures written ahead by an earlier run ----------------------------------------

    def recover(self, wallets):
        """Settle what earlier runs wrote ahead; returns the wallets that still need a sweep."""
        if not wallets:
            return []
        groups = defaultdict(list)
        for wallet in wallets:
            groups[wallet.pending_signature].append(wallet)
        signatures = list(groups)
        self.pause()
        statuses = dict(zip(signatures, self.chain.get_signature_statuses(signatures), strict=True))
        landed, rebuild, resend = [], [], []
        height = None
        for signature, status in statuses.items():
            if status is not None and status.err is None and status_reached(status, "confirmed"):
                landed.append(signature)
            elif status is not None and status.err is not None:
                rebuild.append((signature, f"earlier transaction failed on chain: {status.err}"))
            elif status is not None:
                resend.append(signature)  # seen but not confirmed yet: confirm it below
            else:
                if height is None:
                    height = self.chain.get_block_height()
                valid_until = groups[signature][0].pending_valid_until
                if valid_until is not None and height > valid_until:
                    rebuild.append((signature, None))  # its blockhash expired: it can never land
                else:
                    resend.append(signature)
        if resend and not self.dry_run:
            txs = [
                VersionedTransaction.from_bytes(base64.b64decode(groups[s][0].pending_transaction))
                for s in resend
            ]
            for signature, outcome in self.send(txs).items():
                if outcome.state == LANDED:
                    landed.append(signature)
                elif outcome.state == FAILED:
                    rebuild.append((signature, outcome.error))
                else:
                    for wallet in groups[signature]:
                        self.record(
                            ItemOutcome.FAILED,
                            reason=f"earlier transaction still unconfirmed ({outcome.error}); next sweep asks again",
                            signature=signature,
                            **self.wallet_refs(wallet),
                        )
        elif resend:
            for signature in resend:
                for wallet in groups[signature]:
                    self.skip(
                        "earlier transaction may still land", signature=signature, **self.wallet_refs(wallet)
                    )
        self._record_landed_earlier(landed, groups)
        still = []
        for signature, failure in rebuild:
            for wallet in groups[signature]:
                if failure:
                    self.record(
                        ItemOutcome.FAILED, reason=failure, signature=signature, **self.wallet_refs(wallet)
                    )
                wallet.pending_signature = wallet.pending_transaction = ""
                wallet.pending_valid_until = None
                still.append(wallet)
        if still and not self.dry_run:
            update_rows(OneTimeWallet, still, WRITE_AHEAD_FIELDS)
        return still

    def _record_landed_earlier(self, signatures, groups):
        """A written-ahead transaction landed: record what it moved, from the chain's own record."""
        if not signatures:
            return
        self.pause()
        transactions = self.chain.get_transactions(signatures)
        done, transfers = [], []
        for signature, tx in zip(signatures, transactions, strict=True):
            members = groups[signature]
            fee = tx.transaction.meta.fee if tx is not None and tx.transaction.meta is not None else 0
            for wallet, share in zip(members, fee_shares(fee, len(members)), strict=True):
                moved = _moved_by(tx, wallet) if tx is not None else []
                rent = sum(r for _, _, r in moved)
                wallet.state = WalletState.SENT_FUNDS
                wallet.pending_signature = wallet.pending_transaction = ""
                wallet.pending_valid_until = None
                wallet.rent_reclaimed += rent
                if tx is not None:
                    keys = tx.transaction.transaction.message.account_keys
                    transfers += self.record_transfers(wallet, signature, keys, moved, share, slot=tx.slot)
                done.append(wallet)
                self._record_moves(wallet, signature, moved, share, rent, note="earlier transaction landed")
        if not self.dry_run:
            self.save_swept(done, transfers, WRITE_AHEAD_FIELDS + ["rent_reclaimed", "swept"])

    def save_swept(self, wallets, transfers, fields):
        """The wallets' new state and the sweep's ledger rows, in one transaction: a worker stopped between
        them cannot leave a swept wallet without its rows."""
        with transaction.atomic():
            Transfer.objects.bulk_create(transfers, ignore_conflicts=True)
            update_rows(OneTimeWallet, wallets, fields, last_activity_at=timezone.now())

    # -- a fresh sweep ---------------------------------------------------------------------------------

    def sweep(self, wallets):
        if not wallets:
            return
        tokens = {w.pk: wallet_tokens(w) for w in wallets}
        self.pause()
        # While the wallets are read: the blockhash of the first batch, and the receivers' token accounts
        # (with --sleep, one round trip after the other).
        self.signer.prefetch_blockhash()
        beside = None if self.sleep > 0 else self.chain.submit(self._read_receiver_accounts, wallets, tokens)
        holdings = read_holdings(self.chain, {w: tokens[w.pk] for w in wallets})
        if beside is None:
            self.pause()
            receiver_accounts = self._read_receiver_accounts(wallets, tokens)
        else:
            receiver_accounts = beside.result()
        empty, behind = [], []
        for wallet in wallets:
            if holdings[wallet.pk].has_funds:
                continue
            missing = self.unswept(wallet)
            if missing:
                behind.append(wallet)
                self.skip(
                    f"the node shows the wallet empty, yet {missing} of its payment was never swept: "
                    "the read lags behind the chain; left for the next run",
                    **self.wallet_refs(wallet),
                )
            elif not holdings[wallet.pk].open_token_accounts:
                empty.append(wallet)
                wallet.state = WalletState.SENT_FUNDS
                self.skip("nothing left to sweep", **self.wallet_refs(wallet))
        if not self.dry_run:
            lagging = {w.pk for w in behind}
            remember_balances([w for w in wallets if w.pk not in lagging], holdings)
            update_rows(OneTimeWallet, empty, ["state"], last_activity_at=timezone.now())
        left_out = {w.pk for w in empty} | {w.pk for w in behind}
        by_receiver = defaultdict(list)
        for wallet in wallets:
            if wallet.pk not in left_out:
                by_receiver[wallet.receiver_address or app_settings.RECEIVER_ADDRESS].append(wallet)
        # The chunk's wallets and rows are saved once, after its last batch (or its failure): until then a
        # wallet already swept is still written ahead in the database, and a worker stopped meanwhile
        # leaves it for the next sweep to find landed.
        swept = ([], [])  # the wallets changed, their ledger rows
        try:
            for receiver, group in by_receiver.items():
                receiver = Pubkey.from_string(receiver)
                unconfirmed = self._create_receiver_accounts(receiver, group, holdings, receiver_accounts)
                start = partial(
                    self._start_sweep, receiver, holdings=holdings, missing=unconfirmed, into=swept
                )
                in_pipeline(self.send_batches(group), start)
        finally:
            changed, transfers = swept
            if changed:
                self.save_swept(
                    changed,
                    transfers,
                    WRITE_AHEAD_FIELDS
                    + ["rent_reclaimed", "last_error", "swept", "last_checked_at", "balances", "holds_funds"],
                )

    def _read_receiver_accounts(self, wallets, tokens):
        """``{token account address: Account or None}`` of the receivers' token accounts for every token
        the wallets may hold. Chain calls only: it runs beside the read of the wallets."""
        addresses = {
            token_account_address(wallet.receiver_address or app_settings.RECEIVER_ADDRESS, token)
            for wallet in wallets
            for token in tokens[wallet.pk]
            if not token.is_native
        }
        addresses = list(addresses)
        return dict(zip(addresses, self.chain.get_accounts(addresses), strict=True)) if addresses else {}

    def _create_receiver_accounts(self, receiver, wallets, holdings, accounts):
        """Create the receiver's missing token accounts once, before the sweep transactions.

        Otherwise every sweep transaction would have to create them idempotently, which leaves room for
        one wallet fewer per transaction. The fee and the rent are the fee payer's and are recorded.
        ``accounts`` are the receiver's token accounts as read beside the wallets. Returns the mints whose
        account is not known to exist yet: the sweep transactions then create them idempotently, so they
        cannot fail for want of it.
        """
        mints = {
            h.token.mint: h.token for w in wallets for h in holdings[w.pk].open_token_accounts if h.amount
        }
        if not mints:
            return []
        missing = [t for t in mints.values() if accounts.get(token_account_address(receiver, t)) is None]
        if not missing:
            return []
        built = build_create_ata_transactions(
            receiver,
            [(Pubkey.from_string(t.mint), token_program_id(t)) for t in missing],
            fee_payer=self.signer.fee_payer(),
            recent_blockhash=self.signer.latest_blockhash().blockhash,
            priority_fee_microlamports=app_settings.PRIORITY_FEE_MICROLAMPORTS,
            max_atas_per_tx=app_settings.MAX_ATAS_PER_TX,
        )
        outcomes = {} if self.dry_run else self.send([tx.transaction for tx in built])
        symbols = ", ".join(t.symbol for t in missing)
        for tx in built:
            outcome = outcomes.get(tx.signature)
            if outcome is None or outcome.state == LANDED:
                self.record(
                    ItemOutcome.DONE,
                    count="receiver_accounts",
                    reason=f"created the receiver's token account ({symbols}); rent {tx.rent_max} lamports paid",
                    signature=tx.signature,
                    fee=tx.fee,
                )
            else:
                self.record(
                    ItemOutcome.FAILED,
                    reason=f"creating the receiver's token account ({symbols}): {outcome.error}",
                    signature=tx.signature,
                    fee=tx.fee if outcome.fee_charged else 0,
                )
        if self.dry_run or all(outcomes[tx.signature].state == LANDED for tx in built):
            return []
        return [Pubkey.from_string(t.mint) for t in missing]

    def _start_sweep(self, receiver, wallets, *, holdings, missing, into):
        """Sign a batch's sweep transactions, write them ahead and start sending them: a :class:`Flight`,
        or None when nothing is sent (a dry run, or no wallet whose key decrypts)."""
        funds, members = [], []
        for wallet in self.signer.signable(wallets, record=self.record, refs=self.wallet_refs):
            held = holdings[wallet.pk]
            funds.append(
                WalletFunds(
                    self.signer.keypairs.pop(wallet.pk),
                    held.lamports,
                    [
                        TokenFunds(
                            mint=Pubkey.from_string(h.token.mint),
                            token_program=token_program_id(h.token),
                            amount=h.amount,
                            decimals=h.token.decimals,
                            account=h.address,
                            lamports=h.lamports,
                        )
                        for h in held.open_token_accounts
                    ],
                )
            )
            members.append(wallet)
        if not funds:
            return None
        self.pause()
        blockhash = self.signer.latest_blockhash()
        built = build_sweep_transactions(
            funds,
            fee_payer=self.signer.fee_payer(),
            receiver=receiver,
            recent_blockhash=blockhash.blockhash,
            missing_receiver_atas=missing,
            priority_fee_microlamports=app_settings.PRIORITY_FEE_MICROLAMPORTS,
            max_atas_per_tx=app_settings.MAX_ATAS_PER_TX,
        )
        by_address = {w.address: w for w in members}
        plan = []  # (tx, [(wallet, fee share)])
        for tx in built:
            group = [by_address[str(a)] for a in tx.wallets]
            plan.append((tx, list(zip(group, fee_shares(tx.fee, len(group)), strict=True))))
        if self.dry_run:
            for tx, shares in plan:
                for wallet, fee in shares:
                    self._record_planned(wallet, holdings[wallet.pk], tx.signature, fee)
            return None
        for tx, shares in plan:
            encoded = base64.b64encode(bytes(tx.transaction)).decode("ascii")
            for wallet, _ in shares:
                wallet.state = WalletState.PROCESSING_FUNDS
                wallet.pending_signature = tx.signature
                wallet.pending_transaction = encoded
                wallet.pending_valid_until = blockhash.last_valid_block_height
        update_rows(OneTimeWallet, members, WRITE_AHEAD_FIELDS)  # write-ahead, before anything is sent
        sending = self.signer.start_sending([tx.transaction for tx, _ in plan])
        return Flight(sending, lambda sent: self._finish_sweep(plan, holdings, sent, into))

    def _finish_sweep(self, plan, holdings, sent, into):
        """What came of a batch's sweep transactions: the wallets' new state and their ledger rows, added
        to ``into`` for ``sweep`` to save; a wallet is swept when a read after its transaction landed shows
        it empty."""
        self.chain_error = self.chain_error or sent.chain_error
        outcomes = sent.outcomes
        changed, transfers = [], []
        for tx, shares in plan:
            outcome = outcomes[tx.signature]
            for wallet, fee in shares:
                if outcome.state == LANDED:
                    held = holdings[wallet.pk]
                    moved = _planned_moves(held)
                    rent = sum(h.lamports for h in held.open_token_accounts)
                    wallet.state = WalletState.SENT_FUNDS
                    wallet.pending_signature = wallet.pending_transaction = ""
                    wallet.pending_valid_until = None
                    wallet.rent_reclaimed += rent
                    wallet.last_error = ""
                    self._record_moves(wallet, tx.signature, moved, fee, rent)
                    keys = tx.transaction.message.account_keys
                    transfers += self.record_transfers(
                        wallet, tx.signature, keys, moved, fee, slot=outcome.slot
                    )
                elif outcome.state == FAILED:
                    wallet.state = WalletState.FAILED_TO_SEND_FUNDS
                    wallet.pending_signature = wallet.pending_transaction = ""
                    wallet.pending_valid_until = None
                    wallet.last_error = outcome.error[:2000]
                    self.record(
                        ItemOutcome.FAILED,
                        reason=outcome.error,
                        signature=tx.signature,
                        fee=fee if outcome.fee_charged else 0,
                        **self.wallet_refs(wallet),
                    )
                else:
                    self.record(
                        ItemOutcome.FAILED,
                        reason=f"outcome unknown ({outcome.error}); the next sweep asks the chain first",
                        signature=tx.signature,
                        **self.wallet_refs(wallet),
                    )
                changed.append(wallet)
        self.verify_empty([w for w in changed if w.state == WalletState.SENT_FUNDS], holdings)
        into[0].extend(changed)
        into[1].extend(transfers)

    def record_transfers(self, wallet, signature, account_keys, moved, fee, *, slot):
        """The sweep's rows of the wallet's transfer ledger, from the transaction the run built (or, landed
        earlier, the chain's record of it), added to the wallet's ``swept``; saved by ``save_swept``."""
        tokens = {t.mint: t for t in wallet_tokens(wallet)}
        sol = tokens.get(None) or self._sol
        moves = [(tokens.get(mint) if mint else sol, amount, rent) for mint, amount, rent in moved]
        moves = [m for m in moves if m[0] is not None]
        book = ledger_reading.WalletBook(wallet, [m[0] for m in moves], getattr(wallet, "payment", None))
        rows = ledger_reading.record_sent(
            book,
            signature,
            account_keys,
            moves,
            kind=TransferKind.SWEEP,
            counterparty=wallet.receiver_address,
            fee=fee,
            slot=slot,
            save=False,
        )
        ledger_totals.add_out(wallet, rows)
        return rows

    def verify_empty(self, wallets, before):
        """A swept wallet is ``sent_funds`` only when a read after the sweep landed shows it empty.

        Funds other than those just swept arrived meanwhile: the wallet stays to be swept again, and the
        chain rule flags its payment (topped up, paid twice). A view still showing exactly what was swept
        lags behind the transaction: the wallet is marked sent and put first in the watch's queue.
        """
        if not wallets:
            return
        self.pause()
        after = read_holdings(self.chain, {w: wallet_tokens(w) for w in wallets})
        now = timezone.now()
        arrived, lagging = [], []
        for wallet in wallets:
            held = after[wallet.pk]
            if held.has_funds and held.balances() == before[wallet.pk].balances():
                lagging.append(wallet)
                wallet.last_checked_at = None
            else:
                wallet.last_checked_at = now
                if held.has_funds:
                    wallet.state = WalletState.RECEIVED_FUNDS
                    arrived.append(wallet)
        remember_balances([w for w in wallets if w not in lagging], after, save=False)  # saved by save_swept
        for wallet in arrived:
            wallet.payment.wallet = wallet
        self.settler.act_on(
            [(w.payment, assess(w.payment.options.all(), after[w.pk]), after[w.pk]) for w in arrived]
        )

    def unswept(self, wallet):
        """What of the wallet's payment the records say is still in it (``""`` when nothing is)."""
        payment = getattr(wallet, "payment", None)
        if payment is None or not payment.paid_amount:
            return ""
        token = next((t for t in wallet_tokens(wallet) if t.pk == payment.paid_token_id), None)
        if token is None:
            return ""
        key = asset_key(token)
        missing = (
            payment.paid_amount
            - int((wallet.swept or {}).get(key, 0))
            - int((wallet.refunded or {}).get(key, 0))
        )
        return _label(token, missing, token.mint) if missing > 0 else ""

    # -- items -----------------------------------------------------------------------------------------

    def _token_for_mint(self, wallet, mint):
        for token in wallet_tokens(wallet):
            if token.mint == mint:
                return token
        return None

    def _record_moves(self, wallet, signature, moved, fee, rent, note=""):
        """One item per asset moved; the wallet's fee share and reclaimed rent sit on its first item."""
        moved = [move for move in moved if move[1]] or [(None, 0, rent)]
        for index, (mint, amount, _) in enumerate(moved):
            token = self._sol if mint is None else self._token_for_mint(wallet, mint)
            label = _label(token, amount, mint)
            reason = f"swept {label}" if amount else "closed token accounts"
            self.record(
                ItemOutcome.DONE,
                count="swept" if index == 0 else "swept_assets",
                reason=f"{reason}; {note}" if note else reason,
                signature=signature,
                token=token,
                amount=amount or None,
                fee=fee if index == 0 else 0,
                rent=rent if index == 0 else 0,
                **self.wallet_refs(wallet),
            )

    def _record_planned(self, wallet, held, signature, fee):
        rent = sum(h.lamports for h in held.open_token_accounts)
        self._record_moves(wallet, signature, _planned_moves(held), fee, rent)


def _planned_moves(held):
    moves = [(h.token.mint, h.amount, h.lamports) for h in held.open_token_accounts if h.amount]
    if held.lamports:
        moves.append((None, held.lamports, 0))
    return moves


def _label(token, amount, mint):
    if token is None:
        return f"{format_units(amount, 9)} SOL" if mint is None else f"{amount} of {mint}"
    return f"{format_units(amount, token.decimals)} {token.symbol}"


def _moved_by(tx, wallet):
    """``[(mint or None, amount, rent)]`` that ``tx`` moved out of ``wallet``, from its pre/post balances."""
    meta = tx.transaction.meta
    keys = [str(k) for k in tx.transaction.transaction.message.account_keys]
    if meta is None:
        return []
    moves = []
    post_tokens = {b.account_index: int(b.ui_token_amount.amount) for b in meta.post_token_balances or []}
    for balance in meta.pre_token_balances or []:
        if str(balance.owner) != wallet.address:
            continue
        index = balance.account_index
        amount = int(balance.ui_token_amount.amount) - post_tokens.get(index, 0)
        rent = meta.pre_balances[index] - meta.post_balances[index]
        moves.append((str(balance.mint), amount, rent))
    if wallet.address in keys:
        index = keys.index(wallet.address)
        lamports = meta.pre_balances[index] - meta.post_balances[index]
        if lamports:
            moves.append((None, lamports, 0))
    return moves
