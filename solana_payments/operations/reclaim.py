"""reclaim: the empty token accounts of expired wallets are closed and their rent returns to the fee payer."""

from django.db.models import F

from ..models import OneTimeWallet
from .base import Operation, WalletSelectionMixin, chunked
from .closing import ClosingMixin


class ReclaimOperation(ClosingMixin, WalletSelectionMixin, Operation):
    kind = "reclaim"
    order = 4
    model = "wallet"
    description = (
        "Closes the empty token accounts of expired wallets and returns their rent to the fee payer."
    )
    summary_keys = ("scanned", "closed", "stranded", "skipped", "failed")
    occasional_keys = ("settled", "flagged", "unswept")

    def eligible(self):
        return OneTimeWallet.objects.reclaimable().select_related("payment")

    def ineligible_reason(self, wallet):
        return f"wallet is {wallet.state}, not payment_expired"

    def execute(self):
        wallets = self.select([F("pk").asc()])
        self.set_total(len(wallets))
        for chunk in chunked(wallets, self.CHUNK):
            self.load_options(chunk)
            self.counts["scanned"] += len(chunk)
            self.close_wallets(chunk)
            self.advance(len(chunk))
