"""A node far away: expire and sweep keep several requests in flight, and still move money exactly once.

The local chain's latency fault holds every request 150 ms (a provider 30 to 150 ms away), and the node
counts how many requests the run kept in flight at once. Waiting on one request at a time gives 1; a run
keeps up to ``RPC_CONCURRENCY`` (4) in flight by sending a batch's transactions together and by sending
the next batch while the one before is read again and recorded. With injected 429s as well, every
transaction still reaches the chain once and every lamport is accounted for.
"""

import pytest
from solders.pubkey import Pubkey

from solana_payments.chain.client import ChainClient
from solana_payments.holdings import token_account_address
from solana_payments.models import OneTimeWallet, Payment, RunStatus
from solana_payments.operations.base import run_operation
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db(transaction=True)

LATENCY = 0.15
SOL_AMOUNT = 500_000_000
USDC_AMOUNT = 25_000_000
FAULTS = {
    "latency only": {},
    "and 429s": {"rate_429": 0.05, "retry_after": 0, "seed": 7},  # one request in twenty refused
}
IN_FLIGHT = 3  # requests in flight on average, of the 4 RPC_CONCURRENCY allows (1 waits on one at a time)


def run_far(shop, kind, faults):
    """Run ``kind`` with the node far away (and ``faults``); returns the run and what the node saw."""
    localnet = shop.localnet
    localnet.reset_counts()
    localnet.set_faults(latency=LATENCY, **faults)
    try:
        run = run_operation(kind, trigger="command")
        seen = localnet.in_flight_stats
        served = localnet.served_counts
    finally:
        localnet.clear_faults()
    return run, seen, served


def histories(shop, addresses):
    """How many transactions touched each address (its signature history, failures left out)."""
    with ChainClient(shop.localnet.url) as chain:
        found = chain.get_signatures_for_addresses(addresses, limit=20)
    return [len([entry for entry in history if entry.err is None]) for history in found]


def assert_each_transaction_reached_the_chain_once(run, served):
    signatures = set(run.items.exclude(signature="").values_list("signature", flat=True))
    assert signatures and served.get("sendTransaction") == len(signatures)


@pytest.mark.parametrize("faults", list(FAULTS))
def test_expire_of_hundreds_keeps_requests_in_flight(shop, faults):
    count = 360
    _, keypairs = make_payments(
        count, shop.tokens, expires_in=-60, amounts={"SOL": SOL_AMOUNT, "USDC": USDC_AMOUNT}
    )
    usdc = Pubkey.from_string(shop.tokens["USDC"].mint)
    for keypair in keypairs:  # each wallet has its (empty) token account, as made at payment
        shop.localnet.mint_to(usdc, keypair.pubkey(), 0)
    fee_payer = shop.localnet.fee_payer.pubkey()
    before = shop.localnet.get_balance(fee_payer)

    run, seen, served = run_far(shop, "expire", FAULTS[faults])

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.counts["expired"] == count and run.counts["closed"] == count
    assert seen["in_flight"] >= IN_FLIGHT, seen
    assert_each_transaction_reached_the_chain_once(run, served)
    # Every account closed once, and its rent is the fee payer's, less the fees: nothing lost or made.
    rent = sum(run.items.values_list("rent", flat=True))
    assert rent == count * 2_039_280
    assert shop.localnet.get_balance(fee_payer) - before == rent - run.fees_paid
    for keypair in keypairs:
        assert shop.localnet.get_account(token_account_address(keypair.pubkey(), shop.tokens["USDC"])) is None
    assert histories(shop, [str(k.pubkey()) for k in keypairs]) == [2] * count  # made, then closed


@pytest.mark.parametrize("faults", list(FAULTS))
def test_sweep_of_hundreds_keeps_requests_in_flight(shop, faults):
    half = 270
    _, sol_wallets = make_payments(half, shop.tokens, amounts={"SOL": SOL_AMOUNT})
    _, usdc_wallets = make_payments(half, shop.tokens, amounts={"USDC": USDC_AMOUNT})
    Payment.objects.update(status="confirmed")
    OneTimeWallet.objects.update(state="received_funds")
    usdc = Pubkey.from_string(shop.tokens["USDC"].mint)
    for keypair in sol_wallets:
        shop.localnet.airdrop(keypair.pubkey(), SOL_AMOUNT)
    for keypair in usdc_wallets:
        shop.localnet.mint_to(usdc, keypair.pubkey(), USDC_AMOUNT)

    run, seen, served = run_far(shop, "sweep", FAULTS[faults])

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.counts["swept"] == 2 * half
    assert seen["in_flight"] >= IN_FLIGHT, seen
    assert_each_transaction_reached_the_chain_once(run, served)
    # Money conserved: the receiver holds exactly what the wallets held, and the wallets hold nothing.
    assert shop.received("SOL") == half * SOL_AMOUNT
    assert shop.received("USDC") == half * USDC_AMOUNT
    assert shop.in_wallets("SOL") == 0 and shop.in_wallets("USDC") == 0
    assert not OneTimeWallet.objects.exclude(state="sent_funds").exists()
    wallets = [str(k.pubkey()) for k in sol_wallets + usdc_wallets]
    assert histories(shop, wallets) == [2] * (2 * half)  # paid, then swept once
