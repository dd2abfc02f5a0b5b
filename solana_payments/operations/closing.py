"""Closing the token accounts of wallets whose payment expired, and returning their rent: shared by expire
(its closing step) and reclaim."""

from django.utils import timezone
from solders.pubkey import Pubkey

from ..amounts import format_units
from ..bulk import update_rows
from ..chain.transactions import TokenFunds, WalletFunds, build_close_ata_transactions
from ..conf import app_settings
from ..holdings import assess, read_holdings, token_program_id
from ..models import ItemOutcome, OneTimeWallet, WalletState
from .sending import LANDED, UNKNOWN, Flight, fee_shares, in_pipeline
from .settling import remember_balances
from .wallets import wallet_refs, wallet_tokens


def describe_funds(holdings, tokens):
    parts = []
    if holdings.lamports:
        parts.append(f"{format_units(holdings.lamports, 9)} SOL")
    for token in tokens:
        amount = holdings.amount_of(token) if not token.is_native else 0
        if amount:
            parts.append(f"{format_units(amount, token.decimals)} {token.symbol}")
    return ", ".join(parts)


class Closer:
    """Closes the token accounts of wallets whose payment expired, and returns their rent: for reclaim,
    expire and resolve. Its transactions go through ``signer``; funds found in a wallet about to be closed
    go to ``settler`` (the chain rule); ``claim(wallets, states, refs)`` takes the wallets for the run and
    ``batches(wallets)`` splits them into the batches that share a blockhash."""

    def __init__(self, chain, recorder, *, signer, settler, claim, batches, dry_run, pause):
        self.chain = chain
        self.recorder = recorder
        self.signer = signer
        self.settler = settler
        self.claim = claim
        self.batches = batches
        self.dry_run = dry_run
        self.pause = pause

    def close_wallets(self, wallets, holdings=None):
        """Close the token accounts of ``wallets``; ``holdings`` (by wallet pk) is what a read made just
        before found in them, otherwise they are read first. Either way a wallet is marked closed only when
        a read after the transaction landed shows it empty."""
        wallets = self.claim(wallets, [WalletState.PAYMENT_EXPIRED], wallet_refs)
        if not wallets:
            return
        for wallet in wallets:
            wallet.state = WalletState.PAYMENT_EXPIRED  # as claimed
        read_before = holdings is not None
        if not read_before:
            tokens = {w.pk: wallet_tokens(w) for w in wallets}
            if any(not t.is_native for ts in tokens.values() for t in ts):
                self.signer.prefetch_blockhash()  # asked for while the wallets are read
            holdings = self.read_wallets(wallets, tokens)
        else:
            holdings = {w.pk: holdings[w.pk] for w in wallets}
        funded, to_close, empty = [], [], []
        for wallet in wallets:
            held = holdings[wallet.pk]
            (funded if held.has_funds else to_close if held.open_token_accounts else empty).append(wallet)
        if to_close and read_before:
            self.signer.prefetch_blockhash()  # asked for while the findings are written
        self.found_funds(funded, holdings)
        self._mark_closed(empty, reason="no token account left to close")
        in_pipeline(self.batches(to_close), lambda batch: self._start_close(batch, holdings))

    def read_wallets(self, wallets, tokens):
        """What the chain holds in ``wallets`` now, by wallet pk (remembered on them)."""
        self.pause()
        holdings = read_holdings(self.chain, {w: tokens[w.pk] for w in wallets})
        if not self.dry_run:
            remember_balances(wallets, holdings)
        return holdings

    def found_funds(self, wallets, holdings):
        """Funds in a wallet about to be closed: the chain rule settles or flags its payment and hands the
        wallet to sweep, exactly as if recheck had seen them first."""
        if not wallets:
            return
        found = []
        for wallet in wallets:
            payment = getattr(wallet, "payment", None)
            held = holdings[wallet.pk]
            if payment is None:
                self.recorder.skip(
                    f"holds {describe_funds(held, wallet_tokens(wallet))} but belongs to no payment; left open",
                    count="stranded",
                    wallet=wallet,
                )
                continue
            payment.wallet = wallet
            found.append((payment, assess(payment.options.all(), held), held))
        self.settler.act_on(found, settle_count="settled")

    def _mark_closed(self, wallets, *, reason, signature="", fees=None, rents=None):
        if not wallets:
            return
        if not self.dry_run:
            for wallet in wallets:
                wallet.state = WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
                wallet.rent_reclaimed += (rents or {}).get(wallet.pk, 0)
            written = update_rows(
                OneTimeWallet,
                wallets,
                ["state", "rent_reclaimed"],
                where={"state": WalletState.PAYMENT_EXPIRED},  # never over a settlement written meanwhile
                last_activity_at=timezone.now(),
            )
            closed = {w.pk for w in wallets}
            if written != len(wallets):  # another run changed some of them meanwhile: which?
                closed = set(
                    OneTimeWallet.objects.filter(
                        pk__in=closed, state=WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
                    ).values_list("pk", flat=True)
                )
        for wallet in wallets:
            if not self.dry_run and wallet.pk not in closed:
                self.recorder.skip(
                    "changed by another run meanwhile; not marked closed", **wallet_refs(wallet)
                )
                continue
            self.recorder.record(
                ItemOutcome.DONE,
                count="closed",
                reason=reason,
                signature=signature.get(wallet.pk, "") if isinstance(signature, dict) else signature,
                fee=(fees or {}).get(wallet.pk, 0),
                rent=(rents or {}).get(wallet.pk, 0),
                **wallet_refs(wallet),
            )

    def _start_close(self, wallets, holdings):
        """Build the closing transactions of a batch and start sending them; a :class:`Flight`, or None."""
        fee_payer = self.signer.fee_payer()
        wallets = self.signer.signable(wallets, record=self.recorder.record, refs=wallet_refs)
        if not wallets:
            return None
        by_address = {w.address: w for w in wallets}
        funds = [
            WalletFunds(
                self.signer.keypairs.pop(wallet.pk),
                0,
                [
                    TokenFunds(
                        mint=Pubkey.from_string(h.token.mint),
                        token_program=token_program_id(h.token),
                        account=h.address,
                        lamports=h.lamports,
                    )
                    for h in holdings[wallet.pk].open_token_accounts
                ],
            )
            for wallet in wallets
        ]
        self.pause()
        blockhash = self.signer.latest_blockhash()
        built = build_close_ata_transactions(
            funds,
            fee_payer=fee_payer,
            recent_blockhash=blockhash.blockhash,
            priority_fee_microlamports=app_settings.PRIORITY_FEE_MICROLAMPORTS,
            max_atas_per_tx=app_settings.MAX_ATAS_PER_TX,
        )
        signatures, fees, rents = {}, {}, {}
        for tx in built:
            members = [by_address[str(address)] for address in tx.wallets]
            for wallet, fee in zip(members, fee_shares(tx.fee, len(members)), strict=True):
                signatures[wallet.pk] = tx.signature
                fees[wallet.pk] = fee
                rents[wallet.pk] = sum(h.lamports for h in holdings[wallet.pk].open_token_accounts)
        if self.dry_run:
            self._mark_closed(
                wallets,
                reason="would close token accounts",
                signature=signatures,
                fees=fees,
                rents=rents,
            )
            return None
        sending = self.signer.start_sending([tx.transaction for tx in built])
        return Flight(sending, lambda sent: self._finish_close(wallets, signatures, fees, rents, sent))

    def _finish_close(self, wallets, signatures, fees, rents, sent):
        """What came of a batch's closing transactions: a wallet is closed when a read after they landed
        shows it empty."""
        outcomes = sent.outcomes
        landed = [w for w in wallets if outcomes[signatures[w.pk]].state == LANDED]
        self.pause()
        after = read_holdings(self.chain, {w: wallet_tokens(w) for w in landed}) if landed else {}
        remember_balances(landed, after)
        verified = [w for w in landed if not after[w.pk].open_token_accounts and not after[w.pk].has_funds]
        funded = [w for w in landed if after[w.pk].has_funds]
        self.found_funds(funded, after)  # money that arrived while the accounts were being closed
        self._mark_closed(
            verified,
            reason="token accounts closed, rent reclaimed",
            signature=signatures,
            fees=fees,
            rents=rents,
        )
        accounted = {w.pk for w in verified} | {w.pk for w in funded}
        for wallet in wallets:
            if wallet.pk in accounted:
                continue
            outcome = outcomes[signatures[wallet.pk]]
            if outcome.state == LANDED:
                reason = "transaction landed but the chain still shows an account or SOL; left open"
                fee = fees[wallet.pk]
            else:
                reason = outcome.error if outcome.state != UNKNOWN else f"outcome unknown: {outcome.error}"
                fee = fees[wallet.pk] if outcome.fee_charged else 0
            self.recorder.record(
                ItemOutcome.FAILED,
                reason=reason,
                signature=signatures[wallet.pk],
                fee=fee,
                **wallet_refs(wallet),
            )
        if sent.chain_error:
            raise sent.chain_error
