"""Rates read from Pyth price feed accounts over the app's own RPC node: no other service, no API key.

``PYTH_FEEDS`` maps an asset or currency code to a ``PriceUpdateV2`` account quoting it in USD (SOL/USD,
USDC/USD, EUR/USD, ...). Every feed a request needs is read in one ``getMultipleAccounts``; a rate between
two codes is the ratio of their USD prices, its confidence the sum of both relative intervals, and its
publish time the older of the two.
"""

import datetime
from decimal import Decimal

from solders.pubkey import Pubkey

from ..chain.pyth import NotAPriceFeed, decode_price_feed
from ..conf import app_settings
from . import Quote, RateSource

USD = "USD"


class PythRates(RateSource):
    name = "pyth"

    def __init__(self, chain=None):
        self.chain = chain

    def quotes(self, pairs):
        feeds = app_settings.PYTH_FEEDS
        codes = sorted({code for pair in pairs for code in pair if code != USD and code in feeds})
        usd, problems = {USD: None}, {}
        if codes:
            for code, account in zip(codes, self._read([feeds[c] for c in codes]), strict=True):
                try:
                    if account is None:
                        raise NotAPriceFeed(f"no account at {feeds[code]}")
                    feed = decode_price_feed(account.data, account.owner)
                except NotAPriceFeed as exc:
                    problems[code] = f"{code}/USD feed: {exc}"
                    continue
                if feed.value <= 0:
                    problems[code] = f"{code}/USD feed: price {feed.value} is zero or negative"
                    continue
                usd[code] = feed
        answer = {}
        for asset, currency in pairs:
            why = [problems[c] for c in (asset, currency) if c in problems]
            unknown = [c for c in (asset, currency) if c not in usd and c not in problems]
            if why or unknown:
                answer[(asset, currency)] = "; ".join(
                    why + [f"no feed for {c} in PYTH_FEEDS" for c in unknown]
                )
                continue
            answer[(asset, currency)] = _cross(asset, currency, usd[asset], usd[currency])
        return answer

    def _read(self, addresses):
        keys = [Pubkey.from_string(str(a)) for a in addresses]
        if self.chain is not None:
            return self.chain.get_accounts(keys)
        from ..chain_client import chain_client

        # A rate is read while a customer waits: an outage hands over to the next source within RATE_TIMEOUT.
        limit = app_settings.RATE_TIMEOUT
        with chain_client(timeout=limit, max_retry_seconds=limit) as chain:
            return chain.get_accounts(keys)


def _cross(asset, currency, base, quote):
    """``asset`` in ``currency`` from their USD feeds (``None`` is USD itself: exactly 1, no uncertainty)."""
    one = Decimal(1)
    base_value, base_spread = (base.value, base.confidence / base.value) if base else (one, Decimal(0))
    quote_value, quote_spread = (quote.value, quote.confidence / quote.value) if quote else (one, Decimal(0))
    rate = base_value / quote_value
    times = [feed.publish_time for feed in (base, quote) if feed is not None]
    published = datetime.datetime.fromtimestamp(min(times), tz=datetime.UTC)
    return Quote(
        asset=asset,
        currency=currency,
        rate=rate,
        source=PythRates.name,
        published_at=published,
        confidence=rate * (base_spread + quote_spread),
    )
