from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Close the empty token accounts (ATAs) of wallets in 'payment_expired' state and return their "
        "rent to the fee payer."
    )
    operation = "reclaim"
    records = "wallets"
