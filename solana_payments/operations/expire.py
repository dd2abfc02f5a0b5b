"""expire: overdue ``initiated`` payments become ``expired`` after one last look at the chain, and their
wallets are closed in the same run (the seed's "tries to close related expired one-time wallets")."""

from ..models import Payment, PaymentStatus
from .base import AdminAction, Operation, chunked


class ExpireOperation(Operation):
    kind = "expire"
    expires = True
    order = 2
    model = "payment"
    description = (
        "Marks initiated payments past their deadline expired (after one last look at the chain), then "
        "closes the token accounts of their wallets."
    )
    summary_keys = ("scanned", "expired", "settled", "underpaid", "closed", "skipped", "failed")
    occasional_keys = ("flagged", "unswept", "stranded")
    admin_actions = (AdminAction("expire_payments", "Expire selected overdue payments…", on="payment"),)
    tile_figures = ("overdue_payments",)
    command_help = (
        "Mark 'initiated' payments past their deadline as 'expired' (after one last look at the chain) "
        "and try to close their one-time wallets."
    )

    def eligible(self):
        return Payment.objects.overdue().select_related("wallet")

    def ineligible_reason(self, payment):
        if payment.status != PaymentStatus.INITIATED:
            return f"payment is {payment.status}, not initiated"
        return f"deadline not reached (expires at {payment.expires_at:%Y-%m-%d %H:%M:%S %Z})"

    def execute(self):
        payments = self.selection.select(["expires_at", "pk"])
        self.set_total(len(payments))
        for chunk in chunked(payments, self.CHUNK):
            self.expirer.expire(chunk)
            self.advance(len(chunk))
