"""The settings of prices in the shop's currency, and their system checks."""

from decimal import Decimal

import pytest

from solana_payments.checks import check_settings


def error_ids():
    return sorted({message.id for message in check_settings()})


def test_the_defaults_pass_the_checks():
    assert error_ids() == []


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("RATE_SOURCES", "solana_payments.rates.pyth.PythRates", "solana_payments.E024"),
        ("RATE_SOURCES", ["solana_payments.rates.NoSuchSource"], "solana_payments.E024"),
        ("RATE_SOURCES", ["solana_payments.rates.Quote"], "solana_payments.E024"),  # no quotes() method
        ("PYTH_FEEDS", ["7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE"], "solana_payments.E025"),
        ("PYTH_FEEDS", {"SOL": "not-an-address"}, "solana_payments.E025"),
        ("COINGECKO_IDS", {"SOL": 7}, "solana_payments.E026"),
        ("PEGGED_TOKENS", ["USDC"], "solana_payments.E026"),
        ("COINGECKO_URL", "api.coingecko.com", "solana_payments.E027"),
        ("RATE_MAX_AGE_SECONDS", 0, "solana_payments.E028"),
        ("RATE_TIMEOUT", "5", "solana_payments.E028"),
        ("RATE_MAX_CONFIDENCE_PERCENT", -1, "solana_payments.E028"),
        ("PEG_BAND_PERCENT", float("nan"), "solana_payments.E028"),
        ("PAYMENT_TOLERANCE_PERCENT", -0.5, "solana_payments.E028"),
        ("PAYMENT_TOLERANCE_PERCENT", 100, "solana_payments.E028"),
    ],
)
def test_configuration_mistakes_are_system_checks(configure, name, value, expected):
    configure(**{name: value})
    assert expected in error_ids()


@pytest.mark.parametrize("value", [0, 1, 2.5, Decimal("0.5")])
def test_a_tolerance_may_be_a_number_or_a_decimal(configure, value):
    configure(PAYMENT_TOLERANCE_PERCENT=value)
    assert error_ids() == []


def test_a_shops_own_source_passes_the_check(configure):
    configure(RATE_SOURCES=["tests.rates.test_rate_sources.FixedRates"])
    assert error_ids() == []
