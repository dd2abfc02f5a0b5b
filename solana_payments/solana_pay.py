"""Solana Pay transfer requests for a payment's options, and their QR codes.

A transfer request is a ``solana:`` URL (https://docs.solanapay.com/spec#specification-transfer-request):

    solana:<recipient>?amount=<amount>&spl-token=<mint>&label=<label>&message=<message>&memo=<memo>

- the recipient is the payment's one-time wallet (a native SOL address, never a token account);
- ``amount`` is in token units ("user" units, not lamports), a plain decimal without exponent, with at
  most the mint's decimals and a leading digit before any decimal point;
- ``spl-token`` is the mint, for SPL Token and Token-2022 alike, and absent for SOL;
- ``label``, ``message`` and ``memo`` are URL-encoded UTF-8 (``%20`` for a space, as
  ``encodeURIComponent`` does). The wallet shows the label and message to the customer; the memo is
  written on chain with the transfer, so it must never hold private data.

QR codes are SVG, made in pure Python by segno.
"""

from urllib.parse import quote

from .amounts import format_units
from .conf import app_settings


def transfer_request_url(option, *, amount=None, label=None, message=None, memo=None):
    """The ``solana:`` URL that pays ``option`` (a PaymentOption) into its payment's wallet.

    ``amount`` (base units) defaults to the option's own: a checkout asks for what is left after a partial
    payment. ``label`` and ``message`` default to the payment's own (``SOLANA_PAY_LABEL`` for a payment
    without a label); ``memo`` is left out unless given.
    """
    payment = option.payment
    token = option.token
    if label is None:
        label = payment.label or app_settings.SOLANA_PAY_LABEL or ""
    if message is None:
        message = payment.message
    params = [("amount", format_units(option.amount if amount is None else amount, token.decimals))]
    if not token.is_native:
        params.append(("spl-token", token.mint))
    params += [
        (name, value) for name, value in (("label", label), ("message", message), ("memo", memo)) if value
    ]
    query = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in params)
    return f"solana:{payment.wallet.address}?{query}"


def qr_code_svg(content, *, scale=4, title=None):
    """An inline ``<svg>`` QR code of ``content``, with error correction level M and a quiet zone.

    It draws in ``currentColor`` on a white background (scanners need the contrast), so it needs no
    stylesheet, and scales with CSS (``width: 100%``).
    """
    import segno

    qr = segno.make(content, error="m", micro=False)
    return qr.svg_inline(
        scale=scale,
        border=4,
        dark="#000",
        light="#fff",
        title=title,
        svgclass="sp-qr",
        lineclass=None,
        omitsize=True,
    )


def payment_options(payment):
    """``[(option, url)]`` for each option of ``payment``, in the order the customer sees them."""
    options = list(payment.options.select_related("token").order_by("token__symbol"))
    for option in options:
        option.payment = payment  # the wallet and texts of the payment at hand, without a query per option
    return [(option, transfer_request_url(option)) for option in options]
