"""ModelAdmin mixins: the operation actions' hooks, the changelist template with the dashboard link, the
run admin's pages, and read-only log admins.
"""

from django.contrib import messages
from django.contrib.admin import helpers
from django.urls import path

from .actions import operation_actions
from .forms import InvalidSelection, parse_ids
from .permissions import RunPermissionsMixin
from .views import operation_view

CHANGE_LIST_TEMPLATE = "admin/solana_payments/change_list.html"


class OperationActionsMixin(RunPermissionsMixin):
    """For the payment and wallet admins: the operations' actions on their records (read from the
    registry when asked), the permission hooks of the actions, id checks, dashboard link."""

    change_list_template = CHANGE_LIST_TEMPLATE
    operation_records = None  # "payment" or "wallet": the records whose operation actions are offered

    @property
    def actions(self):
        return operation_actions(self.operation_records)

    def response_action(self, request, queryset, **location):
        # Django filters the changelist with the posted ids as they are: a huge or non-numeric id would
        # crash the query. Refuse them with a message instead. Django 6.1 also says where the action was
        # chosen (``action_location``): passed on as it came.
        try:
            parse_ids(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        except InvalidSelection as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        return super().response_action(request, queryset, **location)


class DashboardLinkMixin:
    """For the app's other admins: the changelist template with the link to the operations dashboard."""

    change_list_template = CHANGE_LIST_TEMPLATE


class OperationPagesMixin(RunPermissionsMixin):
    """For the run admin: the dashboard, its status endpoint and the shared confirmation view."""

    change_list_template = CHANGE_LIST_TEMPLATE

    def get_urls(self):
        wrap = self.admin_site.admin_view
        app, model = self.opts.app_label, self.opts.model_name
        urls = [path("run/<slug:kind>/", wrap(self.run_operation_view), name=f"{app}_{model}_run")]
        return urls + super().get_urls()

    def run_operation_view(self, request, kind):
        return operation_view(self, request, kind)


class ReadOnlyAdminMixin:
    """For log-like admins (runs, items, deliveries): nothing is added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
