from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Mark 'initiated' payments past their deadline as 'expired' (after one last look at the chain) "
        "and try to close their one-time wallets."
    )
    operation = "expire"
    records = "payments"
