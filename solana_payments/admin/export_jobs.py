"""Big exports in the admin: above ``EXPORT_BACKGROUND_THRESHOLD`` rows an export becomes a background job.

The export form of a changelist works as before; when the filtered list has more rows than the threshold
(counted with a bounded query), the export is queued on django-q2 (:mod:`solana_payments.exporting`) and
the user lands on the list of export jobs, where progress shows and the file is downloaded once written.

Who sees what: a user sees the jobs of the models they may export (the model admin's
``has_export_permission``), and only they may download the files. The file is sent by the download view
(``admin:solana_payments_exportjob_download``) from ``EXPORT_DIRECTORY``, never by the web server, and is
refused (410) once it has expired.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from .. import exporting
from ..conf import app_settings
from ..models import ExportJob, ExportStatus
from .paging import capped_count


class BackgroundExportMixin:
    """Part of ``ExportAdminMixin``: sends an export of more than the threshold to a background job."""

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        threshold = app_settings.EXPORT_BACKGROUND_THRESHOLD
        if capped_count(queryset, threshold) <= threshold:
            return super()._do_file_export(file_format, request, queryset, export_form=export_form)
        if not self.has_export_permission(request):
            raise PermissionDenied
        resource_class = self.choose_export_resource_class(export_form, request)
        fields = self.get_export_resource_fields_from_form(export_form) or []
        job = exporting.start_export(
            queryset, resource_class, file_format.get_extension(), fields=fields, user=request.user
        )
        self.message_user(
            request,
            f"More than {threshold:,} rows: the export runs in the background as {job}. "
            "Its file is listed here once it is written.",
            messages.INFO,
        )
        return HttpResponseRedirect(
            reverse("admin:solana_payments_exportjob_changelist", current_app=self.admin_site.name)
        )


def exportable_model_names(admin_site, request):
    """Names of the models whose exports ``request.user`` may see and download."""
    return [
        model._meta.model_name
        for model, model_admin in admin_site._registry.items()
        if model._meta.app_label == "solana_payments"
        and hasattr(model_admin, "has_export_permission")
        and model_admin.has_export_permission(request)
    ]


RECENT_EXPORTS = 5


def recent_exports(admin_site, request):
    """The latest background exports ``request.user`` may download (for the dashboard)."""
    names = exportable_model_names(admin_site, request)
    if not names:
        return []
    return list(
        ExportJob.objects.filter(model_name__in=names).select_related("requested_by")[:RECENT_EXPORTS]
    )


class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "progress", "size_display", "requested_by", "created_at", "download"]
    list_filter = ["status", "model_name"]
    list_select_related = ["requested_by"]
    fields = [
        "model_name",
        "file_format",
        "fields",
        "status",
        "progress",
        "size_display",
        "error",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
        "download",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(model_name__in=exportable_model_names(self.admin_site, request))
        )

    def has_view_permission(self, request, obj=None):
        names = exportable_model_names(self.admin_site, request)
        return bool(names) and (obj is None or obj.model_name in names)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name=f"{opts.app_label}_{opts.model_name}_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        job = get_object_or_404(ExportJob, pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        if job.status != ExportStatus.SUCCEEDED or not job.file_name:
            if job.is_expired:
                return HttpResponse("This export has expired and its file was deleted.", status=410)
            raise Http404("This export has no file (yet).")
        if job.is_expired:
            exporting.delete_expired_exports()
            return HttpResponse("This export has expired and its file was deleted.", status=410)
        try:
            handle = open(exporting.file_path(job), "rb")  # noqa: SIM115 - FileResponse closes it
        except FileNotFoundError:
            raise Http404("The export's file is gone.") from None
        name = f"{job.model_name}-export-{job.pk}.{job.file_format}"
        return FileResponse(handle, as_attachment=True, filename=name)

    @admin.display(description="progress")
    def progress(self, job):
        return format_html(
            '<progress max="100" value="{}"></progress> {} / {}', job.progress_percent, job.done, job.total
        )

    @admin.display(description="size")
    def size_display(self, job):
        return f"{job.size / 2**20:.1f} MiB" if job.size else "-"

    @admin.display(description="file")
    def download(self, job):
        if job.status != ExportStatus.SUCCEEDED or not job.file_name:
            return "-"
        if job.is_expired:
            return "expired"
        url = reverse(
            "admin:solana_payments_exportjob_download", args=[job.pk], current_app=self.admin_site.name
        )
        return format_html('<a href="{}">download</a>', url)
