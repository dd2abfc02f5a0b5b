from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Accept an expired, underpaid or late payment as paid, or cancel an open one, with a reason "
        "(recorded with who and when)."
    )
    operation = "resolve"
    records = "payments"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--decision", required=True, choices=["accept", "cancel"])
        parser.add_argument("--reason", required=True, help="Why (required, recorded on the payment).")
        parser.add_argument(
            "--accept-short",
            action="store_true",
            help="Accept a payment that kept less than its price (received minus refunded); without it such "
            "a payment is refused with how much is missing. A fully refunded payment is never accepted.",
        )

    def operation_options(self, options):
        return {
            "decision": options["decision"],
            "reason": options["reason"],
            "accept_short": options["accept_short"],
        }
