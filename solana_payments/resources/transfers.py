"""The accounting export: one row per transfer into or out of a one-time wallet, with its payment."""

from ..amounts import plain_decimal
from ..models import Transfer
from .records import token_amount
from .safety import JsonTextWidget, SafeModelResource, column, moment, text, whole


class TransferResource(SafeModelResource):
    """Per token, customer transfers in = what reached the receiver + refunds out of the one-time wallets +
    what is still in them; refunds paid from the refund wallet are rows of their payment too, marked
    ``from_refund_wallet``."""

    id = whole("id")
    payment = text("payment__reference")
    label = text("payment__label")
    email = text("payment__email")
    metadata = column("payment__metadata", JsonTextWidget())
    price = column()  # the payment's price in the shop's currency ("" when priced in tokens)
    currency = text("payment__currency")
    token = text("token__symbol")
    amount = column()
    direction = text("direction")
    kind = text("kind")
    from_refund_wallet = column("from_refund_wallet")
    is_dust = column("is_dust")
    counterparty = text("counterparty")
    wallet = text("wallet__address")
    signature = text("signature")
    slot = whole("slot")
    block_time = moment("block_time")
    fee_lamports = whole("fee")
    rent_lamports = whole("rent")

    export_relations = ("payment", "token", "wallet")

    class Meta:
        model = Transfer
        name = "Transfers"

    def dehydrate_price(self, transfer):
        payment = transfer.payment
        return plain_decimal(payment.price) or "" if payment is not None else ""

    def dehydrate_amount(self, transfer):
        return token_amount(transfer.amount, transfer.token)
