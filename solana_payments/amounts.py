"""Conversions between token units (what people read) and base units (what the chain counts)."""

from decimal import Decimal, InvalidOperation, localcontext


def to_base_units(amount, decimals, *, what="amount"):
    """``Decimal('25.000001')`` with 6 decimals -> ``25000001``. Refuses floats, signs and extra places."""
    if isinstance(amount, float) or isinstance(amount, bool):
        raise ValueError(
            f"{what} must be a Decimal, an int or a decimal string, not {type(amount).__name__}."
        )
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise ValueError(f"{what} {amount!r} is not a number.") from None
    if not value.is_finite():
        raise ValueError(f"{what} {amount!r} is not a finite number.")
    if value <= 0:
        raise ValueError(f"{what} must be greater than zero, not {value}.")
    # Exact integer arithmetic: Decimal's own operations (normalize, scaleb) round to the context's 28
    # digits, which turned 0.0999999999999999999999999999999 into 0.1.
    _sign, digits, exponent = value.as_tuple()
    shift = exponent + decimals  # base units = int(digits) * 10**shift
    if value.adjusted() + decimals >= 19:  # at least 10**19 base units (checked before any power of ten)
        raise ValueError(f"{what} {value} is too large.")
    if value.adjusted() + decimals < 0:  # less than one base unit
        raise ValueError(f"{what} {value} has more than {decimals} decimal places.")
    coefficient = int("".join(map(str, digits)))
    if shift >= 0:
        base = coefficient * 10**shift
    else:
        base, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise ValueError(f"{what} {value} has more than {decimals} decimal places.")
    if base >= 2**63:
        raise ValueError(f"{what} {value} is too large.")
    return base


def from_base_units(base, decimals):
    """``25000001`` with 6 decimals -> ``Decimal('25.000001')`` (exact, never a float)."""
    if base is None:
        return None
    if not decimals:
        return Decimal(int(base))
    with localcontext() as context:  # exact for any decimals a mint can have (0-255)
        context.prec = len(str(abs(int(base)))) + decimals + 1
        return Decimal(int(base)).scaleb(-decimals).quantize(Decimal(1).scaleb(-decimals))


def format_units(base, decimals):
    """A plain decimal string without trailing zeros, for tables and exports."""
    return plain_decimal(from_base_units(base, decimals)) or ""


def format_sol(lamports):
    """Lamports as SOL for a page: ``"1.5 SOL"``."""
    return f"{format_units(lamports or 0, 9)} SOL"


def plain_decimal(value):
    """``Decimal('25.00000000')`` -> ``"25"``: no exponent, no trailing zeros; ``None`` stays ``None``."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_price(price, currency):
    """``"25 EUR"`` for a payment priced in a currency, ``""`` for one priced in tokens."""
    return f"{plain_decimal(price)} {currency}" if currency and price is not None else ""
