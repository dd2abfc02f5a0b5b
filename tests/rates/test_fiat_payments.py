"""Payments priced in the shop's currency: amounts from the rates read at creation, nothing written when
no rate is usable, stablecoins at par within their band, and the payment tolerance."""

import datetime
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from solana_payments.models import OneTimeWallet, Payment, PaymentOption
from solana_payments.operations.base import run_operation
from solana_payments.payments import create_payment
from solana_payments.rates import RateUnavailable

pytestmark = pytest.mark.django_db(transaction=True)


def eur_payment(**fields):
    return create_payment(price=Decimal("25.00"), currency="EUR", tokens=["SOL", "USDC"], **fields)


def options_of(payment):
    return {o.token.symbol: o for o in payment.options.select_related("token")}


def nothing_written():
    rows = Payment.objects.count(), OneTimeWallet.objects.count(), PaymentOption.objects.count()
    return rows == (0, 0, 0)


@pytest.fixture
def fee_payer_untouched(shop):
    """After the test: the fee payer paid nothing (no token account was created for a refused payment)."""
    before = shop.localnet.get_balance(shop.localnet.fee_payer.pubkey())
    yield
    assert shop.localnet.get_balance(shop.localnet.fee_payer.pubkey()) == before


def test_a_eur_payment_gets_its_sol_and_usdc_amounts_from_the_onchain_feeds(feeds, localnet):
    payment = eur_payment(label="Order #1")
    payment.refresh_from_db()
    assert (payment.price, payment.currency) == (Decimal("25.00"), "EUR")
    options = options_of(payment)
    # SOL at 150 USD, EUR at 1.08 USD: 25 EUR = 27 USD = 0.18 SOL; USDC at par with USD: 27 USDC
    assert options["SOL"].amount == 180_000_000
    assert options["USDC"].amount == 27_000_000
    sol = options["SOL"]
    assert sol.rate == "138.88888888888888889"  # 150 / 1.08, exact to 20 significant digits
    assert abs(sol.rate_value - Decimal(150) / Decimal("1.08")) < Decimal("1e-17")
    assert sol.rate_source == "pyth"
    assert abs(sol.rate_published_at.timestamp() - time.time()) < 30
    # ±0.05% on each of the two feeds
    assert abs(Decimal(sol.rate_confidence) - sol.rate_value / 1000) < Decimal("1e-17")
    assert options["USDC"].rate_source == "pyth (at par with USD)" and not options["USDC"].off_peg
    # and the wallet's token account was created on chain as for any payment
    assert OneTimeWallet.objects.get().rent_paid > 0


def test_amounts_are_rounded_up_to_the_tokens_smallest_unit(feeds):
    feeds("SOL", "151")
    payment = eur_payment()
    # 27 / 151 = 0.17880794701986754... SOL
    assert options_of(payment)["SOL"].amount == 178_807_948


def test_a_stale_feed_falls_back_to_the_http_source(feeds, coingecko, configure):
    configure(RATE_MAX_AGE_SECONDS=60)
    feeds("SOL", "150", publish_time=time.time() - 3600)
    payment = eur_payment()
    sol = options_of(payment)["SOL"]
    assert sol.rate_source == "coingecko"
    assert sol.rate == "140"
    assert sol.amount == 178_571_429  # 25 / 140 SOL, rounded up
    assert sol.rate_confidence == ""  # CoinGecko publishes no confidence
    assert options_of(payment)["USDC"].rate_source.startswith("pyth")


@pytest.mark.parametrize(
    "feed, reason",
    [
        ({"code": "SOL", "price": "0"}, "SOL/USD feed: price 0E-8 is zero or negative"),
        ({"code": "SOL", "price": "150", "confidence": "6"}, "wider than RATE_MAX_CONFIDENCE_PERCENT"),
    ],
)
def test_a_zero_rate_or_a_confidence_too_wide_refuses_and_writes_nothing(
    feeds, coingecko, feed, reason, fee_payer_untouched
):
    feeds(feed.pop("code"), feed.pop("price"), **feed)
    coingecko.status = 500
    with pytest.raises(RateUnavailable, match=reason) as refused:
        eur_payment()
    assert "SOL in EUR" in str(refused.value) and "coingecko: HTTP 500" in str(refused.value)
    assert nothing_written()


def test_an_outage_of_every_source_refuses_and_writes_nothing(
    feeds, coingecko, localnet, configure, fee_payer_untouched
):
    configure(RATE_TIMEOUT=1.0)
    localnet.set_faults(rate_5xx=1.0, methods=("getMultipleAccounts",))
    coingecko.stop()
    started = time.monotonic()
    with pytest.raises(RateUnavailable, match="pyth: .*coingecko: cannot connect"):
        eur_payment()
    assert time.monotonic() - started < 10  # an outage costs RATE_TIMEOUT a source, not the RPC retry bound
    assert nothing_written()


