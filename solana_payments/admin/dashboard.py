"""The operations dashboard: what each operation would take now, recent runs with live progress, the
health of the django-q2 cluster, of the schedules and of the RPC node, and payments per day (the figures,
the health and the chart live in modules of their own).
"""

import datetime
import logging

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from ..health import chain_health, cluster_health, cluster_warning
from ..jobs import SCHEDULE_PREFIX, fail_stale_runs, schedule_intervals
from ..models import OperationRun
from ..operations import operation_classes
from ..operations.base import summary_line
from .chart import CHART_DAYS, payments_chart
from .desk import desk_notices
from .export_jobs import recent_exports
from .figures import (
    can_see_dashboard,
    eligible_now,
    last_runs,
    recent_runs,
    run_status,
    settled_worth,
    tile_figures,
)
from .permissions import can_run

logger = logging.getLogger(__name__)


def schedule_health():
    from django_q.models import Schedule

    schedules = list(
        Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX)
        .order_by("name")
        .values("name", "minutes", "next_run", "repeats")
    )
    installed = {row["name"] for row in schedules}
    expected = [SCHEDULE_PREFIX + kind for kind in schedule_intervals()]
    return {
        "schedules": schedules,
        "missing": [name for name in expected if name not in installed],
    }


def dashboard_view(modeladmin, request):
    if not can_see_dashboard(request.user):
        raise PermissionDenied
    admin_site = modeladmin.admin_site
    request.current_app = admin_site.name
    fail_stale_runs()  # a run its dead worker left "running" shows as failed, with a retry
    now = timezone.now()
    figures = eligible_now(now)
    latest = last_runs()
    tiles = []
    for kind, operation_class in operation_classes().items():
        if not operation_class.on_dashboard():
            continue  # acts on records chosen one by one (the payment pages), never "everything eligible"
        run = latest.get(kind)
        tiles.append(
            {
                "kind": kind,
                "title": (operation_class.label or kind).capitalize(),
                "description": operation_class.description,
                "figures": tile_figures(operation_class, figures),
                "last_run": run,
                "last_run_summary": summary_line(run) if run and run.counts else "",
                "can_run": can_run(request.user, kind),
                "run_url": reverse(
                    "admin:solana_payments_operationrun_run", args=[kind], current_app=admin_site.name
                ),
            }
        )
    cluster = cluster_health()
    context = {
        **admin_site.each_context(request),
        "title": "Operations dashboard",
        "subtitle": None,
        "opts": OperationRun._meta,
        "now": now,
        "tiles": tiles,
        "runs": recent_runs(),
        "cluster": cluster,
        "cluster_warning": cluster_warning(cluster),
        "schedules": schedule_health(),
        "chain": chain_health(),
        "chart": payments_chart(now),
        "worth": settled_worth(now - datetime.timedelta(days=CHART_DAYS)),
        "dashboard_url": reverse("admin:solana_payments_dashboard", current_app=admin_site.name),
        "status_url": reverse("admin:solana_payments_dashboard_status", current_app=admin_site.name),
        "runs_url": reverse("admin:solana_payments_operationrun_changelist", current_app=admin_site.name),
        "runs_export_url": runs_export_url(admin_site, request),
        "exports": recent_exports(admin_site, request),
        **desk_notices(admin_site),
    }
    return TemplateResponse(request, "admin/solana_payments/dashboard.html", context)


def runs_export_url(admin_site, request):
    """The runs export, for those the run admin lets export (django-import-export's own check)."""
    run_admin = admin_site._registry.get(OperationRun)
    if run_admin is None or not run_admin.has_export_permission(request):
        return None
    return reverse("admin:solana_payments_operationrun_export", current_app=admin_site.name)


def dashboard_status_view(modeladmin, request):
    """The progress of the recent runs, for the dashboard's few lines of JavaScript."""
    if not can_see_dashboard(request.user):
        raise PermissionDenied
    runs = [run_status(run, modeladmin.admin_site.name) for run in recent_runs()]
    response = JsonResponse({"runs": runs, "active": sum(1 for r in runs if not r["finished"])})
    response["Cache-Control"] = "no-store"
    return response


class DashboardAdmin(admin.ModelAdmin):
    """The operations dashboard at ``admin/solana_payments/dashboard/``, listed in the admin index."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        app = self.opts.app_label
        return [
            path("", wrap(self.dashboard_view), name=f"{app}_dashboard"),
            # the admin index links every model to its changelist: for this one, that is the dashboard
            path("", wrap(self.dashboard_view), name=f"{app}_{self.opts.model_name}_changelist"),
            path("status.json", wrap(self.dashboard_status_view), name=f"{app}_dashboard_status"),
        ]

    def dashboard_view(self, request):
        return dashboard_view(self, request)

    def dashboard_status_view(self, request):
        return dashboard_status_view(self, request)

    def has_module_permission(self, request):
        return can_see_dashboard(request.user)

    def has_view_permission(self, request, obj=None):
        return can_see_dashboard(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_model_perms(self, request):
        return {"view": self.has_view_permission(request)}
