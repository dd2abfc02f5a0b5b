"""Creating a new one-time wallet's token accounts on chain, paid by the fee payer."""

from solders.pubkey import Pubkey

from .chain.accounts import PROGRAM_BY_NAME
from .chain.commitment import status_reached
from .chain.keypairs import parse_keypair
from .chain.transactions import build_create_ata_transactions
from .chain_client import chain_client
from .conf import app_settings
from .exceptions import ChainUnavailable, SendOutcomeUnknown, TransactionAlreadyProcessed, TransactionFailed


class TokenAccountsUnconfirmed(TransactionFailed):
    """The transaction creating a new wallet's token accounts was sent, but did not confirm in time:
    it may still land, so the wallet's key must be kept (its rent is recovered by reclaim)."""


def create_token_accounts(owner, tokens, *, chain=None):
    """Create ``owner``'s ATA for each SPL ``PaymentToken`` in one transaction; returns the rent paid.

    Raises ``ChainUnavailable`` when the node cannot be reached before anything was sent,
    ``TransactionFailed`` when the transaction was refused or failed, and ``TokenAccountsUnconfirmed``
    when it was sent but its fate is unknown.
    """
    mints = [(Pubkey.from_string(t.mint), PROGRAM_BY_NAME[t.token_program]) for t in tokens if t.mint]
    if not mints:
        return 0
    own_chain = chain is None
    chain = chain or chain_client()
    try:
        built = build_create_ata_transactions(
            owner,
            mints,
            fee_payer=parse_keypair(app_settings.FEE_PAYER_KEYPAIR),
            recent_blockhash=chain.get_latest_blockhash().blockhash,
            priority_fee_microlamports=app_settings.PRIORITY_FEE_MICROLAMPORTS,
            max_atas_per_tx=app_settings.MAX_ATAS_PER_TX,
        )
        sent = []
        try:
            for tx in built:
                try:
                    chain.send_transaction(tx.transaction)
                except (SendOutcomeUnknown, TransactionAlreadyProcessed):
                    pass  # the confirmation below tells whether it landed
                sent.append(tx)
            statuses = chain.confirm(
                [tx.signature for tx in sent],
                commitment="confirmed",
                timeout=app_settings.CONFIRM_TIMEOUT_SECONDS,
            )
        except ChainUnavailable as exc:
            if not sent:
                raise
            raise TokenAccountsUnconfirmed(
                f"creating the wallet's token accounts: {exc}", signature=sent[0].signature
            ) from exc
        for tx in built:
            status = statuses.get(tx.signature)
            if status is not None and status.err is not None:
                raise TransactionFailed(
                    f"creating the wallet's token accounts failed on chain: {status.err}",
                    signature=tx.signature,
                )
            if status is None or not status_reached(status, "confirmed"):
                raise TokenAccountsUnconfirmed(
                    "the transaction creating the wallet's token accounts did not confirm in time",
                    signature=tx.signature,
                )
        return sum(tx.rent_max for tx in built)
    finally:
        if own_chain:
            chain.close()
