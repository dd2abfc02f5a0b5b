"""The wallets an operation works on: the references of an item about one, and the tokens it may hold."""


def wallet_refs(wallet):
    """The ``wallet=`` / ``payment=`` of an item about ``wallet``."""
    return {"wallet": wallet, "payment": getattr(wallet, "payment", None)}


def wallet_tokens(wallet):
    """The tokens a wallet's payment accepts (options prefetched); for a wallet kept without a payment,
    every SPL token, since any of its token accounts may exist."""
    payment = getattr(wallet, "payment", None)
    if payment is None:
        from ..models import PaymentToken

        return list(PaymentToken.objects.exclude(mint=None))
    return [option.token for option in payment.options.all()]
