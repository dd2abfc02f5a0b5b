"""ChainClient against the project's local JSON-RPC node (LiteSVM) over HTTP: faults, costs, a real sweep."""

import time

import pytest
from solders.account import Account
from solders.keypair import Keypair

from solana_payments.chain.accounts import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    ata_rent,
    get_associated_token_address,
    token_account_from_account,
)
from solana_payments.chain.client import ChainClient
from solana_payments.chain.commitment import status_reached
from solana_payments.chain.transactions import (
    TokenFunds,
    WalletFunds,
    build_close_ata_transactions,
    build_create_ata_transactions,
    build_sweep_transactions,
)
from solana_payments.exceptions import (
    ChainUnavailable,
    SendOutcomeUnknown,
    TransactionAlreadyProcessed,
    TransactionFailed,
)

localnet_module = pytest.importorskip(
    "solana_payments.localnet", reason="the localnet package is not there yet"
)
start_localnet = localnet_module.start_localnet

SYSTEM_PROGRAM = "11111111111111111111111111111111"


@pytest.fixture
def chain(localnet):
    with ChainClient(localnet.url, max_retry_seconds=30, concurrency=4, timeout=10) as client:
        yield client


def token_accounts(chain, addresses):
    """The decoded token accounts at ``addresses``, read in one batch."""
    return [
        token_account_from_account(a, k)
        for k, a in zip(addresses, chain.get_accounts(addresses), strict=True)
    ]


@pytest.fixture
def quick_backoff(monkeypatch):
    monkeypatch.setattr("solana_payments.chain.transport.BACKOFF_BASE", 0.02)


def seed_wallets(localnet, count):
    """``count`` addresses, every third one missing, the others holding 1,000,000 + index lamports."""
    from solders.pubkey import Pubkey

    keys = [Keypair().pubkey() for _ in range(count)]
    owner = Pubkey.from_string(SYSTEM_PROGRAM)
    expected = []
    for index, key in enumerate(keys):
        if index % 3 == 0:
            expected.append(None)
            continue
        localnet.set_account(key, Account(1_000_000 + index, b"", owner))
        expected.append(1_000_000 + index)
    return keys, expected


def test_reading_1000_wallets_costs_at_most_10_calls(localnet, chain):
    keys, expected = seed_wallets(localnet, 1000)
    localnet.reset_counts()
    accounts = chain.get_accounts(keys)
    assert [a.lamports if a else None for a in accounts] == expected
    assert localnet.request_counts == {"getMultipleAccounts": 10}
    assert chain.stats.calls_by_method == {"getMultipleAccounts": 10}
    assert chain.stats.requests == 10 and chain.stats.retries == 0


def test_1000_reads_under_429_and_5xx_faults_return_the_right_data(localnet, chain, quick_backoff):
    keys, expected = seed_wallets(localnet, 1000)
    localnet.reset_counts()
    localnet.set_faults(rate_429=0.2, retry_after=0.3, rate_5xx=0.15, status_5xx=503, seed=11)
    started = time.monotonic()
    accounts = chain.get_accounts(keys)
    elapsed = time.monotonic() - started
    assert [a.lamports if a else None for a in accounts] == expected
    faults = localnet.fault_counts
    injected = faults.get("rate_429", 0) + faults.get("rate_5xx", 0)
    assert injected >= 1, faults
    assert chain.stats.retries == injected
    assert chain.stats.errors == injected
    assert chain.stats.rate_limited == faults.get("rate_429", 0)
    assert (
        chain.stats.calls_by_method["getMultipleAccounts"] == localnet.request_counts["getMultipleAccounts"]
    )
    assert chain.stats.requests == 10 + injected
    assert elapsed < 20


def test_unhealthy_node_answers_are_retried(localnet, chain, quick_backoff):
    localnet.set_faults(rate_unhealthy=1, max_faults=2)
    assert chain.call("getSlot") > 0
    assert chain.stats.retries == 2 and localnet.request_counts["getSlot"] == 3


def test_endpoint_down_raises_chain_unavailable_within_the_bound():
    node = start_localnet(port=0)
    url = node.url
    node.stop()
    with ChainClient(url, max_retry_seconds=1.0, timeout=2) as client:
        started = time.monotonic()
        with pytest.raises(ChainUnavailable) as info:
            client.get_accounts([Keypair().pubkey() for _ in range(150)])
        elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert info.value.attempts >= 2 and client.stats.retries >= 1
    assert url.split("//")[1].split("/")[0] in str(info.value)


