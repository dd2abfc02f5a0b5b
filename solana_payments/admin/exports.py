"""Import and export in the admin: formats, permissions, and the export action on the changelists.

Permissions are our own, one per model and direction (declared in each model's ``Meta.permissions``):

- export: ``solana_payments.export_<model>`` (``export_payment``, ``export_onetimewallet``,
  ``export_paymenttoken``, ``export_operationrun``, ``export_operationitem``), *and* the view permission
  of the model (an export shows every row of the changelist, so it is a kind of viewing);
- import (tokens only): ``solana_payments.import_paymenttoken``, *and* the add and change permissions
  (an import creates and updates tokens).

django-import-export would otherwise let any staff user export a whole table. The export and import views
check these themselves (``admin_view`` only checks staff), and the "Export selected …" action is offered
only to users who may export.

URL names (admin namespace): ``admin:solana_payments_<model>_export`` for every model
(e.g. ``admin:solana_payments_operationrun_export``, which the dashboard links to), and
``admin:solana_payments_paymenttoken_import`` / ``..._process_import`` for tokens.
"""

from django import forms
from django.contrib.admin import options
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ImproperlyConfigured
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.formats.base_formats import CSV, JSON, XLSX
from import_export.forms import ImportForm

from ..resources import SafeModelResource
from .export_jobs import BackgroundExportMixin

FORMATS = (CSV, XLSX, JSON)

# Django 6.1 asks a ModelAdmin for the actions of a place (the changelist or the change form); before it,
# actions live on the changelist only, and None stands for it.
CHANGE_LIST = options.ActionLocation.CHANGE_LIST if hasattr(options, "ActionLocation") else None


def permission_name(opts, action):
    """``solana_payments.export_payment`` for ``(Payment._meta, "export")``."""
    return f"{opts.app_label}.{get_permission_codename(action, opts)}"


class ExportAdminMixin(BackgroundExportMixin, ExportActionMixin):
    """Export (CSV, XLSX, JSON) from the changelist button and the "Export selected" action.

    More rows than ``EXPORT_BACKGROUND_THRESHOLD``: a background job writes the file (``export_jobs.py``).

    Put it before ``admin.ModelAdmin`` and set ``resource_classes`` to resources of
    :mod:`solana_payments.resources`; anything else is refused.
    """

    formats = FORMATS
    export_formats = FORMATS
    # Export from the changelist only: the change-form button needs a change permission that read-only
    # admins do not grant, and this keeps the change form's template free for the admin's own use.
    show_change_form_export = False
    change_form_template = None

    def get_actions(self, request, action_location=CHANGE_LIST):
        # django-import-export's override adds "Export selected" without asking where: it belongs on the
        # changelist, and the change form gets Django's own actions for that place.
        if action_location != CHANGE_LIST:
            return super(ExportActionMixin, self).get_actions(request, action_location=action_location)
        return super().get_actions(request)

    def get_export_formats(self):
        # XLSX needs openpyxl: without it the format is left out instead of breaking the page.
        return [f for f in self.export_formats if f.is_available() and f().can_export()]

    def get_resource_classes(self, request):
        resource_classes = super().get_resource_classes(request)
        for resource_class in resource_classes:
            if not (isinstance(resource_class, type) and issubclass(resource_class, SafeModelResource)):
                raise ImproperlyConfigured(
                    f"{type(self).__name__}: {resource_class!r} is not a SafeModelResource "
                    "(a default resource would export every model field, secrets included)."
                )
        return resource_classes

    def has_export_permission(self, request):
        return self.has_view_permission(request) and request.user.has_perm(
            permission_name(self.opts, "export")
        )

    def get_valid_export_item_pks(self, request):
        # Rows the "Export selected" action may export: only posted ones this admin would list.
        selected = request.POST.getlist("export_items")
        return self.get_queryset(request).filter(pk__in=selected).values_list("pk", flat=True)


MAX_IMPORT_BYTES = 1024 * 1024  # a list of tokens is a few kilobytes


class BoundedImportForm(ImportForm):
    """django-import-export's import form, refusing files too large to be what the page imports."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 2**20:.1f} MB; imports here are limited to "
                f"{MAX_IMPORT_BYTES / 2**20:.0f} MB. Nothing was imported."
            )
        return upload


class ImportExportAdminMixin(ImportMixin, ExportAdminMixin):
    """:class:`ExportAdminMixin` plus import (CSV, XLSX, JSON) with a preview and a confirm step."""

    import_formats = FORMATS
    import_form_class = BoundedImportForm
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"

    def get_import_formats(self):
        return [f for f in self.import_formats if f.is_available() and f().can_import()]

    def has_import_permission(self, request):
        return (
            self.has_add_permission(request)
            and self.has_change_permission(request)
            and request.user.has_perm(permission_name(self.opts, "import"))
        )
