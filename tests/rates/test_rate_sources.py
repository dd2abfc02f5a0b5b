"""Rate sources: Pyth feeds read over the app's RPC node, the HTTP fallback, and what is never a price."""

import time
from decimal import Decimal

import pytest

from solana_payments.chain.pyth import PARTIAL
from solana_payments.rates import RateUnavailable, read_quotes
from solana_payments.rates.coingecko import CoinGeckoRates
from solana_payments.rates.pyth import PythRates


def test_pyth_rates_come_from_the_feed_accounts_in_one_request(feeds, localnet):
    localnet.reset_counts()
    quotes = PythRates().quotes([("SOL", "EUR"), ("USDC", "EUR"), ("SOL", "USD")])
    assert localnet.request_counts == {"getMultipleAccounts": 1}
    sol_eur = quotes[("SOL", "EUR")]
    assert sol_eur.rate == Decimal("150") / Decimal("1.08")
    assert sol_eur.source == "pyth"
    assert abs(sol_eur.published_at.timestamp() - time.time()) < 30
    assert quotes[("SOL", "USD")].rate == Decimal("150")
    assert quotes[("USDC", "EUR")].rate == Decimal(1) / Decimal("1.08")


def test_confidence_adds_up_across_the_two_feeds_of_a_cross_rate(feeds):
    feeds("SOL", "150", confidence="0.15")  # ±0.1%
    feeds("EUR", "1.08", confidence="0.00216")  # ±0.2%
    quote = PythRates().quotes([("SOL", "EUR")])[("SOL", "EUR")]
    assert quote.confidence_percent == pytest.approx(Decimal("0.3"))


def test_a_missing_or_partially_verified_feed_is_a_reason_not_a_rate(feeds, configure):
    feeds("EUR", "1.08", verification=PARTIAL)
    answer = PythRates().quotes([("SOL", "EUR"), ("SOL", "GBP")])
    assert "partially verified" in answer[("SOL", "EUR")]
    assert "no feed for GBP" in answer[("SOL", "GBP")]


def test_coingecko_answers_every_pair_in_one_request(coingecko, db):
    quotes = CoinGeckoRates().quotes([("SOL", "EUR"), ("USDC", "USD"), ("BONK", "EUR")])
    assert len(coingecko.requests) == 1
    path, query = coingecko.requests[0]
    assert query["ids"] == "solana,usd-coin" and query["vs_currencies"] == "eur,usd"
    assert quotes[("SOL", "EUR")].rate == Decimal("140.0")
    assert quotes[("SOL", "EUR")].source == "coingecko"
    assert quotes[("USDC", "USD")].rate == Decimal("1.0")
    assert "no coin id for BONK" in quotes[("BONK", "EUR")]


def test_a_stale_feed_falls_back_to_the_http_source(feeds, coingecko, configure):
    configure(RATE_MAX_AGE_SECONDS=60)
    feeds("SOL", "150", publish_time=time.time() - 600)
    quotes = read_quotes([("SOL", "EUR"), ("USDC", "EUR")])
    assert quotes[("SOL", "EUR")].source == "coingecko"
    assert quotes[("SOL", "EUR")].rate == Decimal("140.0")
    assert quotes[("USDC", "EUR")].source == "pyth"  # the fresh feeds still answer first
    assert coingecko.requests[0][1]["ids"] == "solana"  # only the stale pair was asked for


@pytest.mark.parametrize(
    "feed, problem",
    [
        (("SOL", "0"), "zero or negative"),
        (("SOL", "-3"), "zero or negative"),
        (("EUR", "0"), "zero or negative"),
        (("SOL", "150", {"confidence": "15"}), "wider than RATE_MAX_CONFIDENCE_PERCENT"),
    ],
)
def test_nonsense_from_every_source_refuses_with_what_each_said(feeds, coingecko, feed, problem):
    feeds(*feed[:2], **(feed[2] if len(feed) > 2 else {}))
    coingecko.prices["solana"]["eur"] = 0.0
    with pytest.raises(RateUnavailable) as refused:
        read_quotes([("SOL", "EUR")])
    message = str(refused.value)
    assert f"pyth: {feed[0]}/USD feed: price" in message or problem in message
    assert problem in message
    assert "coingecko: rate 0.0 is zero or negative" in message


def test_non_finite_and_stale_http_rates_are_errors_of_that_source(coingecko, configure, db):
    configure(RATE_SOURCES=["solana_payments.rates.coingecko.CoinGeckoRates"], RATE_MAX_AGE_SECONDS=60)
    coingecko.prices["solana"]["eur"] = float("nan")
    coingecko.updated = time.time() - 600
    with pytest.raises(RateUnavailable, match="coingecko: rate .*NaN.* is not a finite number"):
        read_quotes([("SOL", "EUR")])
    coingecko.prices["solana"]["eur"] = 140.0
    with pytest.raises(RateUnavailable, match=r"coingecko: stale: published 6\d\d s ago"):
        read_quotes([("SOL", "EUR")])


def test_an_outage_of_every_source_names_each_failure(shop, coingecko, localnet):
    localnet.set_faults(rate_5xx=1.0)
    coingecko.status = 503
    with pytest.raises(RateUnavailable) as refused:
        read_quotes([("SOL", "EUR")])
    assert "pyth:" in str(refused.value)
    assert "coingecko: HTTP 503" in str(refused.value)


def test_a_shop_plugs_its_own_source(configure, db):
    configure(RATE_SOURCES=["tests.rates.test_rate_sources.FixedRates"])
    (quote,) = read_quotes([("SOL", "CHF")]).values()
    assert quote.rate == Decimal("123.45") and quote.source == "fixed"


class FixedRates:
    name = "fixed"

    def quotes(self, pairs):
        from django.utils import timezone

        from solana_payments.rates import Quote

        return {
            pair: Quote(*pair, rate=Decimal("123.45"), source=self.name, published_at=timezone.now())
            for pair in pairs
        }


def test_a_sources_error_never_carries_its_urls_secrets(configure, db, caplog):
    configure(RATE_SOURCES=["tests.rates.test_rate_sources.LeakyRates"])
    with pytest.raises(RateUnavailable) as refused:
        read_quotes([("SOL", "EUR")])
    for text in (str(refused.value), caplog.text):
        assert "HTTP 500 from https://rates.example/api?***" in text
        assert "s3cret-key" not in text


class LeakyRates:
    name = "leaky"

    def quotes(self, pairs):
        raise RuntimeError("HTTP 500 from https://rates.example/api?key=s3cret-key")


def test_answers_that_are_not_prices_are_errors_of_their_source(configure, db):
    configure(RATE_SOURCES=["tests.rates.test_rate_sources.ConfusedRates"])
    with pytest.raises(RateUnavailable) as refused:
        read_quotes([("SOL", "EUR"), ("USDC", "EUR")])
    assert "SOL in EUR: confused: answered SOL in USD" in str(refused.value)
    assert "USDC in EUR: confused: publish time " in str(refused.value)


class ConfusedRates:
    name = "confused"

    def quotes(self, pairs):
        import datetime

        from django.utils import timezone

        from solana_payments.rates import Quote

        return {
            ("SOL", "EUR"): Quote("SOL", "USD", Decimal(150), self.name, timezone.now()),
            ("USDC", "EUR"): Quote("USDC", "EUR", Decimal(1), self.name, datetime.datetime(2026, 1, 1)),
        }
