"""Prices in the shop's currency turned into token amounts, with the rates that made them.

Each option's amount is ``price / rate`` rounded *up* to the token's smallest unit (a customer never pays
less than the price). A stablecoin listed in ``PEGGED_TOKENS`` is priced at par with its peg currency when
the rates say it is within ``PEG_BAND_PERCENT`` of it; outside the band its own rate is used and the option
is marked ``off_peg`` (the dashboard warns).
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext

from .conf import app_settings
from .rates import Quote, read_quotes


@dataclass(frozen=True)
class PricedOption:
    token: object  # PaymentToken
    amount: int  # base units
    quote: Quote  # the rate used: one unit of the token in the payment's currency
    off_peg: bool = False


def clean_price(price, currency):
    """``(Decimal price, upper-case currency code)`` or ``ValueError``."""
    try:
        value = price if isinstance(price, Decimal) else Decimal(str(price))
    except (InvalidOperation, ValueError):
        raise ValueError(f"price must be a decimal number, not {price!r}.") from None
    if isinstance(price, (bool, float)) or not value.is_finite() or value <= 0:
        raise ValueError(f"price must be a positive decimal number (a Decimal or a string), not {price!r}.")
    if value.normalize().as_tuple().exponent < -8:
        raise ValueError("price has more than 8 decimal places.")
    code = str(currency or "").strip().upper()
    if not (code.isascii() and code.isalpha()) or not 3 <= len(code) <= 8:
        raise ValueError(f"currency must be a currency code such as 'EUR', not {currency!r}.")
    return value, code


def price_options(price, currency, tokens, *, sources=None):
    """``[PricedOption]`` for ``tokens`` (PaymentTokens) at ``price`` in ``currency`` (already cleaned).

    Raises ``RateUnavailable`` when some rate cannot be read from any source.
    """
    pegs = app_settings.PEGGED_TOKENS or {}
    pairs = []
    for token in tokens:
        pairs.append((token.symbol, currency))
        peg = pegs.get(token.symbol)
        if peg:
            pairs.append((token.symbol, str(peg).upper()))
    quotes = read_quotes(pairs, sources=sources)
    band = Decimal(str(app_settings.PEG_BAND_PERCENT)) / 100
    priced = []
    for token in tokens:
        quote, off_peg = quotes[(token.symbol, currency)], False
        peg = pegs.get(token.symbol)
        if peg:
            to_peg = quotes[(token.symbol, str(peg).upper())]
            if abs(to_peg.rate - 1) <= band:
                quote = _at_par(quote, to_peg)
            else:
                off_peg = True
        priced.append(PricedOption(token, amount_for(price, quote.rate, token.decimals), quote, off_peg))
    return priced


def _at_par(quote, to_peg):
    """The token priced as one unit of its peg currency: its rate in the payment's currency divided by
    its rate in the peg currency (exactly 1 when the payment is in the peg currency itself)."""
    with localcontext() as ctx:
        ctx.prec = 40
        rate = quote.rate / to_peg.rate
    return Quote(
        asset=quote.asset,
        currency=quote.currency,
        rate=rate,
        source=f"{quote.source} (at par with {to_peg.currency})",
        published_at=min(quote.published_at, to_peg.published_at),
        confidence=quote.confidence,
    )


def amount_for(price, rate, decimals):
    """Base units of a token worth ``price`` at ``rate`` (currency per token), rounded up.

    The quotient is first rounded to a billionth of a base unit, so that the last digit of a rate that is
    itself a rounded quotient (1 / 1.08) does not cost the customer one more unit.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        units = (price / rate).scaleb(decimals).quantize(Decimal("1e-9"))
        return int(units.to_integral_value(rounding=ROUND_CEILING))


def stored_rate(value, digits=20):
    """A rate as the database keeps it: a plain decimal string of at most ``digits`` significant digits
    (``""`` for none). The amounts were computed from the full rate already."""
    from .amounts import plain_decimal

    if value is None:
        return ""
    with localcontext() as ctx:
        ctx.prec = 60
        return plain_decimal(value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1)))
