"""Money that reaches a wallet at an awkward moment is found, settled or flagged, and swept.

Each case runs on the localnet with real customer transfers, and ends with the money accounted for: what
customers sent equals what reached the receiver plus what is still in the one-time wallets.
"""


import pytest

from solana_payments.models import OneTimeWallet, Payment, RunStatus, WalletState
from solana_payments.operations.base import run_operation
from solana_payments.signals import payment_expired
from tests.support.payments import overdue, signals_sent

pytestmark = pytest.mark.django_db(transaction=True)

ALL_OPTIONS = {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}
FULL = {"SOL": 500_000_000, "USDC": 25_000_000, "PYUSD": 25_000_000}


@pytest.fixture
def signals():
    """Every payment_accepted / payment_flagged sent, as (name, payment pk, exception)."""
    with signals_sent(
        accepted=lambda payment, **kw: ("accepted", payment.pk, payment.exception),
        flagged=lambda payment, exception, **kw: ("flagged", payment.pk, exception),
    ) as sent:
        yield sent


def state(payment):
    payment.refresh_from_db()
    return payment.status, payment.exception, payment.wallet.state


def maintenance():
    return [run_operation(kind, trigger="schedule") for kind in ("expire", "sweep", "reclaim")]


# -- case 1: late, after expire closed the wallet ------------------------------------------------------


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_late_full_payment_after_the_wallet_was_closed_is_settled_and_swept(shop, signals, symbol):
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    assert state(payment) == ("expired", "", WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED)

    shop.pay(payment, symbol, FULL[symbol])  # a minute later the customer pays in full
    recheck = run_operation("recheck", trigger="schedule")  # the default flags: the watch finds it
    assert recheck.counts["watched"] == 1 and recheck.counts["reconciled"] == 1
    assert state(payment) == ("confirmed", "paid_late", WalletState.RECEIVED_FUNDS)
    assert signals.count(("accepted", payment.pk, "paid_late")) == 1

    maintenance()
    assert state(payment)[2] == WalletState.SENT_FUNDS
    assert shop.received(symbol) == FULL[symbol]
    shop.assert_money_conserved()
    run_operation("recheck", trigger="schedule")  # read again: nothing new, nothing sent twice
    assert signals.count(("accepted", payment.pk, "paid_late")) == 1


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_late_partial_payment_after_the_wallet_was_closed_is_flagged_and_swept(shop, signals, symbol):
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)
    run_operation("expire", trigger="schedule")
    shop.pay(payment, symbol, FULL[symbol] // 2)
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("expired", "underpaid", WalletState.RECEIVED_FUNDS)
    payment.refresh_from_db()
    assert payment.paid_amount == FULL[symbol] // 2  # what arrived is on the record
    assert ("flagged", payment.pk, "underpaid") in signals
    assert not [s for s in signals if s[0] == "accepted"]
    maintenance()
    assert shop.received(symbol) == FULL[symbol] // 2
    shop.assert_money_conserved()


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_payment_between_expires_read_and_its_closing_is_found_settled_and_swept(shop, signals, symbol):
    """Expire closes on the read it made a moment before; the customer pays in that moment."""
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)

    def pay_now(sender, payment, **kwargs):  # sent after the payment is expired, before its wallet closes
        shop.pay(payment, symbol, FULL[symbol])

    payment_expired.connect(pay_now, weak=False)
    try:
        expire = run_operation("expire", trigger="schedule")
    finally:
        payment_expired.disconnect(pay_now)
    assert expire.counts["expired"] == 1 and expire.counts["closed"] == 0
    payment.refresh_from_db()
    assert payment.wallet.state != WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED  # never closed over money

    run_operation("recheck", trigger="schedule")
    maintenance()
    assert state(payment) == ("confirmed", "paid_late", WalletState.SENT_FUNDS)
    assert signals.count(("accepted", payment.pk, "paid_late")) == 1
    assert shop.received(symbol) == FULL[symbol]
    shop.assert_money_conserved()


