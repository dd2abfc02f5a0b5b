from solana_payments.management.operation_command import OperationCommand


class Command(OperationCommand):
    """``solana_payments_run expire``, under the name it has always had."""

    kind = "expire"
