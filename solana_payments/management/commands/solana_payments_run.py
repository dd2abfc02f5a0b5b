from django.core.management.base import CommandParser

from solana_payments.management.operation_command import OperationCommand, add_operation_arguments
from solana_payments.operations import operation_classes


class Command(OperationCommand):
    help = "Run one operation: solana_payments_run <kind> [flags] (each kind's flags: <kind> --help)."

    def add_arguments(self, parser):
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="kind", parser_class=CommandParser)
        for kind, operation_class in operation_classes().items():
            add_operation_arguments(
                kinds.add_parser(
                    kind,
                    help=operation_class.description,
                    called_from_command_line=getattr(parser, "called_from_command_line", None),
                ),
                operation_class,
            )

    def handle(self, *args, **options):
        self.run_operation(options["kind"], options)
