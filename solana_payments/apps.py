from django.apps import AppConfig


class SolanaPaymentsConfig(AppConfig):
    name = "solana_payments"
    verbose_name = "Solana payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers checks and receivers)
        from .webhooks.delivery import connect_signals

        connect_signals()