def test_reads_mints_balances_blockhash_and_health(localnet, chain):
    usdc, pyusd = chain.get_mints([localnet.mints["USDC"], str(localnet.mints["PYUSD"])])
    assert (usdc.token_program, usdc.decimals) == (TOKEN_PROGRAM_ID, 6)
    assert (pyusd.token_program, pyusd.decimals) == (TOKEN_2022_PROGRAM_ID, 6)
    wallet = Keypair().pubkey()
    assert chain.get_balance(wallet) == 0
    localnet.airdrop(wallet, 1_500_000)
    assert chain.get_balance(wallet) == 1_500_000
    assert chain.call("getMinimumBalanceForRentExemption", [0]) == 890_880
    assert chain.call("getMinimumBalanceForRentExemption", [170]) == 2_074_080
    latest = chain.get_latest_blockhash()
    assert latest.last_valid_block_height > 0
    health = chain.health()
    assert health.ok and health.slot > 0 and health.latency_seconds < 5


def test_histories_and_transactions_concurrently(localnet, chain):
    wallets = [Keypair().pubkey() for _ in range(5)]
    signatures = {}
    for index, wallet in enumerate(wallets):
        signatures[wallet] = [localnet.airdrop(wallet, 1_000_000 + index + n) for n in range(index % 2 + 1)]
    histories = chain.get_signatures_for_addresses(wallets, limit=10)
    for wallet, history in zip(wallets, histories, strict=True):
        assert [str(e.signature) for e in history] == list(reversed(signatures[wallet]))
    first = [history[-1].signature for history in histories]
    transactions = chain.get_transactions(first)
    assert [str(tx.transaction.transaction.signatures[0]) for tx in transactions] == [str(s) for s in first]
    assert all(tx.transaction.meta.err is None for tx in transactions)
    assert chain.stats.calls_by_method["getSignaturesForAddress"] == 5
    assert chain.stats.calls_by_method["getTransaction"] == 5


def fund_wallets(localnet):
    """Eleven one-time wallets: SOL only, USDC (Token) only, PYUSD (Token-2022) only, and everything."""
    usdc, pyusd = localnet.mints["USDC"], localnet.mints["PYUSD"]
    funded = []
    for index in range(11):
        keypair = Keypair()
        kind = index % 4
        if kind in (0, 3):
            localnet.airdrop(keypair.pubkey(), 2_000_000 + index)
        if kind in (1, 3):
            localnet.mint_to("USDC", keypair.pubkey(), 1_000_000 + index)
        if kind in (2, 3):
            localnet.mint_to("PYUSD", keypair.pubkey(), 3_000_000 + index)
        funded.append(keypair)
    return usdc, pyusd, funded


def read_sweep_inputs(chain, keypairs, mints):
    """What a sweep run does first: one batched read of every wallet and every token account."""
    programs = dict(zip(mints, chain.get_mints(mints), strict=True))
    addresses = []
    for keypair in keypairs:
        addresses.append(keypair.pubkey())
        for mint, info in programs.items():
            addresses.append(get_associated_token_address(keypair.pubkey(), mint, info.token_program))
    accounts = dict(zip(addresses, chain.get_accounts(addresses), strict=True))
    wallets = []
    for keypair in keypairs:
        system = accounts[keypair.pubkey()]
        tokens = []
        for mint, info in programs.items():
            address = get_associated_token_address(keypair.pubkey(), mint, info.token_program)
            account = accounts[address]
            if account is not None:
                token = token_account_from_account(account, address)
                tokens.append(
                    TokenFunds(
                        mint, info.token_program, token.amount, info.decimals, address, account.lamports
                    )
                )
        wallets.append(WalletFunds(keypair, system.lamports if system else 0, tokens))
    return programs, wallets


