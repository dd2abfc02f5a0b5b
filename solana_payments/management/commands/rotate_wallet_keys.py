from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from solana_payments.exceptions import WalletKeyError
from solana_payments.key_rotation import rotate_wallet_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every one-time wallet's secret under the first ONE_TIME_WALLETS_ENCRYPTION_KEY. "
        "Idempotent: run it after putting a new key first in the list, then drop the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Wallets per database batch.")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            counts = rotate_wallet_keys(batch_size=batch_size)
        except (WalletKeyError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS("checked={checked} rotated={rotated} unchanged={unchanged}".format(**counts))
        )
