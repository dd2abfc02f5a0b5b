"""sweep against the localnet: funds reach the receiver once, packed, with every lamport accounted for."""

import base64

import pytest
from solders.hash import Hash

from solana_payments.chain.transactions import WalletFunds, build_sweep_transactions
from solana_payments.models import ItemOutcome, OneTimeWallet, Payment, RunStatus, WalletState
from solana_payments.operations.base import run_operation

pytestmark = pytest.mark.django_db(transaction=True)

AMOUNTS = {"SOL": 500_000_000, "USDC": 25_000_000, "PYUSD": 25_000_000}


def settled_payments(shop, symbols, *, single_option=False):
    payments = []
    for symbol in symbols:
        options = (
            {symbol: "0.5" if symbol == "SOL" else "25"}
            if single_option
            else {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}
        )
        payment = shop.new_payment(options)
        shop.pay(payment, symbol, AMOUNTS[symbol])
        payments.append(payment)
    run_operation("recheck", trigger="command")
    return payments


def fee_payer(shop):
    return shop.localnet.get_balance(shop.localnet.fee_payer.pubkey())


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_each_path_reaches_the_receiver(shop, symbol):
    (payment,) = settled_payments(shop, [symbol])
    before = fee_payer(shop)
    run = run_operation("sweep", trigger="command")
    payment.wallet.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.counts["swept"] == 1
    assert payment.wallet.state == WalletState.SENT_FUNDS
    assert payment.wallet.pending_signature == ""
    assert shop.received(symbol) == AMOUNTS[symbol]
    assert shop.in_wallets(symbol) == 0
    shop.assert_money_conserved()
    # both token accounts were closed and their rent returned; the receiver's ATA was created if needed
    assert payment.wallet.rent_reclaimed == payment.wallet.rent_paid
    receiver_ata_rent = 0 if symbol == "SOL" else {"USDC": 2_039_280, "PYUSD": 2_074_080}[symbol]
    assert fee_payer(shop) - before == payment.wallet.rent_reclaimed - run.fees_paid - receiver_ata_rent
    item = run.items.get(token__symbol=symbol)
    assert item.amount == AMOUNTS[symbol] and item.signature
    assert shop.outgoing_sweeps(payment.wallet) == 1


def test_many_wallets_are_packed_and_never_swept_twice(shop):
    payments = settled_payments(shop, ["SOL"] * 10 + ["USDC"] * 7, single_option=True)
    first = run_operation("sweep", trigger="command")
    second = run_operation("sweep", trigger="command")
    assert first.counts["swept"] == 17 and second.counts["scanned"] == 0
    signatures = {s for s in first.items.values_list("signature", flat=True)}
    assert len(signatures) <= 2 + 2  # ceil(10/9) + ceil(7/6)
    assert shop.received("SOL") == 10 * AMOUNTS["SOL"] and shop.received("USDC") == 7 * AMOUNTS["USDC"]
    for payment in payments:
        assert shop.outgoing_sweeps(payment.wallet) == 1
    shop.assert_money_conserved()
    # every wallet signs once, the fee payer once per transaction; the items add up to the fees paid
    fees = list(first.items.values_list("fee", flat=True))
    assert sum(fees) == first.fees_paid == 5_000 * (17 + len(signatures))


def test_checkout_in_progress_is_left_alone(shop):
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", AMOUNTS["SOL"])
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(state=WalletState.PROCESSING_PAYMENT)
    run = run_operation("sweep", trigger="command")
    item = run.items.get()
    assert item.outcome == ItemOutcome.SKIPPED
    assert item.reason.startswith("checkout still in progress")
    assert shop.received("SOL") == 0
    payment.refresh_from_db()
    assert payment.status == "initiated"


def test_dry_run_previews_exactly_what_the_real_run_does(shop):
    settled_payments(shop, ["SOL", "USDC", "PYUSD"])
    preview = run_operation("sweep", dry_run=True, trigger="admin_action")
    assert shop.received("SOL") == 0
    assert set(OneTimeWallet.objects.values_list("state", flat=True)) == {WalletState.RECEIVED_FUNDS}
    real = run_operation("sweep", trigger="command")
    fields = ("wallet_id", "token_id", "amount", "fee", "rent")

    def rows(run):
        return sorted(run.items.values_list(*fields), key=lambda row: [(v is None, v or 0) for v in row])

    assert rows(preview) == rows(real)
    assert real.items.filter(wallet=None).get().reason.startswith("created the receiver's token account")
    assert set(preview.items.values_list("outcome", flat=True)) == {ItemOutcome.WOULD_DO}


