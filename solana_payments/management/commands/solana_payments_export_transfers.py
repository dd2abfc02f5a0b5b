import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from solana_payments.exporting import FORMATS, WRITERS, resource_rows
from solana_payments.models import PaymentToken, Transfer
from solana_payments.resources import TransferResource


def day(value):
    try:
        date = datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time.min), datetime.UTC)


class Command(BaseCommand):
    help = (
        "Export the transfer ledger for accounting: one row per transfer into or out of a one-time wallet, "
        "with its payment (reference, label, email, metadata), token, exact amount, direction, "
        "counterparty, signature, slot, block time, fee and rent. The same columns as the admin's export."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First day included (YYYY-MM-DD, UTC).")
        parser.add_argument("--until", help="First day not included (YYYY-MM-DD, UTC).")
        parser.add_argument("--token", action="append", default=[], help="A token symbol (repeatable).")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--output", required=True, help="The file to write.")

    def handle(self, *args, **options):
        transfers = Transfer.objects.all()
        if options["since"]:
            transfers = transfers.filter(block_time__gte=day(options["since"]))
        if options["until"]:
            transfers = transfers.filter(block_time__lt=day(options["until"]))
        if options["token"]:
            symbols = {s.upper() for s in options["token"]}
            known = {t.symbol.upper() for t in PaymentToken.objects.all()}
            unknown = sorted(symbols - known)
            if unknown:
                raise CommandError(f"Unknown token: {', '.join(unknown)}.")
            transfers = transfers.filter(
                token__symbol__in=[
                    t.symbol for t in PaymentToken.objects.all() if t.symbol.upper() in symbols
                ]
            )
        headers, rows, queryset = resource_rows(TransferResource(), transfers.order_by("block_time", "id"))
        count = 0
        with WRITERS[options["format"]](options["output"], headers) as write:
            for row in rows:
                write(row)
                count += 1
        self.stdout.write(self.style.SUCCESS(f"{count} transfers written to {options['output']}."))
