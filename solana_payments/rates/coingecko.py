"""The HTTP fallback: CoinGecko's public simple-price API (``GET {COINGECKO_URL}/simple/price``).

``COINGECKO_IDS`` maps a token symbol to CoinGecko's coin id; the payment's currency is one of its
``vs_currencies`` (``eur``, ``usd``, ...). One request prices every pair; ``last_updated_at`` is the publish
time. No API key is needed for the public endpoint (it is rate-limited: it is a fallback, not the source).
"""

import datetime
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal, InvalidOperation

from ..conf import app_settings
from . import Quote, RateSource, RateSourceError


class CoinGeckoRates(RateSource):
    name = "coingecko"

    def quotes(self, pairs):
        ids = app_settings.COINGECKO_IDS
        wanted = [(asset, currency) for asset, currency in pairs if asset in ids]
        answer = {pair: f"no coin id for {pair[0]} in COINGECKO_IDS" for pair in pairs if pair[0] not in ids}
        if not wanted:
            return answer
        body = self._fetch(
            sorted({ids[asset] for asset, _ in wanted}), sorted({currency.lower() for _, currency in wanted})
        )
        for asset, currency in wanted:
            entry = body.get(ids[asset])
            value = entry.get(currency.lower()) if isinstance(entry, dict) else None
            updated = entry.get("last_updated_at") if isinstance(entry, dict) else None
            if value is None or not isinstance(updated, int):
                answer[(asset, currency)] = f"no {currency} price for {ids[asset]} in the answer"
                continue
            try:
                rate = Decimal(str(value))
            except InvalidOperation:
                answer[(asset, currency)] = f"price {value!r} is not a number"
                continue
            answer[(asset, currency)] = Quote(
                asset=asset,
                currency=currency,
                rate=rate,
                source=self.name,
                published_at=datetime.datetime.fromtimestamp(updated, tz=datetime.UTC),
            )
        return answer

    def _fetch(self, coin_ids, currencies):
        query = urllib.parse.urlencode(
            {
                "ids": ",".join(coin_ids),
                "vs_currencies": ",".join(currencies),
                "include_last_updated_at": "true",
                "precision": "full",
            }
        )
        url = f"{str(app_settings.COINGECKO_URL).rstrip('/')}/simple/price?{query}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=app_settings.RATE_TIMEOUT) as response:
                raw = response.read(1_000_000)
        except urllib.error.HTTPError as exc:
            raise RateSourceError(f"HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise RateSourceError(f"cannot connect: {exc.reason}") from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise RateSourceError(f"{type(exc).__name__}: {exc}") from None
        try:
            body = json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise RateSourceError("the answer is not JSON") from None
        if not isinstance(body, dict):
            raise RateSourceError("the answer is not a JSON object")
        return body
