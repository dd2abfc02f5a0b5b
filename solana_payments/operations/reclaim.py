"""reclaim: the empty token accounts of expired wallets are closed and their rent returns to the fee payer."""

from django.db.models import F
from solders.pubkey import Pubkey

from ..amounts import format_units
from ..bulk import update_rows
from ..chain.keypairs import parse_keypair
from ..chain.transactions import TokenHolding, WalletFunds, build_close_ata_transactions
from ..conf import app_settings
from ..models import ItemOutcome, OneTimeWallet, PaymentException, WalletState
from ..payments import flag_expired_payments
from .base import Operation, WalletSelectionMixin, chunked, wallet_tokens
from .holdings import read_holdings, token_program_id
from .sending import LANDED, UNKNOWN, fee_shares, send_and_confirm


def describe_funds(holdings, tokens):
    parts = []
    if holdings.lamports:
        parts.append(f"{format_units(holdings.lamports, 9)} SOL")
    for token in tokens:
        amount = holdings.amount_of(token) if not token.is_native else 0
        if amount:
            parts.append(f"{format_units(amount, token.decimals)} {token.symbol}")
    return ", ".join(parts)


class ClosingMixin:
    """Closing the token accounts of wallets whose payment expired; shared by reclaim and expire."""

    tokens_of = staticmethod(wallet_tokens)

    @staticmethod
    def wallet_refs(wallet):
        return {"wallet": wallet, "payment": getattr(wallet, "payment", None)}

    def fee_payer(self):
        if not hasattr(self, "_fee_payer"):
            self._fee_payer = parse_keypair(app_settings.FEE_PAYER_KEYPAIR)
        return self._fee_payer

    def close_wallets(self, wallets):
        wallets = self.claim(wallets, [WalletState.PAYMENT_EXPIRED], self.wallet_refs)
        if not wallets:
            return
        tokens = {w.pk: self.tokens_of(w) for w in wallets}
        self.pause()
        holdings = read_holdings(self.chain, {w: tokens[w.pk] for w in wallets})
        stranded, to_close, empty = [], [], []
        for wallet in wallets:
            held = holdings[wallet.pk]
            if held.has_funds:
                stranded.append(wallet)
            elif held.open_token_accounts:
                to_close.append(wallet)
            else:
                empty.append(wallet)
        self._hand_to_sweep(stranded, holdings, tokens)
        self._mark_closed(empty, holdings, reason="no token account left to close")
        for batch in self.send_batches(to_close):
            self._close(batch, holdings)

    def _hand_to_sweep(self, wallets, holdings, tokens):
        if not wallets:
            return
        if not self.dry_run:
            OneTimeWallet.objects.filter(
                pk__in=[w.pk for w in wallets], state=WalletState.PAYMENT_EXPIRED
            ).update(state=WalletState.RECEIVED_FUNDS)
            flag_expired_payments([w.pk for w in wallets], PaymentException.PAID_LATE)
        for wallet in wallets:
            funds = describe_funds(holdings[wallet.pk], tokens[wallet.pk])
            self.skip(
                f"stranded funds: holds {funds} after expiry; not closed, handed to sweep (paid late)",
                count="stranded",
                **self.wallet_refs(wallet),
            )

    def _mark_closed(self, wallets, holdings, *, reason, signature="", fees=None, rents=None):
        if not wallets:
            return
        if not self.dry_run:
            closed = []
            for wallet in wallets:
                wallet.state = WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
                wallet.rent_reclaimed += (rents or {}).get(wallet.pk, 0)
                closed.append(wallet)
            update_rows(OneTimeWallet, closed, ["state", "rent_reclaimed"])
        for wallet in wallets:
            self.record(
                ItemOutcome.DONE,
                count="closed",
                reason=reason,
                signature=signature.get(wallet.pk, "") if isinstance(signature, dict) else signature,
                fee=(fees or {}).get(wallet.pk, 0),
                rent=(rents or {}).get(wallet.pk, 0),
                **self.wallet_refs(wallet),
            )

    def _close(self, wallets, holdings):
        fee_payer = self.fee_payer()
        by_address = {w.address: w for w in wallets}
        funds = [
            WalletFunds(
                wallet.keypair(),
                0,
                [
                    TokenHolding(
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
        blockhash = self.chain.get_latest_blockhash()
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
                holdings,
                reason="would close token accounts",
                signature=signatures,
                fees=fees,
                rents=rents,
            )
            return
        outcomes = send_and_confirm(self, [tx.transaction for tx in built])
        landed = [w for w in wallets if outcomes[signatures[w.pk]].state == LANDED]
        self.pause()
        after = read_holdings(self.chain, {w: self.tokens_of(w) for w in landed}) if landed else {}
        verified = [w for w in landed if not after[w.pk].open_token_accounts and not after[w.pk].lamports]
        self._mark_closed(
            verified,
            holdings,
            reason="token accounts closed, rent reclaimed",
            signature=signatures,
            fees=fees,
            rents=rents,
        )
        for wallet in wallets:
            if wallet in verified:
                continue
            outcome = outcomes[signatures[wallet.pk]]
            if outcome.state == LANDED:
                reason = "transaction landed but the chain still shows an account or SOL; left open"
                fee = fees[wallet.pk]
            else:
                reason = outcome.error if outcome.state != UNKNOWN else f"outcome unknown: {outcome.error}"
                fee = fees[wallet.pk] if outcome.fee_charged else 0
            self.record(
                ItemOutcome.FAILED,
                reason=reason,
                signature=signatures[wallet.pk],
                fee=fee,
                **self.wallet_refs(wallet),
            )
        if getattr(self, "chain_error", None):
            raise self.chain_error


class ReclaimOperation(ClosingMixin, WalletSelectionMixin, Operation):
    kind = "reclaim"
    summary_keys = ("scanned", "closed", "stranded", "skipped", "failed")

    def eligible(self):
        return OneTimeWallet.objects.filter(state=WalletState.PAYMENT_EXPIRED).select_related("payment")

    def ineligible_reason(self, wallet):
        return f"wallet is {wallet.state}, not payment_expired"

    def execute(self):
        wallets = self.select([F("pk").asc()])
        self.set_total(len(wallets))
        for chunk in chunked(wallets, self.CHUNK):
            self.load_options(chunk)
            self.counts["scanned"] += len(chunk)
            self.close_wallets(chunk)
            self.advance(len(chunk))
