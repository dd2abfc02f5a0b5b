"""The localnet's faucet after a quiet spell: the demo's "simulate customer payment" failed now and then
with HTTP 400 when the chain had not been asked anything for a minute or more."""

from solders.keypair import Keypair

from solana_payments.localnet.pytest_plugin import post_json


def test_the_faucet_works_after_the_chain_was_left_alone(localnet):
    # A quiet spell: two minutes pass (300 slots at 2.5 a second) and nobody asks the chain anything.
    # The faucet's transfer must take a blockhash of the slot the chain is at now, not of the slot it
    # last looked at, which the same request's own catching-up would make too old to be valid.
    localnet.ledger._advanced += 120  # what the monotonic clock does while the chain sits idle
    customer = Keypair().pubkey()
    status, _, body = post_json(
        localnet.url + "/localnet/airdrop", {"pubkey": str(customer), "lamports": 10**9}
    )
    assert status == 200, body
    assert localnet.get_balance(customer) == 10**9
    localnet.ledger._advanced += 120
    status, _, body = post_json(
        localnet.url + "/localnet/mint", {"mint": "USDC", "owner": str(customer), "amount": 5_000_000}
    )
    assert status == 200, body