# -- case 2: money after a sweep ---------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_underpaid_then_swept_then_topped_up_settles_and_the_top_up_is_swept(shop, signals, symbol):
    payment = shop.new_payment(ALL_OPTIONS)
    shop.pay(payment, symbol, FULL[symbol] * 3 // 5)
    overdue(payment)
    maintenance()  # expired underpaid, swept
    assert state(payment) == ("expired", "underpaid", WalletState.SENT_FUNDS)

    shop.pay(payment, symbol, FULL[symbol] * 2 // 5)  # the customer tops up the rest
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("confirmed", "paid_late", WalletState.RECEIVED_FUNDS)
    payment.refresh_from_db()
    assert payment.paid_amount == FULL[symbol]  # swept before + held now
    assert signals.count(("accepted", payment.pk, "paid_late")) == 1

    maintenance()
    assert state(payment)[2] == WalletState.SENT_FUNDS
    assert shop.received(symbol) == FULL[symbol]
    shop.assert_money_conserved()


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_paid_again_after_the_sweep_is_flagged_and_swept_without_a_second_acceptance(shop, signals, symbol):
    payment = shop.new_payment(ALL_OPTIONS)
    shop.pay(payment, symbol, FULL[symbol])
    run_operation("recheck", trigger="schedule")
    maintenance()
    assert state(payment) == ("confirmed", "", WalletState.SENT_FUNDS)

    shop.pay(payment, symbol, FULL[symbol])  # the customer pays a second time
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("confirmed", "paid_twice", WalletState.RECEIVED_FUNDS)
    shop.pay(payment, symbol, FULL[symbol] // 10)
    maintenance()
    assert shop.received(symbol) == FULL[symbol] * 2 + FULL[symbol] // 10
    assert signals.count(("accepted", payment.pk, "")) == 1
    assert ("flagged", payment.pk, "paid_twice") in signals
    shop.assert_money_conserved()


def test_a_small_top_up_after_the_sweep_is_flagged_topped_up(shop, signals):
    payment = shop.new_payment({"USDC": "25"})
    shop.pay(payment, "USDC", 25_000_000)
    run_operation("recheck", trigger="schedule")
    maintenance()
    shop.pay(payment, "USDC", 1_000_000)
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("confirmed", "topped_up", WalletState.RECEIVED_FUNDS)
    maintenance()
    assert shop.received("USDC") == 26_000_000
    shop.assert_money_conserved()


# -- case 3: a lagging read --------------------------------------------------------------------------


def test_the_localnet_can_lag_its_finalized_view(shop):
    from solders.keypair import Keypair

    from solana_payments.chain.client import ChainClient

    account = Keypair().pubkey()
    shop.localnet.set_faults(finalized_lag_slots=10_000)
    shop.localnet.airdrop(account, 1_000_000_000)
    with ChainClient(shop.localnet.url) as chain:
        assert chain.get_balance(account, commitment="confirmed") == 1_000_000_000
        assert chain.get_balance(account, commitment="finalized") == 0
        assert chain.get_accounts([account], commitment="finalized") == [None]
    shop.localnet.set_faults(finalized_lag_slots=0)
    with ChainClient(shop.localnet.url) as chain:
        assert chain.get_balance(account, commitment="finalized") == 1_000_000_000


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_a_lagging_finalized_view_never_marks_a_settled_wallet_swept(shop, configure, symbol):
    configure(RPC_COMMITMENT="finalized", PAYMENT_ACCEPTANCE_COMMITMENT="confirmed")
    shop.localnet.set_faults(finalized_lag_slots=10_000)
    payment = shop.new_payment(ALL_OPTIONS)
    shop.pay(payment, symbol, FULL[symbol])
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("confirmed", "", WalletState.RECEIVED_FUNDS)
    sweep = run_operation("sweep", trigger="schedule")
    assert sweep.status == RunStatus.SUCCEEDED
    assert shop.received(symbol) == FULL[symbol]
    assert state(payment)[2] == WalletState.SENT_FUNDS
    shop.assert_money_conserved()


def test_a_node_that_shows_a_settled_wallet_empty_is_not_believed(shop, configure):
    """Settled on a confirmed read; then every read lags (acceptance at finalized on a lagging node)."""
    payment = shop.new_payment({"USDC": "25"})
    shop.localnet.set_faults(finalized_lag_slots=10_000)
    shop.pay(payment, "USDC", 25_000_000)
    run_operation("recheck", trigger="schedule")
    configure(PAYMENT_ACCEPTANCE_COMMITMENT="finalized")
    sweep = run_operation("sweep", trigger="schedule")
    assert any("the read lags behind the chain" in r for r in sweep.items.values_list("reason", flat=True)), (
        list(sweep.items.values_list("reason", flat=True))
    )
    assert state(payment)[2] == WalletState.RECEIVED_FUNDS  # not sent_funds: it still holds the money
    shop.localnet.set_faults(finalized_lag_slots=0)
    run_operation("sweep", trigger="schedule")
    assert shop.received("USDC") == 25_000_000
    shop.assert_money_conserved()


# -- case 4: the order of runs does not decide the customer's fate -------------------------------------


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
@pytest.mark.parametrize("first", ["reclaim", "recheck"])
def test_a_late_payment_has_the_same_outcome_whichever_run_sees_it_first(shop, signals, first, symbol):
    payment = shop.new_payment(ALL_OPTIONS)
    overdue(payment)
    run_operation("expire", trigger="schedule", dry_run=False)
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(
        state=WalletState.PAYMENT_EXPIRED  # as if its closing had not run yet
    )
    shop.pay(payment, symbol, FULL[symbol])
    run_operation(first, trigger="schedule")
    run_operation("recheck", trigger="schedule")
    assert state(payment) == ("confirmed", "paid_late", WalletState.RECEIVED_FUNDS)
    assert signals.count(("accepted", payment.pk, "paid_late")) == 1
    maintenance()
    assert shop.received(symbol) == FULL[symbol]
    shop.assert_money_conserved()


def test_recheck_by_id_settles_an_expired_payment_without_include_expired(shop):
    payment = shop.new_payment({"SOL": "0.5"})
    Payment.objects.filter(pk=payment.pk).update(status="expired", exception="paid_late")
    shop.pay(payment, "SOL", 500_000_000)
    run = run_operation("recheck", ids=[payment.pk], trigger="admin_action")
    assert state(payment)[:2] == ("confirmed", "paid_late")
    assert run.counts["reconciled"] == 1


# -- case 5: one bad wallet is one failed item ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["expire", "reclaim"])
def test_an_undecryptable_wallet_fails_alone(shop, kind):
    good, bad = shop.new_payment({"USDC": "25"}), shop.new_payment({"USDC": "25"})
    OneTimeWallet.objects.filter(pk=bad.wallet_id).update(encrypted_secret="not-a-fernet-token")
    overdue(good)
    overdue(bad)
    if kind == "reclaim":
        Payment.objects.filter(pk__in=[good.pk, bad.pk]).update(status="expired")
        OneTimeWallet.objects.filter(pk__in=[good.wallet_id, bad.wallet_id]).update(
            state=WalletState.PAYMENT_EXPIRED
        )
    run = run_operation(kind, trigger="schedule")
    assert run.status == RunStatus.PARTIAL and run.counts["failed"] == 1 and run.counts["closed"] == 1
    assert state(good)[2] == WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED
    assert state(bad)[2] == WalletState.PAYMENT_EXPIRED  # left for an operator, nothing lost
    good.wallet.refresh_from_db()
    assert good.wallet.rent_reclaimed == good.wallet.rent_paid == 2_039_280


@pytest.mark.parametrize("kind", ["recheck", "expire"])
def test_a_wallet_with_a_broken_address_fails_alone(shop, kind):
    broken, paid = shop.new_payment({"SOL": "0.5"}), shop.new_payment({"SOL": "0.5"})
    OneTimeWallet.objects.filter(pk=broken.wallet_id).update(address="not-an-address")
    shop.pay(paid, "SOL", 500_000_000)
    if kind == "expire":
        overdue(broken)
        overdue(paid)
    run = run_operation(kind, trigger="schedule")
    assert run.status == RunStatus.PARTIAL and run.counts["failed"] == 1
    assert "is not a Solana address" in run.items.get(payment=broken).reason
    assert state(paid)[0] == "confirmed"


# -- policy: holding flagged funds, and the dashboard's figures from the chain reads -------------------


def test_held_funds_stay_in_the_wallet_and_are_listed_with_exact_amounts(shop, configure, admin_client):
    configure(HOLD_FLAGGED_FUNDS=["underpaid"])
    held, normal = shop.new_payment({"USDC": "25"}), shop.new_payment({"USDC": "25"})
    shop.pay(held, "USDC", 12_345_678)
    shop.pay(normal, "USDC", 25_000_000)
    overdue(held)
    run_operation("recheck", trigger="schedule")
    expire, sweep, _ = maintenance()
    assert sweep.counts["held"] == 1
    assert "HOLD_FLAGGED_FUNDS" in sweep.items.get(wallet=held.wallet_id).reason
    assert shop.received("USDC") == 25_000_000
    assert shop.balance(held.wallet.address, "USDC") == 12_345_678

    from solana_payments.funds import funds_on_chain

    figures = funds_on_chain()
    assert figures["held"] == {"wallets": 1, "amounts": ["12.345678 USDC"]}
    page = admin_client.get("/admin/solana_payments/dashboard/").content.decode()
    assert "12.345678 USDC" in page and "?funds=held" in page
    listed = admin_client.get("/admin/solana_payments/payment/?funds=held").context["cl"].result_list
    assert [p.pk for p in listed] == [held.pk]
    shop.assert_money_conserved()


def test_stranded_funds_come_from_the_chain_reads(shop, admin_client):
    from solana_payments.funds import funds_on_chain

    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    run_operation("recheck", trigger="schedule")
    # the records claim the wallet was swept; the last read saw half a SOL in it
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(state=WalletState.SENT_FUNDS)
    assert funds_on_chain()["stranded"] == {"wallets": 1, "amounts": ["0.5 SOL"]}
    page = admin_client.get("/admin/solana_payments/dashboard/").content.decode()
    assert "?funds=stranded" in page
    run_operation("recheck", trigger="schedule")  # the watch hands it back to sweep
    maintenance()
    assert funds_on_chain()["stranded"]["wallets"] == 0
    assert shop.received("SOL") == 500_000_000


# -- a state change never overwrites one written meanwhile ---------------------------------------------


def test_reclaim_does_not_mark_closed_a_wallet_settled_meanwhile(shop):
    from solana_payments.operations.reclaim import ReclaimOperation

    payment = shop.new_payment({"SOL": "0.5"})
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(state=WalletState.PAYMENT_EXPIRED)
    wallet = OneTimeWallet.objects.get(pk=payment.wallet_id)  # read by reclaim as payment_expired
    OneTimeWallet.objects.filter(pk=wallet.pk).update(state=WalletState.RECEIVED_FUNDS)  # recheck, meanwhile
    run = run_operation("reclaim", ids=[], trigger="command")
    operation = ReclaimOperation(run, chain=None)
    operation.closer._mark_closed([wallet], reason="no token account left to close")
    operation.recorder.flush()
    assert OneTimeWallet.objects.get(pk=wallet.pk).state == WalletState.RECEIVED_FUNDS
    assert "changed by another run meanwhile" in run.items.get().reason
