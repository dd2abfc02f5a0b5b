from django.core.management.base import BaseCommand, CommandError

from solana_payments.jobs import install_schedules, remove_schedules


class Command(BaseCommand):
    help = (
        "Install or update the django-q2 schedules of the maintenance flow (expire -> sweep -> reclaim) "
        "and of recheck, with intervals from SOLANA_PAYMENTS['SCHEDULES']. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--remove", action="store_true", help="Uninstall the schedules instead.")

    def handle(self, *args, remove, **options):
        if remove:
            names = remove_schedules()
            for name in names:
                self.stdout.write(f"removed {name}")
            self.stdout.write(self.style.SUCCESS(f"removed={len(names)}"))
            return
        try:
            report = install_schedules()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for name, action, minutes in report:
            self.stdout.write(f"{action} {name} (every {minutes} min)")
        self.stdout.write(
            self.style.SUCCESS(
                " ".join(
                    f"{a}={sum(1 for r in report if r[1] == a)}" for a in ("created", "updated", "unchanged")
                )
            )
        )
