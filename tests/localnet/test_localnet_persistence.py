"""A saved localnet ledger loads back with its accounts, balances and history."""

from solders.keypair import Keypair

from solana_payments.chain.accounts import token_account_from_account
from solana_payments.chain.client import ChainClient
from solana_payments.localnet import persistence, start_localnet


def test_save_and_load_keep_accounts_history_and_slot(tmp_path):
    customer = Keypair()
    first = start_localnet()
    try:
        airdrop = first.airdrop(customer.pubkey(), 2_000_000_000)
        first.mint_to("PYUSD", customer.pubkey(), 7_000_000)
        slot = first.slot
        persistence.save(first.ledger, tmp_path / "chain.pickle")
    finally:
        first.stop()

    second = start_localnet()
    try:
        persistence.load(second.ledger, tmp_path / "chain.pickle")
        assert second.slot >= slot
        with ChainClient(second.url) as chain:
            assert chain.get_balance(customer.pubkey()) == 2_000_000_000
            ata = second.ata(customer.pubkey(), "PYUSD")
            (account,) = chain.get_accounts([ata])
            assert token_account_from_account(account, ata).amount == 7_000_000
            (history,) = chain.get_signatures_for_addresses([customer.pubkey()])
            assert str(history[-1].signature) == airdrop
            (transaction,) = chain.get_transactions([airdrop])
            assert transaction.transaction.meta.post_balances
        second.airdrop(customer.pubkey(), 1)  # the restored chain keeps working
    finally:
        second.stop()