def test_sweep_send_and_confirm_end_to_end(localnet, chain):
    usdc, pyusd, keypairs = fund_wallets(localnet)
    fee_payer = localnet.fee_payer
    receiver = Keypair().pubkey()
    programs, wallets = read_sweep_inputs(chain, keypairs, [usdc, pyusd])
    receiver_atas = {
        mint: get_associated_token_address(receiver, mint, info.token_program)
        for mint, info in programs.items()
    }
    existing = chain.get_accounts(list(receiver_atas.values()))
    missing = [
        mint for (mint, _), account in zip(receiver_atas.items(), existing, strict=True) if account is None
    ]
    assert set(missing) == {usdc, pyusd}

    payer_before = chain.get_balance(fee_payer.pubkey())
    built = build_sweep_transactions(
        wallets,
        fee_payer=fee_payer,
        receiver=receiver,
        recent_blockhash=chain.get_latest_blockhash().blockhash,
        missing_receiver_atas=missing,
        priority_fee_microlamports=0,
    )
    assert len(built) >= 2
    assert sorted(str(w) for item in built for w in item.wallets) == sorted(str(k.pubkey()) for k in keypairs)
    signatures = [chain.send_transaction(item.transaction) for item in built]
    assert signatures == [item.signature for item in built]
    statuses = chain.confirm(signatures, commitment="confirmed", timeout=20)
    assert all(status_reached(s, "confirmed") and s.err is None for s in statuses.values())

    expected_sol = sum(w.lamports for w in wallets)
    expected_usdc = sum(t.amount for w in wallets for t in w.tokens if t.mint == usdc)
    expected_pyusd = sum(t.amount for w in wallets for t in w.tokens if t.mint == pyusd)
    assert chain.get_balance(receiver) == expected_sol
    receiver_tokens = token_accounts(chain, [receiver_atas[usdc], receiver_atas[pyusd]])
    assert [t.amount for t in receiver_tokens] == [expected_usdc, expected_pyusd]
    leftovers = chain.get_accounts(
        [k.pubkey() for k in keypairs] + [a for w in wallets for a in (t.account for t in w.tokens)]
    )
    assert leftovers == [None] * len(leftovers)

    fees = sum(item.fee for item in built)
    rent_back = sum(item.rent_reclaimed for item in built)
    rent_paid = ata_rent(TOKEN_PROGRAM_ID) + ata_rent(TOKEN_2022_PROGRAM_ID)
    assert chain.get_balance(fee_payer.pubkey()) == payer_before - fees + rent_back - rent_paid
    (tx,) = chain.get_transactions(signatures[:1])
    assert tx.transaction.meta.fee == built[0].fee


def test_lost_send_response_is_not_resent_and_the_signature_tells(localnet, chain):
    fee_payer = localnet.fee_payer
    wallet = Keypair()
    localnet.airdrop(wallet.pubkey(), 5_000_000)
    receiver = Keypair().pubkey()
    [item] = build_sweep_transactions(
        [WalletFunds(wallet, 5_000_000)],
        fee_payer=fee_payer,
        receiver=receiver,
        recent_blockhash=chain.get_latest_blockhash().blockhash,
        priority_fee_microlamports=0,
    )
    localnet.set_faults(lose_send_response=1, max_faults=1)
    with pytest.raises(SendOutcomeUnknown) as info:
        chain.send_transaction(item.transaction)
    assert info.value.signature == item.signature
    assert localnet.request_counts["sendTransaction"] == 1
    statuses = chain.confirm([item.signature], timeout=10)
    assert status_reached(statuses[item.signature], "confirmed")
    assert chain.get_balance(receiver) == 5_000_000
    with pytest.raises(TransactionAlreadyProcessed):
        chain.send_transaction(item.transaction)
    assert chain.get_balance(receiver) == 5_000_000


def test_preflight_failure_carries_logs(localnet, chain):
    wallet = Keypair()
    localnet.airdrop(wallet.pubkey(), 2_000_000)
    [item] = build_sweep_transactions(
        [WalletFunds(wallet, 1_500_000)],
        fee_payer=localnet.fee_payer,
        receiver=Keypair().pubkey(),
        recent_blockhash=chain.get_latest_blockhash().blockhash,
        priority_fee_microlamports=0,
    )
    with pytest.raises(TransactionFailed) as info:
        chain.send_transaction(item.transaction)
    assert info.value.signature == item.signature
    assert info.value.err is not None and "InsufficientFundsForRent" in str(info.value.err)


def test_create_then_close_atas_over_http(localnet, chain):
    owner = Keypair()
    mints = [(localnet.mints["USDC"], TOKEN_PROGRAM_ID), (localnet.mints["PYUSD"], TOKEN_2022_PROGRAM_ID)]
    [create] = build_create_ata_transactions(
        owner.pubkey(),
        mints,
        fee_payer=localnet.fee_payer,
        recent_blockhash=chain.get_latest_blockhash().blockhash,
        priority_fee_microlamports=0,
    )
    chain.send_transaction(create.transaction)
    assert chain.confirm([create.signature], timeout=10)[create.signature].err is None
    tokens = token_accounts(chain, create.created_accounts)
    assert [t.owner for t in tokens] == [owner.pubkey()] * 2 and [t.amount for t in tokens] == [0, 0]

    payer_before = chain.get_balance(localnet.fee_payer.pubkey())
    [close] = build_close_ata_transactions(
        [WalletFunds(owner, tokens=[TokenFunds(m, p) for m, p in mints])],
        fee_payer=localnet.fee_payer,
        recent_blockhash=chain.get_latest_blockhash().blockhash,
        priority_fee_microlamports=0,
    )
    chain.send_transaction(close.transaction)
    assert chain.confirm([close.signature], timeout=10)[close.signature].err is None
    assert chain.get_accounts(create.created_accounts) == [None, None]
    assert chain.get_balance(localnet.fee_payer.pubkey()) == payer_before + close.rent_reclaimed - close.fee
