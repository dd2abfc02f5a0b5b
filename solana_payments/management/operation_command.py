"""The command of every operation: ``solana_payments_run <kind>``, and the seed's four names as aliases.

Flags: ``--sleep``, ``--limit`` (the operation's default), ``--ids``, ``--dry-run``, ``--json``,
``--requested-by`` and the operation's own (``Operation.add_command_arguments``). The values are handed
as they came to ``runs.request_run``, which cleans them like every other entry point's.
"""

import getpass
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ..models import OperationTrigger, RunStatus
from ..operations import get_operation_class
from ..operations.base import summary_line
from ..operations.request import InvalidParameter
from ..runs import request_run


def add_operation_arguments(parser, operation_class):
    records = operation_class.command_records or f"{operation_class.model or 'record'}s"
    default_limit = operation_class.default_limit
    parser.add_argument(
        "--sleep", default=0.0, help="Seconds to pause between blockchain operations (0 to 60)."
    )
    parser.add_argument(
        "--limit",
        default=default_limit,
        help=f"Maximum {records} to process"
        + (f" (default: {default_limit})." if default_limit else " (default: all eligible)."),
    )
    parser.add_argument("--ids", help=f"Only these {records} (ids, comma-separated).")
    parser.add_argument("--dry-run", action="store_true", help="Read the chain and report; change nothing.")
    parser.add_argument("--json", action="store_true", help="Print a machine-readable summary.")
    parser.add_argument(
        "--requested-by",
        help="Who asks for the run, recorded on it (default: the OS user); a run that waits for approval "
        "is never approved by them.",
    )
    operation_class.add_command_arguments(parser)


class OperationCommand(BaseCommand):
    """A command running one operation (``kind``): the seed's names are subclasses naming theirs."""

    kind = None

    @property
    def help(self):
        operation_class = get_operation_class(self.kind)
        return operation_class.command_help or operation_class.description

    def add_arguments(self, parser):
        add_operation_arguments(parser, get_operation_class(self.kind))

    def handle(self, *args, **options):
        self.run_operation(self.kind, options)

    def run_operation(self, kind, options):
        operation_class = get_operation_class(kind)
        ids = options["ids"]
        if ids is not None and not str(ids).replace(",", "").strip():
            raise CommandError("--ids: give at least one record id.")
        user, requester = self.requester(options.get("requested_by"))
        self._bar_drawn = False
        self.kind_running = kind
        try:
            run = request_run(
                kind,
                ids,
                trigger=OperationTrigger.COMMAND,
                user=user,
                requester=requester,
                dry_run=options["dry_run"],
                limit=options["limit"],
                sleep=options["sleep"],
                options=operation_class.command_options(options),
                inline=True,
                on_progress=None if options["json"] else self.show_progress,
            )
        except InvalidParameter as exc:
            if exc.name == "ids":
                raise CommandError(f"--ids: {exc}.") from None
            raise CommandError(f"--{exc}.") from None
        except ValueError as exc:  # the operation's own options (refund's --to, resolve's --reason)
            raise CommandError(f"{exc}.") from None
        if run.status == RunStatus.AWAITING_APPROVAL:
            self.report_held(kind, run, options)
            return
        if self._bar_drawn:
            self.stdout.write("")
        if options["json"]:
            self.stdout.write(json.dumps(run_summary(run), sort_keys=True))
        if run.status == RunStatus.FAILED:
            raise CommandError(f"{kind} run #{run.pk} failed: {run.error}")
        line = summary_line(run)
        if run.status == RunStatus.PARTIAL:
            if not options["json"]:
                self.stdout.write(self.style.WARNING(line))
            raise CommandError(
                f"{run.counts.get('failed', 0)} item(s) failed; see run #{run.pk}.", returncode=1
            )
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS(line))

    def requester(self, name):
        """``(user or None, name)``: ``--requested-by`` or the OS user, and the Django user of that name."""
        name = (name or "").strip() or getpass.getuser()
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: name}).first()
        return user, name

    def report_held(self, kind, run, options):
        if options["json"]:
            self.stdout.write(json.dumps(run_summary(run), sort_keys=True))
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"{kind} run #{run.pk} awaits approval ({run.parameters['held']}): a user with the "
                    "approve_runs permission other than its requester approves it in the admin, and it "
                    "runs then."
                )
            )

    def show_progress(self, run):
        if self.stdout.isatty():
            width = 30
            filled = width * run.done // run.total if run.total else width
            bar = "#" * filled + "." * (width - filled)
            self.stdout.write(f"\r[{bar}] {run.done}/{run.total}", ending="")
            self.stdout.flush()
            self._bar_drawn = True
        else:
            self.stdout.write(f"{self.kind_running}: {run.done}/{run.total}")


def run_summary(run):
    return {
        "run": run.pk,
        "kind": run.kind,
        "status": run.status,
        "dry_run": bool(run.parameters.get("dry_run")),
        "counts": run.counts,
        "rpc_calls": run.rpc_calls,
        "fees_paid": run.fees_paid,
        "error": run.error,
    }
