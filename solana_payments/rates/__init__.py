"""Exchange rates for prices in the shop's currency: the sources, and reading them with a fallback.

A source is a class with one method, ``quotes(pairs)``: ``pairs`` are ``(asset, currency)`` codes such as
``("SOL", "EUR")``, and it answers ``{pair: Quote}`` for those it can price (a pair it cannot price is left
out, or maps to a string saying why). ``RATE_SOURCES`` lists the sources, tried in order for each pair: a
source that raises, leaves a pair out, or answers a rate that is zero, negative, not finite, stale
(``RATE_MAX_AGE_SECONDS``) or too uncertain (``RATE_MAX_CONFIDENCE_PERCENT``) hands that pair over to the
next one. When no source prices a pair, :func:`read_quotes` raises :class:`RateUnavailable`, saying what
each source answered.
"""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.module_loading import import_string

from ..chain.urls import redact_urls
from ..conf import app_settings
from ..exceptions import RateUnavailable, SolanaPaymentsError

logger = logging.getLogger(__name__)

__all__ = ["Quote", "RateSource", "RateSourceError", "RateUnavailable", "configured_sources", "read_quotes"]


class RateSourceError(SolanaPaymentsError):
    """A source could not answer at all (down, refusing, or answering nonsense)."""


@dataclass(frozen=True)
class Quote:
    """The price of one unit of ``asset`` in ``currency``, as a source published it."""

    asset: str
    currency: str
    rate: Decimal
    source: str
    published_at: datetime.datetime  # aware
    confidence: Decimal | None = None  # ± in ``currency``, when the source gives one

    @property
    def confidence_percent(self):
        if self.confidence is None or not self.rate:
            return None
        return 100 * self.confidence / self.rate


class RateSource:
    """The interface of a rate source (subclassing it is optional: one method is the whole contract)."""

    name = "source"

    def quotes(self, pairs):
        raise NotImplementedError


def configured_sources():
    return [import_string(path)() for path in app_settings.RATE_SOURCES]


def problem_of(quote, now=None):
    """Why ``quote`` is not a price (an error of its source), or ``""``."""
    rate = quote.rate
    published = quote.published_at
    if not isinstance(published, datetime.datetime) or timezone.is_naive(published):
        return f"publish time {published!r} is not an aware datetime"
    if not isinstance(rate, Decimal) or not rate.is_finite():
        return f"rate {rate!r} is not a finite number"
    if rate <= 0:
        return f"rate {rate} is zero or negative"
    now = now or timezone.now()
    age = (now - published).total_seconds()
    if age > app_settings.RATE_MAX_AGE_SECONDS:
        return (
            f"stale: published {int(age)} s ago (RATE_MAX_AGE_SECONDS is {app_settings.RATE_MAX_AGE_SECONDS})"
        )
    spread = quote.confidence_percent
    if spread is not None and (
        not spread.is_finite() or spread > Decimal(str(app_settings.RATE_MAX_CONFIDENCE_PERCENT))
    ):
        return (
            f"confidence ±{spread:.3f}% is wider than RATE_MAX_CONFIDENCE_PERCENT "
            f"({app_settings.RATE_MAX_CONFIDENCE_PERCENT}%)"
        )
    return ""


def read_quotes(pairs, *, sources=None):
    """``{(asset, currency): Quote}`` for every pair, each from the first source that prices it usably."""
    sources = configured_sources() if sources is None else sources
    missing = list(dict.fromkeys(pairs))
    problems = {pair: [] for pair in missing}
    found = {}
    for source in sources:
        if not missing:
            break
        name = getattr(source, "name", type(source).__name__)
        try:
            answered = source.quotes(list(missing)) or {}
            if not isinstance(answered, dict):
                raise TypeError(f"quotes() answered a {type(answered).__name__}, not a dict")
        except Exception as exc:  # a source that is down or broken hands every pair to the next one
            why = redact_urls(exc)  # a source's message may name its URL, API key included
            logger.warning("rate source %s failed: %s", name, why)
            for pair in missing:
                problems[pair].append(f"{name}: {why}")
            continue
        now = timezone.now()
        for pair in missing:
            quote = answered.get(pair)
            if not isinstance(quote, Quote):
                problems[pair].append(f"{name}: {redact_urls(quote or 'no rate')}")
                continue
            problem = problem_of(quote, now)
            if (quote.asset, quote.currency) != pair:
                problem = f"answered {quote.asset} in {quote.currency}"
            if problem:
                logger.warning("rate source %s: %s in %s refused: %s", name, *pair, problem)
                problems[pair].append(f"{name}: {problem}")
                continue
            found[pair] = quote
        missing = [pair for pair in missing if pair not in found]
    if missing:
        raise RateUnavailable({pair: problems[pair] for pair in missing})
    return found
