"""create_payment() creates the one-time wallet's token accounts on chain (CREATE_ATAS_ON_PAYMENT)."""

from decimal import Decimal

import pytest

from solana_payments.exceptions import ChainUnavailable
from solana_payments.holdings import token_account_address
from solana_payments.models import OneTimeWallet, Payment

pytestmark = pytest.mark.django_db(transaction=True)


def test_token_accounts_are_created_and_rent_recorded(shop):
    before = shop.localnet.get_balance(shop.localnet.fee_payer.pubkey())
    payment = shop.new_payment({"SOL": Decimal("1"), "USDC": Decimal("5"), "PYUSD": Decimal("5")})
    usdc = shop.localnet.get_account(token_account_address(payment.wallet.address, shop.tokens["USDC"]))
    pyusd = shop.localnet.get_account(token_account_address(payment.wallet.address, shop.tokens["PYUSD"]))
    assert usdc is not None and usdc.lamports == 2_039_280
    assert pyusd is not None and pyusd.lamports == 2_074_080
    payment.wallet.refresh_from_db()
    assert payment.wallet.rent_paid == 2_039_280 + 2_074_080
    spent = before - shop.localnet.get_balance(shop.localnet.fee_payer.pubkey())
    assert spent == payment.wallet.rent_paid + 5_000  # one transaction, the fee payer signing alone


def test_sol_only_payment_touches_no_chain(shop):
    shop.localnet.reset_counts()
    shop.new_payment({"SOL": Decimal("1")})
    assert sum(shop.localnet.request_counts.values()) == 0


def test_chain_down_leaves_no_half_made_payment(shop, configure):
    configure(RPC_URL="http://127.0.0.1:9", RPC_MAX_RETRY_SECONDS=0.5)
    with pytest.raises(ChainUnavailable):
        shop.new_payment({"USDC": Decimal("5")})
    assert not Payment.objects.exists()
    assert not OneTimeWallet.objects.exists()


def test_token_accounts_that_confirm_too_late_leave_a_wallet_for_reclaim(shop, configure):
    from solana_payments.models import WalletState
    from solana_payments.operations.base import run_operation
    from solana_payments.wallet_accounts import TokenAccountsUnconfirmed

    payer = shop.localnet.fee_payer.pubkey()
    before = shop.localnet.get_balance(payer)
    configure(CONFIRM_TIMEOUT_SECONDS=0.3)
    shop.localnet.set_faults(confirmation_delay=30)
    with pytest.raises(TokenAccountsUnconfirmed):
        shop.new_payment({"USDC": Decimal("5"), "PYUSD": Decimal("5")})
    assert not Payment.objects.exists()
    wallet = OneTimeWallet.objects.get()
    assert wallet.state == WalletState.PAYMENT_EXPIRED
    assert wallet.rent_paid == 2_039_280 + 2_074_080

    shop.localnet.clear_faults()
    run = run_operation("reclaim", trigger="command")
    wallet.refresh_from_db()
    assert run.counts["closed"] == 1
    assert wallet.state == WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
    assert wallet.rent_reclaimed == wallet.rent_paid
    assert before - shop.localnet.get_balance(payer) == 5_000 + run.fees_paid  # only the fees were spent
