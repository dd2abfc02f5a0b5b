"""Creating a new one-time wallet's token accounts on chain, paid by the fee payer."""

from solders.pubkey import Pubkey

from ..conf import app_settings
from ..exceptions import SendOutcomeUnknown, TransactionAlreadyProcessed, TransactionFailed
from .accounts import PROGRAM_BY_NAME
from .client import ChainClient, status_reached
from .keypairs import parse_keypair
from .transactions import build_create_ata_transactions


def create_token_accounts(owner, tokens, *, chain=None):
    """Create ``owner``'s ATA for each SPL ``PaymentToken`` in one transaction; returns the rent paid.

    Raises ``ChainUnavailable`` when the node cannot be reached and ``TransactionFailed`` when the
    transaction does not land, so the caller's database transaction rolls back.
    """
    mints = [(Pubkey.from_string(t.mint), PROGRAM_BY_NAME[t.token_program]) for t in tokens if t.mint]
    if not mints:
        return 0
    own_chain = chain is None
    chain = chain or ChainClient.from_settings()
    try:
        built = build_create_ata_transactions(
            owner,
            mints,
            fee_payer=parse_keypair(app_settings.FEE_PAYER_KEYPAIR),
            recent_blockhash=chain.get_latest_blockhash().blockhash,
            priority_fee_microlamports=app_settings.PRIORITY_FEE_MICROLAMPORTS,
            max_atas_per_tx=app_settings.MAX_ATAS_PER_TX,
        )
        for tx in built:
            try:
                chain.send_transaction(tx.transaction)
            except (SendOutcomeUnknown, TransactionAlreadyProcessed):
                pass  # the confirmation below tells whether it landed
        statuses = chain.confirm([tx.signature for tx in built], commitment="confirmed", timeout=30)
        for tx in built:
            status = statuses.get(tx.signature)
            if status is None or status.err is not None or not status_reached(status, "confirmed"):
                raise TransactionFailed(
                    f"creating the wallet's token accounts did not land ({getattr(status, 'err', None) or 'unconfirmed'})",
                    signature=tx.signature,
                )
        return sum(tx.rent_max for tx in built)
    finally:
        if own_chain:
            chain.close()
