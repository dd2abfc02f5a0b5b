"""Small formatting helpers shared by the ModelAdmins."""

from django.utils.html import format_html

from ..amounts import format_units


def token_amount(base, token):
    if base is None or token is None:
        return "-"
    return f"{format_units(base, token.decimals)} {token.symbol}"


def short_signature(signature):
    if not signature:
        return "-"
    return format_html('<span title="{}">{}…{}</span>', signature, signature[:8], signature[-6:])
