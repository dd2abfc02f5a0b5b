"""The app's admin: records, runs, operation actions, the dashboard and webhooks.

The package reads like Django's own admin: ``forms`` (which records), ``previews`` and ``views`` (the
confirmation page and starting a run), ``actions``, ``mixins``, and the dashboard with its ``figures``,
``health`` and ``chart``. Every ModelAdmin is registered here, in one place.
"""

from django.contrib import admin

from ..models import (
    Dashboard,
    Difference,
    ExportJob,
    OneTimeWallet,
    OperationItem,
    OperationRun,
    Payment,
    PaymentToken,
    Transfer,
)
from ..webhooks.models import WebhookDelivery, WebhookEndpoint
from .dashboard import DashboardAdmin
from .export_jobs import ExportJobAdmin
from .reconcile import DifferenceAdmin
from .records import OneTimeWalletAdmin, PaymentAdmin, PaymentTokenAdmin
from .runs import OperationItemAdmin, OperationRunAdmin
from .transfers import TransferAdmin
from .webhooks import WebhookDeliveryAdmin, WebhookEndpointAdmin

admin.site.register(PaymentToken, PaymentTokenAdmin)
admin.site.register(Payment, PaymentAdmin)
admin.site.register(OneTimeWallet, OneTimeWalletAdmin)
admin.site.register(OperationRun, OperationRunAdmin)
admin.site.register(OperationItem, OperationItemAdmin)
admin.site.register(Dashboard, DashboardAdmin)
admin.site.register(WebhookEndpoint, WebhookEndpointAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)
admin.site.register(ExportJob, ExportJobAdmin)
admin.site.register(Difference, DifferenceAdmin)
admin.site.register(Transfer, TransferAdmin)
