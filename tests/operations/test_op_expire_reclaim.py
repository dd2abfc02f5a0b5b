"""expire and reclaim against the localnet, for SOL, Token and Token-2022 payments."""


import pytest

from solana_payments.holdings import token_account_address
from solana_payments.models import OperationItem, Payment, RunStatus, WalletState
from solana_payments.operations.base import run_operation
from tests.support.payments import overdue, signals_sent

pytestmark = pytest.mark.django_db(transaction=True)

ALL_OPTIONS = {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}


def fee_payer_balance(shop):
    return shop.localnet.get_balance(shop.localnet.fee_payer.pubkey())


def test_unpaid_payment_expires_and_its_wallet_is_closed_in_the_same_run(shop):
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)
    before = fee_payer_balance(shop)
    run = run_operation("expire", trigger="command")
    payment.refresh_from_db()
    wallet = payment.wallet
    assert run.status == RunStatus.SUCCEEDED
    assert (payment.status, payment.exception) == ("expired", "")
    assert wallet.state == WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
    for symbol in ("USDC", "PYUSD"):
        assert shop.localnet.get_account(token_account_address(wallet.address, shop.tokens[symbol])) is None
    assert wallet.rent_reclaimed == wallet.rent_paid == 2_039_280 + 2_074_080
    assert run.counts["expired"] == 1 and run.counts["closed"] == 1
    # the fee payer got the rent back, less the fee it paid: and the items say so
    assert fee_payer_balance(shop) - before == wallet.rent_reclaimed - run.fees_paid
    assert run.fees_paid == 10_000  # fee payer + wallet signatures


def test_paid_in_time_but_unnoticed_is_settled_without_exception(shop):
    payment = shop.new_payment(ALL_OPTIONS)
    shop.localnet.set_time_offset(-120)  # the customer paid two minutes ago
    shop.pay(payment, "PYUSD", 25_000_000)
    shop.localnet.set_time_offset(0)
    overdue(payment, minutes=1)
    run = run_operation("expire", trigger="command")
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("confirmed", "")
    assert run.counts["settled"] == 1


@pytest.mark.parametrize(
    "symbol, amount", [("SOL", 500_000_000), ("USDC", 25_000_000), ("PYUSD", 30_000_000)]
)
def test_paid_after_the_deadline_is_settled_paid_late(shop, symbol, amount):
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)
    shop.pay(payment, symbol, amount)
    run = run_operation("expire", trigger="command")
    payment.refresh_from_db()
    assert (payment.status, payment.exception, payment.paid_amount) == ("confirmed", "paid_late", amount)
    assert payment.wallet.state == WalletState.RECEIVED_FUNDS
    assert run.counts["settled"] == 1 and run.counts["closed"] == 0


def test_underpaid_expires_flagged_and_is_handed_to_sweep(shop):
    payment = shop.new_payment(ALL_OPTIONS)
    shop.pay(payment, "USDC", 5_000_000)
    overdue(payment)
    run = run_operation("expire", trigger="command")
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("expired", "underpaid")
    assert payment.wallet.state == WalletState.RECEIVED_FUNDS
    assert "holds 5 of 25 USDC" in run.items.get(payment=payment).reason
    sweep = run_operation("sweep", trigger="command")
    assert sweep.counts["swept"] == 1
    assert shop.received("USDC") == 5_000_000
    shop.assert_money_conserved()


def test_not_yet_overdue_payment_is_left_alone_and_reported_when_selected(shop):
    payment = shop.new_payment({"SOL": "1"})
    assert run_operation("expire", trigger="command").counts["scanned"] == 0
    run = run_operation("expire", ids=[payment.pk], trigger="admin_action")
    assert run.items.get().reason.startswith("deadline not reached")
    payment.refresh_from_db()
    assert payment.status == "initiated"


def test_reclaim_packs_at_least_six_wallets_per_transaction(shop):
    payments = [shop.new_payment({"USDC": "1"}) for _ in range(7)]
    for payment in payments:
        overdue(payment)
    Payment.objects.update(status="expired")
    from solana_payments.models import OneTimeWallet

    OneTimeWallet.objects.update(state=WalletState.PAYMENT_EXPIRED)
    shop.localnet.reset_counts()
    run = run_operation("reclaim", trigger="command")
    assert run.counts["closed"] == 7
    signatures = set(run.items.values_list("signature", flat=True))
    assert len(signatures) == 2  # 6 + 1
    assert shop.localnet.request_counts.get("sendTransaction") == 2
    assert OneTimeWallet.objects.filter(state=WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED).count() == 7
    assert sum(run.items.values_list("rent", flat=True)) == 7 * 2_039_280


def test_funds_arriving_after_expiry_and_before_reclaim_are_not_stranded(shop):
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)
    run_operation("expire", ids=[payment.pk], trigger="command", dry_run=False)
    payment.refresh_from_db()
    # the wallet was already closed: a customer pays anyway (their wallet re-creates the token account)
    shop.pay(payment, "USDC", 25_000_000)
    from solana_payments.models import OneTimeWallet

    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(state=WalletState.PAYMENT_EXPIRED)
    reclaim = run_operation("reclaim", trigger="command")
    payment.refresh_from_db()
    assert reclaim.counts["settled"] == 1  # the same outcome as if recheck had seen the money first
    assert reclaim.items.get().reason == "paid 25 USDC (paid late)"
    assert (payment.status, payment.exception) == ("confirmed", "paid_late")
    assert payment.wallet.state == WalletState.RECEIVED_FUNDS
    assert (
        shop.localnet.get_account(token_account_address(payment.wallet.address, shop.tokens["USDC"]))
        is not None
    )
    sweep = run_operation("sweep", trigger="command")
    assert sweep.counts["swept"] == 1
    assert shop.received("USDC") == 25_000_000
    shop.assert_money_conserved()


def test_selected_wallet_in_another_state_is_skipped_with_reason(shop):
    payment = shop.new_payment({"SOL": "1"})
    run = run_operation("reclaim", ids=[payment.wallet_id], trigger="admin_action")
    assert run.items.get().reason == "wallet is created, not payment_expired"
    assert OperationItem.objects.count() == 1


def test_reclaim_preview_plans_the_transactions_the_real_run_sends(shop):
    from solana_payments.admin.previews import planned_transactions
    from solana_payments.models import OneTimeWallet

    for _ in range(7):
        overdue(shop.new_payment({"USDC": "1"}))
    Payment.objects.update(status="expired")
    OneTimeWallet.objects.update(state=WalletState.PAYMENT_EXPIRED)
    shop.localnet.reset_counts()
    preview = run_operation("reclaim", dry_run=True, trigger="admin_action")
    assert planned_transactions(preview.items.all()) == 2
    assert shop.localnet.request_counts.get("sendTransaction") is None
    real = run_operation("reclaim", trigger="command")
    assert shop.localnet.request_counts.get("sendTransaction") == 2
    assert sorted(preview.items.values_list("wallet_id", "fee", "rent")) == sorted(
        real.items.values_list("wallet_id", "fee", "rent")
    )


def test_an_unusable_rpc_url_fails_the_run_instead_of_leaving_it_running(shop, configure):
    configure(RPC_URL="not a url")
    run = run_operation("recheck", trigger="schedule")
    assert run.status == RunStatus.FAILED and "RPC URL" in run.error


def test_payment_expired_is_signalled_on_commit(shop):
    with signals_sent(expired=lambda payment, **kw: payment.pk) as seen:
        payment = shop.new_payment({"SOL": "1"})
        overdue(payment)
        run_operation("expire", trigger="command")
    assert seen == [payment.pk]
