"""The shop's URLs: include them under any prefix, e.g. ``path("pay/", include("solana_payments.urls"))``.

- ``<reference>/``: the checkout page;
- ``<reference>/status/``: the status endpoint (JSON) the page polls;
- ``<reference>/panel/``: the checkout's markup alone, which the page swaps in when the status changes;
- ``""`` (POST): the create endpoint, off unless ``CREATE_PAYMENT_PERMISSION`` is set.
- ``metrics/``: the Prometheus endpoint (a bearer token, ``METRICS_TOKEN``, or a staff login).
"""

from django.urls import path

from . import views
from .metrics import metrics_view

app_name = "solana_payments"

urlpatterns = [
    path("", views.create, name="create"),
    path("metrics/", metrics_view, name="metrics"),
    path("<uuid:reference>/", views.checkout, name="checkout"),
    path("<uuid:reference>/status/", views.payment_status, name="status"),
    path("<uuid:reference>/panel/", views.checkout_panel, name="checkout_panel"),
]