def test_a_stablecoin_within_its_band_is_at_par_and_outside_it_at_its_own_rate(feeds):
    feeds("USDC", "0.997")  # 0.3% off its peg: still at par (PEG_BAND_PERCENT is 0.5)
    assert options_of(eur_payment())["USDC"].amount == 27_000_000
    feeds("USDC", "0.99")  # 1% off: the oracle's rate, and the option says so
    usdc = options_of(eur_payment())["USDC"]
    assert usdc.off_peg and usdc.rate_source == "pyth"
    assert usdc.amount == 27_272_728  # 27 USD / 0.99, rounded up


def test_token_priced_payments_are_unchanged(feeds):
    payment = create_payment({"SOL": Decimal("0.5")})
    assert (payment.price, payment.currency) == (None, "")
    (option,) = payment.options.all()
    assert (option.amount, option.rate, option.rate_source, option.rate_value) == (500_000_000, "", "", None)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"price": "25", "currency": "EUR"}, "tokens must list"),
        ({"price": "-1", "currency": "EUR", "tokens": ["SOL"]}, "positive"),
        ({"price": 25.5, "currency": "EUR", "tokens": ["SOL"]}, "positive decimal"),
        ({"price": "25", "currency": "€", "tokens": ["SOL"]}, "currency code"),
        ({"price": "25", "currency": "EUR", "tokens": ["DOGE"]}, "Unknown token 'DOGE'"),
        ({"options": {"SOL": "1"}, "price": "25", "currency": "EUR", "tokens": ["SOL"]}, "not both"),
        ({"price": "25", "currency": "EUR", "tokens": ["SOL"], "expires_in": -5}, "expires_in must be"),
    ],
)
def test_bad_prices_are_refused_before_any_rate_is_read(shop, localnet, kwargs, message):
    localnet.reset_counts()
    with pytest.raises(ValueError, match=message):
        create_payment(**kwargs)
    assert localnet.request_counts == {}
    assert nothing_written()


# -- the tolerance ---------------------------------------------------------------------------------------


def test_a_payment_short_within_the_tolerance_settles_and_one_beyond_it_does_not(shop, feeds, configure):
    configure(PAYMENT_TOLERANCE_PERCENT=1)
    within, beyond = eur_payment(), eur_payment()
    shop.pay(within, "USDC", 26_730_000)  # 27 USDC asked, 1% short exactly
    shop.pay(beyond, "USDC", 26_729_999)  # one unit more than 1% short
    recheck = run_operation("recheck", trigger="schedule")
    within.refresh_from_db()
    beyond.refresh_from_db()
    assert (within.status, within.exception, within.paid_amount) == (
        "confirmed",
        "underpaid_within_tolerance",
        26_730_000,
    )
    assert (beyond.status, beyond.exception) == ("initiated", "")
    (item,) = recheck.items.filter(payment=within)
    assert item.amount == 26_730_000  # the ledger records what was received, and why it settled
    assert item.reason == "paid 26.73 USDC (underpaid within tolerance) of 27 USDC"

    Payment.objects.filter(pk=beyond.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    for kind in ("expire", "sweep", "reclaim"):
        run_operation(kind, trigger="schedule")
    beyond.refresh_from_db()
    assert (beyond.status, beyond.exception) == ("expired", "underpaid")
    assert shop.received("USDC") == 26_730_000 + 26_729_999  # both swept: the short one as flagged funds
    shop.assert_money_conserved()


def test_without_a_tolerance_a_short_payment_stays_open(shop, feeds):
    payment = eur_payment()
    shop.pay(payment, "USDC", 26_999_999)
    run_operation("recheck", trigger="schedule")
    payment.refresh_from_db()
    assert (payment.status, payment.exception) == ("initiated", "")
    shop.assert_money_conserved()


def test_a_price_in_a_currency_costs_one_rpc_request_for_every_feed(feeds, localnet):
    localnet.reset_counts()
    create_payment(price=Decimal("25.00"), currency="EUR", tokens=["SOL"])
    assert localnet.request_counts == {"getMultipleAccounts": 1}  # SOL/USD and EUR/USD together
    localnet.reset_counts()
    create_payment(price=Decimal("25.00"), currency="EUR", tokens=["SOL", "USDC", "PYUSD"])
    assert localnet.request_counts["getMultipleAccounts"] == 1  # and then the token accounts, as ever
