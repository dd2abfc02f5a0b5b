from django.apps import AppConfig


class SolanaPaymentsConfig(AppConfig):
    name = "solana_payments"
    verbose_name = "Solana payments"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self):
        """models.py, then the webhooks package's own records: they are this app's models too."""
        super().import_models()
        from .webhooks import models  # noqa: F401

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import checks, signals  # noqa: F401  (registers checks and receivers)
        from .runs.permissions import create_run_permissions
        from .webhooks.delivery import connect_signals

        connect_signals()
        post_migrate.connect(create_run_permissions, sender=self)

    def operation_kind_choices(self):
        """``OperationRun.kind``'s choices: the operations registry's kinds."""
        from .operations import kind_choices

        return kind_choices()
