from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    """``solana_payments_run refund``, under the name it has always had."""

    kind = "refund"
