from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Scan payments still 'initiated' and settle those that were in fact paid on chain "
        "(status, signal, ON_PAYMENT_ACCEPTED hook)."
    )
    operation = "recheck"
    records = "initiated payments"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--include-expired",
            action="store_true",
            help="Also recheck expired payments inside LATE_PAYMENT_WINDOW; they settle as 'paid_late'.",
        )

    def operation_options(self, options):
        return {"include_expired": True} if options["include_expired"] else {}
