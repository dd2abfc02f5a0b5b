"""Template tags for Solana Pay: ``{% load solana_pay %}``.

- ``{% solana_pay_url option %}``: the ``solana:`` transfer request of a PaymentOption (``amount=``, in
  base units, ``label=``, ``message=`` and ``memo=`` override the option's and the payment's own);
- ``{% solana_pay_qr option %}`` or ``{% solana_pay_qr url %}``: its QR code as inline SVG;
- ``{{ option|solana_pay_amount }}``: the option's amount in token units (``0.5``, ``25``).
"""

from django import template
from django.utils.safestring import mark_safe

from ..amounts import format_units
from ..solana_pay import qr_code_svg, transfer_request_url

register = template.Library()


@register.simple_tag
def solana_pay_url(option, amount=None, label=None, message=None, memo=None):
    return transfer_request_url(option, amount=amount, label=label, message=message, memo=memo)


@register.simple_tag
def solana_pay_qr(option_or_url, scale=4, label=None, message=None, memo=None):
    url = (
        option_or_url
        if isinstance(option_or_url, str)
        else transfer_request_url(option_or_url, label=label, message=message, memo=memo)
    )
    return mark_safe(qr_code_svg(url, scale=scale))  # segno's own markup; the content is in its path


@register.filter
def solana_pay_amount(option):
    return format_units(option.amount, option.token.decimals)
