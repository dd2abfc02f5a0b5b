"""Pyth price feed accounts on the local chain, so prices in a currency work without any other service.

The local chain writes ``PriceUpdateV2`` accounts directly (as the Pyth receiver program would), at the
addresses the app reads (``PYTH_FEEDS``): ``set_price_feed`` writes one, ``FeedKeeper`` rewrites a set of
them every few seconds with a fresh publish time, as Pyth's price pusher does on mainnet.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from solders.account import Account
from solders.pubkey import Pubkey

from ..chain.pyth import ACCOUNT_SIZE, FULL, RECEIVER_PROGRAM_ID, PriceFeed, encode_price_feed

FEED_RENT_LAMPORTS = (ACCOUNT_SIZE + 128) * 6_960  # rent-exempt minimum of a 134-byte account
EXPONENT = -8  # as Pyth's USD feeds


def set_price_feed(
    localnet,
    address,
    price,
    *,
    confidence=0,
    publish_time: float | None = None,
    exponent: int = EXPONENT,
    verification=FULL,
) -> PriceFeed:
    """Write a price feed account holding ``price`` (± ``confidence``) at ``address``; returns the feed.

    ``publish_time`` is unix seconds (default: now); ``verification=PARTIAL`` writes a partially verified
    update (which the app refuses).
    """
    address = Pubkey.from_string(str(address))
    feed = PriceFeed(
        feed_id=bytes(address),
        price=_scaled(price, exponent),
        conf=_scaled(confidence, exponent),
        exponent=exponent,
        publish_time=int(time.time() if publish_time is None else publish_time),
        posted_slot=localnet.slot,
    )
    data = encode_price_feed(feed, verification=verification)
    localnet.set_account(address, Account(FEED_RENT_LAMPORTS, data, RECEIVER_PROGRAM_ID))
    return feed


def _scaled(value, exponent):
    return int((Decimal(str(value)) / Decimal(10) ** exponent).to_integral_value())


def parse_prices(text: str) -> dict[str, Decimal]:
    """``"SOL=150,EUR=1.08"`` -> ``{"SOL": Decimal("150"), "EUR": Decimal("1.08")}`` (USD prices)."""
    prices = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, value = part.partition("=")
        try:
            price = Decimal(value.strip())
        except ArithmeticError:
            price = None
        if not code.strip() or price is None or not price.is_finite() or price < 0:
            raise ValueError(f"price feeds are CODE=USD_PRICE separated by commas, not {part!r}")
        prices[code.strip().upper()] = price
    return prices


class FeedKeeper:
    """Keeps price feeds fresh: rewrites each ``{address: USD price}`` every ``every`` seconds."""

    def __init__(self, localnet, prices: dict, *, every: float = 10.0) -> None:
        self.localnet, self.prices, self.every = localnet, dict(prices), every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localnet-price-feeds", daemon=True)

    def start(self) -> FeedKeeper:
        self.publish()
        self._thread.start()
        return self

    def publish(self) -> None:
        for address, price in self.prices.items():
            set_price_feed(self.localnet, address, price, confidence=Decimal(price) / 2000)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.publish()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
