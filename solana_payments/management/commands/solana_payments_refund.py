from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Refund payments in the token they were paid in: the suggested amount or --amount (token units), "
        "to the payer read from the chain or --to. From the one-time wallet while it holds the money, "
        "else from REFUND_WALLET_KEYPAIR. Exactly once."
    )
    operation = "refund"
    records = "payments"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--amount", help="In token units, e.g. 0.25 (default: the suggested amount).")
        parser.add_argument("--to", help="The wallet to refund to (default: the payer read from the chain).")

    def operation_options(self, options):
        return {"amount": options["amount"], "to": options["to"]}
