from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Compare the database with the chain for every one-time wallet (or --ids): funds in wallets "
        "whose state says empty, rent, settled money, recorded sweeps; --deep also lists token accounts "
        "of mints no payment accepted. Read-only: each difference is listed with a suggested action."
    )
    operation = "reconcile"
    records = "wallets"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--deep",
            action="store_true",
            help="Also list every token account the wallets own (getTokenAccountsByOwner, both programs).",
        )

    def operation_options(self, options):
        return {"deep": options["deep"]}