def test_lost_response_then_rerun_does_not_double_send(shop, configure):
    (payment,) = settled_payments(shop, ["USDC"])
    configure(CONFIRM_TIMEOUT_SECONDS=0.3)
    shop.localnet.set_faults(lose_send_response=1.0, confirmation_delay=30, methods=("sendTransaction",))
    first = run_operation("sweep", trigger="command")
    wallet = OneTimeWallet.objects.get(pk=payment.wallet_id)
    assert first.status == RunStatus.PARTIAL
    assert wallet.state == WalletState.PROCESSING_FUNDS and wallet.pending_signature
    written = wallet.pending_signature
    assert first.items.get(wallet=wallet).signature == written

    shop.localnet.clear_faults()
    second = run_operation("sweep", trigger="command")
    wallet.refresh_from_db()
    assert second.status == RunStatus.SUCCEEDED
    assert wallet.state == WalletState.SENT_FUNDS and wallet.pending_signature == ""
    item = second.items.get(token__symbol="USDC")
    assert (item.signature, item.amount) == (written, AMOUNTS["USDC"])
    assert item.fee == 10_000 and item.rent == 2_039_280 + 2_074_080
    assert shop.outgoing_sweeps(wallet) == 1
    assert shop.received("USDC") == AMOUNTS["USDC"]
    shop.assert_money_conserved()


def test_expired_unsent_write_ahead_is_rebuilt(shop):
    (payment,) = settled_payments(shop, ["SOL"])
    # a worker signed the sweep, wrote it ahead and died before sending; its blockhash has since expired
    (written,) = build_sweep_transactions(
        [WalletFunds(payment.wallet.keypair(), AMOUNTS["SOL"])],
        fee_payer=shop.localnet.fee_payer,
        receiver=shop.receiver,
        recent_blockhash=Hash.default(),
    )
    ghost = written.transaction
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(
        state=WalletState.PROCESSING_FUNDS,
        pending_signature=str(ghost.signatures[0]),
        pending_transaction=base64.b64encode(bytes(ghost)).decode(),
        pending_valid_until=0,
    )
    run = run_operation("sweep", trigger="command")
    payment.wallet.refresh_from_db()
    assert run.counts["swept"] == 1
    assert payment.wallet.state == WalletState.SENT_FUNDS
    assert shop.received("SOL") == AMOUNTS["SOL"]
    assert shop.outgoing_sweeps(payment.wallet) == 1


def test_unsettled_selected_wallet_is_skipped(shop):
    payment = shop.new_payment({"SOL": "1"})
    run = run_operation("sweep", ids=[payment.wallet_id], trigger="admin_action")
    assert "only wallets in" in run.items.get().reason
    assert Payment.objects.get().status == "initiated"


def test_a_signature_written_ahead_after_the_read_is_still_checked_first(shop, monkeypatch):
    """Another run writes a signature ahead between this run's read and its claim: this run must ask the
    chain about it rather than sweep the wallet afresh."""
    from solana_payments.operations import sweep as sweep_module

    (payment,) = settled_payments(shop, ["SOL"])
    (written,) = build_sweep_transactions(
        [WalletFunds(payment.wallet.keypair(), AMOUNTS["SOL"])],
        fee_payer=shop.localnet.fee_payer,
        receiver=shop.receiver,
        recent_blockhash=shop.localnet.ledger.latest_blockhash()[0],
    )
    real_claim = sweep_module.SweepOperation.claim

    def claim_after_another_run_wrote_ahead(self, wallets, states, refs):
        OneTimeWallet.objects.filter(pk=payment.wallet_id).update(
            state=WalletState.PROCESSING_FUNDS,
            pending_signature=written.signature,
            pending_transaction=base64.b64encode(bytes(written.transaction)).decode(),
            pending_valid_until=shop.localnet.block_height + 150,
        )
        return real_claim(self, wallets, states, refs)

    monkeypatch.setattr(sweep_module.SweepOperation, "claim", claim_after_another_run_wrote_ahead)
    run = run_operation("sweep", trigger="command")
    item = run.items.get(token__symbol="SOL")
    assert item.signature == written.signature  # the written-ahead transaction, re-sent as the same bytes
    assert shop.outgoing_sweeps(payment.wallet) == 1
    assert shop.received("SOL") == AMOUNTS["SOL"]
