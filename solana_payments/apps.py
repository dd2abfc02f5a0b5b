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
        from . import checks, signals  # noqa: F401  (registers checks and receivers)
        from .webhooks.delivery import connect_signals

        connect_signals()
