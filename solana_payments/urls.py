"""The app's URLs outside the admin: the Prometheus endpoint.

``path("solana-payments/", include("solana_payments.urls"))`` serves it at ``solana-payments/metrics/``.
"""

from django.urls import path

from .metrics import metrics_view

app_name = "solana_payments"

urlpatterns = [path("metrics/", metrics_view, name="metrics")]
