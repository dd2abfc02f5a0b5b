from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    help = (
        "Send the funds of one-time wallets in processing/failed-send states to the configured "
        "receiver wallet, several wallets per transaction."
    )
    operation = "sweep"
    records = "wallets"
