from django.core.management.base import BaseCommand, CommandError

from solana_payments.exceptions import SolanaPaymentsError
from solana_payments.ledger.reading import WalletBook, sync
from solana_payments.models import Payment, PaymentOption


class Command(BaseCommand):
    help = (
        "Fill the transfer ledger from chain history for payments whose wallet was never read for it (made "
        "before the ledger existed). Batched and resumable: each batch is saved as it is read, and a second "
        "run goes on with the wallets left. Operations never depend on it: a wallet whose balance changes "
        "is read in full the first time anyway."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=100, help="Wallets read per batch (default 100)."
        )
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many wallets.")
        parser.add_argument("--dry-run", action="store_true", help="Read the chain, write nothing.")

    def handle(self, *args, **options):
        from solana_payments.chain_client import chain_client

        size, limit = options["batch_size"], options["limit"]
        if size < 1 or (limit is not None and limit < 1):
            raise CommandError("--batch-size and --limit must be at least 1.")
        pending = Payment.objects.filter(wallet__history_cursor={}).select_related("wallet").order_by("pk")
        wallets = transfers = 0
        after = 0
        try:
            with chain_client() as chain:
                while limit is None or wallets < limit:
                    take = size if limit is None else min(size, limit - wallets)
                    batch = list(pending.filter(pk__gt=after)[:take])
                    if not batch:
                        break
                    options_of = {}
                    for option in PaymentOption.objects.filter(payment__in=batch).select_related("token"):
                        options_of.setdefault(option.payment_id, []).append(option.token)
                    books = [WalletBook(p.wallet, options_of.get(p.pk, []), p) for p in batch]
                    found = sync(chain, books, save=not options["dry_run"])
                    transfers += sum(len(rows) for rows in found.values())
                    wallets += len(batch)
                    after = batch[-1].pk
                    self.stdout.write(f"{wallets} wallets read, {transfers} transfers")
        except SolanaPaymentsError as exc:
            raise CommandError(f"{exc} ({wallets} wallets were filled; run again to go on).") from None
        verb = "would be recorded" if options["dry_run"] else "recorded"
        self.stdout.write(self.style.SUCCESS(f"{wallets} wallets read: {transfers} transfers {verb}."))
