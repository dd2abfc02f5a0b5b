"""reclaim: the empty token accounts of expired wallets are closed and their rent returns to the fee payer."""

from django.db.models import F

from ..models import OneTimeWallet
from .base import AdminAction, Operation, chunked


class ReclaimOperation(Operation):
    kind = "reclaim"
    closes = True
    order = 4
    model = "wallet"
    description = (
        "Closes the empty token accounts of expired wallets and returns their rent to the fee payer."
    )
    summary_keys = ("scanned", "closed", "stranded", "skipped", "failed")
    occasional_keys = ("settled", "flagged", "unswept")
    admin_actions = (
        AdminAction(
            "reclaim_payment_wallets", "Reclaim the rent of selected payments' wallets…", on="payment"
        ),
        AdminAction("reclaim_wallets", "Reclaim the rent of selected wallets…", on="wallet"),
    )
    tile_figures = ("expired_wallets", "rent_reclaimable", "rent_outstanding")
    command_help = (
        "Close the empty token accounts (ATAs) of wallets in 'payment_expired' state and return their "
        "rent to the fee payer."
    )

    def eligible(self):
        return OneTimeWallet.objects.reclaimable().select_related("payment")

    def ineligible_reason(self, wallet):
        return f"wallet is {wallet.state}, not payment_expired"

    def execute(self):
        wallets = self.selection.select([F("pk").asc()])
        self.set_total(len(wallets))
        for chunk in chunked(wallets, self.CHUNK):
            self.selection.load_options(chunk)
            self.counts["scanned"] += len(chunk)
            self.closer.close_wallets(chunk)
            self.advance(len(chunk))
