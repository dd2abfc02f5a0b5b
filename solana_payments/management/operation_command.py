"""The base of the operations' commands: flags, progress, the summary line and the exit status."""

import json

from django.core.management.base import BaseCommand, CommandError

from ..approvals import hold_if_needed
from ..models import OperationTrigger, RunStatus
from ..operations import get_operation_class, run_operation
from ..operations.base import summary_line
from ..parameters import clean_ids, clean_limit, clean_sleep


class OperationCommand(BaseCommand):
    operation = None
    records = "records"

    @property
    def default_limit(self):
        return get_operation_class(self.operation).default_limit

    def add_arguments(self, parser):
        # The values are cleaned in handle() by the functions every other entry point uses.
        parser.add_argument(
            "--sleep",
            default=0.0,
            help="Seconds to pause between blockchain operations (0 to 60).",
        )
        parser.add_argument(
            "--limit",
            default=self.default_limit,
            help=f"Maximum {self.records} to process"
            + (f" (default: {self.default_limit})." if self.default_limit else " (default: all eligible)."),
        )
        parser.add_argument("--ids", help=f"Only these {self.records} (ids, comma-separated).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Read the chain and report; change nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print a machine-readable summary.")

    def operation_options(self, options):
        return {}

    def handle(self, *args, **options):
        try:
            ids = clean_ids(options["ids"])
        except ValueError as exc:
            raise CommandError(f"--ids: {exc}.") from None
        if ids == []:
            raise CommandError("--ids: give at least one record id.")
        try:
            limit = clean_limit(options["limit"], name="--limit")
            sleep = clean_sleep(options["sleep"], name="--sleep")
        except ValueError as exc:
            raise CommandError(f"{exc}.") from None
        self._bar_drawn = False
        try:
            held = None
            if not options["dry_run"]:
                held, _preview = hold_if_needed(
                    self.operation,
                    ids=ids,
                    limit=limit,
                    sleep=sleep,
                    user=None,
                    trigger=OperationTrigger.COMMAND,
                    options=get_operation_class(self.operation).clean_options(
                        ids, self.operation_options(options)
                    ),
                )
            if held is not None:
                self.report_held(held, options)
                return
            run = run_operation(
                self.operation,
                ids=ids,
                limit=limit,
                sleep=sleep,
                dry_run=options["dry_run"],
                trigger=OperationTrigger.COMMAND,
                on_progress=None if options["json"] else self.show_progress,
                **self.operation_options(options),
            )
        except ValueError as exc:  # the operation's own options (refund's --to, resolve's --reason)
            raise CommandError(f"{exc}.") from None
        if self._bar_drawn:
            self.stdout.write("")
        if options["json"]:
            self.stdout.write(json.dumps(run_summary(run), sort_keys=True))
        if run.status == RunStatus.FAILED:
            raise CommandError(f"{self.operation} run #{run.pk} failed: {run.error}")
        line = summary_line(run)
        if run.status == RunStatus.PARTIAL:
            if not options["json"]:
                self.stdout.write(self.style.WARNING(line))
            raise CommandError(
                f"{run.counts.get('failed', 0)} item(s) failed; see run #{run.pk}.", returncode=1
            )
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS(line))

    def report_held(self, run, options):
        if options["json"]:
            self.stdout.write(json.dumps(run_summary(run), sort_keys=True))
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"{self.operation} run #{run.pk} awaits approval ({run.parameters['held']}): a user with "
                    "the approve_runs permission approves it in the admin, and it runs then."
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
            self.stdout.write(f"{self.operation}: {run.done}/{run.total}")


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
