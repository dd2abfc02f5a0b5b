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
    exponent = value.normalize().as_tuple().exponent
    if exponent < 0 and -exponent > decimals:
        raise ValueError(f"{what} {value} has more than {decimals} decimal places.")
    base = int(value.scaleb(decimals))
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
    value = from_base_units(base, decimals)
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
