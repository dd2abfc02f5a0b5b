from decimal import Decimal

import pytest

from tests.support.rates import FakeCoinGecko

# USD prices of the feeds the tests put on the local chain, and the same market on the fake CoinGecko.
FEEDS = {"SOL": "150", "USDC": "1", "PYUSD": "1", "EUR": "1.08"}
GECKO = {
    "solana": {"usd": 150.0, "eur": 140.0},
    "usd-coin": {"usd": 1.0, "eur": 0.92},
    "paypal-usd": {"usd": 1.0, "eur": 0.92},
}


@pytest.fixture
def coingecko(configure):
    """The HTTP fallback, served on 127.0.0.1 and configured as ``COINGECKO_URL``."""
    server = FakeCoinGecko({coin: dict(prices) for coin, prices in GECKO.items()})
    configure(COINGECKO_URL=server.url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def feeds(shop, price_feed):
    """Fresh Pyth feeds on the local chain for SOL, USDC, PYUSD and EUR (in USD)."""
    for code, price in FEEDS.items():
        price_feed(code, price, confidence=Decimal(price) / 2000)  # ±0.05%
    return price_feed
