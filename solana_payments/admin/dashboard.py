"""The operations dashboard: what each operation would take now, recent runs with live progress, the
health of the django-q2 cluster, of the schedules and of the RPC node, and payments per day.

Everything from the database is an aggregate, so a page makes the same number of queries whatever the
number of payments. Chain figures are cached for ``DASHBOARD_CACHE_SECONDS``, so a page load makes at
most three RPC calls (``getSlot``, ``getBalance``, and ``getAccountInfo`` of the receiver), and a node
that is down shows a warning, not an error.
django-q2 is imported inside the functions: its ``Conf`` reads the settings when imported.
"""

import datetime
import hashlib
import logging

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import BigIntegerField, Count, F, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from ..amounts import format_units
from ..conf import app_settings
from ..exceptions import SolanaPaymentsError
from ..funds import funds_on_chain
from ..jobs import SCHEDULE_PREFIX, fail_stale_runs, schedule_intervals
from ..models import (
    FINISHED_RUN_STATUSES,
    Dashboard,
    OneTimeWallet,
    OperationKind,
    OperationRun,
    Payment,
    PaymentStatus,
    WalletState,
)
from ..operations import get_operation_class
from ..operations.base import summary_line
from .actions import CHANGE_LIST_TEMPLATE, operation_view
from .desk import desk_notices, refund_wallet_figures
from .permissions import OPERATION_KINDS, RunPermissionsMixin, can_run, can_run_any

logger = logging.getLogger(__name__)

CHAIN_CACHE_KEY = "solana_payments:dashboard:chain"
RECENT_RUNS = 10
WAITING_RUN_SECONDS = 60
CHART_DAYS = 30
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM, CHART_TOP = 620, 180, 34, 22, 8
# Stacked from the bottom up: settled first, then open, then expired.
CHART_STATUSES = (
    PaymentStatus.FINALIZED,
    PaymentStatus.CONFIRMED,
    PaymentStatus.PROCESSED,
    PaymentStatus.INITIATED,
    PaymentStatus.EXPIRED,
)
CLOSED = WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED


def can_see_dashboard(user):
    return user.has_perm("solana_payments.view_operationrun") or can_run_any(user)


def not_dry_run():
    """Previews (dry runs) are recorded runs too, but they are not what the dashboard reports."""
    return ~Q(parameters__dry_run=True) | Q(parameters__dry_run__isnull=True)


def sol(lamports):
    return f"{format_units(lamports or 0, 9)} SOL"


# -- what each operation would take now ---------------------------------------------------------------


def eligible_now(now):
    """The figures of the four tiles, from three aggregate queries."""
    payments = Payment.objects.order_by().aggregate(
        initiated=Count("pk", filter=Q(status=PaymentStatus.INITIATED)),
        overdue=Count("pk", filter=Q(status=PaymentStatus.INITIATED, expires_at__lt=now)),
    )
    outstanding = F("rent_paid") - F("rent_reclaimed")
    wallets = OneTimeWallet.objects.order_by().aggregate(
        expired=Count("pk", filter=Q(state=WalletState.PAYMENT_EXPIRED)),
        failed_to_send=Count("pk", filter=Q(state=WalletState.FAILED_TO_SEND_FUNDS)),
        rent_outstanding=Sum(outstanding, filter=~Q(state=CLOSED), output_field=BigIntegerField()),
        rent_reclaimable=Sum(
            outstanding, filter=Q(state=WalletState.PAYMENT_EXPIRED), output_field=BigIntegerField()
        ),
    )
    ready_count = Payment.objects.ready_to_sweep().order_by().count()
    funds = funds_on_chain()
    return {
        OperationKind.RECHECK: [
            ("Initiated payments", payments["initiated"], False),
            ("of which past their deadline", payments["overdue"], False),
            (
                "Per run",
                f"at most {get_operation_class(OperationKind.RECHECK).default_limit} payments",
                False,
            ),
        ],
        OperationKind.EXPIRE: [
            ("Initiated past their deadline", payments["overdue"], False),
        ],
        OperationKind.SWEEP: [
            ("Wallets ready to sweep", ready_count, False),
            ("Funds waiting to be swept (as last read on chain)", funds_link(funds, "waiting"), False),
            ("Held funds (HOLD_FLAGGED_FUNDS)", funds_link(funds, "held"), bool(funds["held"]["wallets"])),
            ("Stranded funds", funds_link(funds, "stranded"), bool(funds["stranded"]["wallets"])),
            ("Failed to send", wallets["failed_to_send"], bool(wallets["failed_to_send"])),
        ],
        OperationKind.RECLAIM: [
            ("Expired wallets to close", wallets["expired"], False),
            ("Rent to reclaim from them", sol(wallets["rent_reclaimable"]), False),
            ("Rent outstanding (wallets not closed)", sol(wallets["rent_outstanding"]), False),
        ],
    }


def funds_link(funds, category):
    """ "3 wallets (1.5 SOL, 25 USDC)", linked to the payments concerned."""
    figure = funds[category]
    text = f"{figure['wallets']} wallets"
    if figure["amounts"]:
        text += f" ({', '.join(figure['amounts'])})"
    if not figure["wallets"]:
        return text
    url = reverse("admin:solana_payments_payment_changelist") + f"?funds={category}"
    return format_html('<a href="{}">{}</a>', url, text)


def last_runs():
    """The latest real run of each kind (two queries)."""
    latest = (
        OperationRun.objects.filter(not_dry_run(), kind__in=OPERATION_KINDS)
        .order_by()
        .values("kind")
        .annotate(last=Max("pk"))
    )
    runs = OperationRun.objects.in_bulk([row["last"] for row in latest])
    return {run.kind: run for run in runs.values()}


def recent_runs():
    return list(
        OperationRun.objects.filter(not_dry_run(), parent__isnull=True)
        .select_related("requested_by")
        .order_by("-created_at", "-pk")[:RECENT_RUNS]
    )


def run_status(run, admin_name):
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "status_display": run.get_status_display(),
        "done": run.done,
        "total": run.total,
        "percent": run.progress_percent,
        "finished": run.status in FINISHED_RUN_STATUSES,
        "url": reverse("admin:solana_payments_operationrun_change", args=[run.pk], current_app=admin_name),
    }


# -- django-q2 ---------------------------------------------------------------------------------------


def cluster_health():
    """Clusters seen (``Stat.get_all()``), tasks in the broker, and runs waiting for a worker."""
    from django.core.cache import caches
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache
    from django_q.brokers import Broker, get_broker
    from django_q.conf import Conf
    from django_q.status import Stat

    cutoff = timezone.now() - datetime.timedelta(seconds=WAITING_RUN_SECONDS)
    waiting = OperationRun.objects.filter(status="queued").aggregate(
        queued=Count("pk"), waiting=Count("pk", filter=Q(created_at__lt=cutoff)), oldest=Min("created_at")
    )
    health = {
        "sync": bool(Conf.SYNC),
        "clusters": [],
        "workers": 0,
        "tasks_queued": None,
        "tasks_taken": None,
        "runs_queued": waiting["queued"],
        "runs_waiting": waiting["waiting"],
        "oldest_queued": waiting["oldest"],
        "broker": "",
        "error": "",
        "local_cache": False,
    }
    try:
        if Conf.ORM:
            from django_q.models import OrmQ

            # Read the queue with one query; the ORM broker's own methods close old connections.
            broker = Broker(list_key=Conf.CLUSTER_NAME)
            now = timezone.now()
            tasks = OrmQ.objects.using(Conf.ORM).aggregate(
                queued=Count("pk", filter=Q(lock__lte=now) | Q(lock__isnull=True)),
                taken=Count("pk", filter=Q(lock__gt=now)),
            )
            health["broker"] = f"ORM ({Conf.ORM})"
            health["tasks_queued"], health["tasks_taken"] = tasks["queued"], tasks["taken"]
            health["local_cache"] = isinstance(caches[Conf.CACHE], LocMemCache | DummyCache)
        else:
            broker = get_broker()
            health["broker"] = broker.info() or type(broker).__name__
            health["tasks_queued"] = broker.queue_size()
            health["tasks_taken"] = broker.lock_size()
        stats = Stat.get_all(broker=broker)
    except Exception as exc:  # a broker that is down must not take the page down
        logger.warning("django-q2 broker could not be read: %s", exc)
        health["error"] = f"{type(exc).__name__}: {exc}"
        return health
    for stat in stats:
        health["clusters"].append(
            {
                "id": str(stat.cluster_id),
                "host": stat.host,
                "status": str(stat.status),
                "workers": len(stat.workers or ()),
                "since": stat.tob,
            }
        )
    health["workers"] = sum(c["workers"] for c in health["clusters"])
    return health


def cluster_warning(health=None):
    """The plain sentence shown when queued runs would not start, or ""."""
    health = health or cluster_health()
    if health["sync"]:
        return ""
    if health["error"]:
        return f"The django-q2 broker could not be read ({health['error']}): queued runs may not start."
    if not health["clusters"]:
        text = "No django-q2 cluster is running: queued runs wait until `manage.py qcluster` runs."
        if health["local_cache"]:
            text += (
                " (django-q2 reports its clusters through the Django cache, which is local to each process"
                " here: configure a shared cache to see a cluster running elsewhere.)"
            )
        return text
    if health["runs_waiting"]:
        return f"{health['runs_waiting']} run(s) have waited more than a minute for a worker."
    return ""


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


# -- the chain -------------------------------------------------------------------------------------


def chain_health():
    """Slot, latency and fee payer balance, cached for ``DASHBOARD_CACHE_SECONDS``."""
    seconds = app_settings.DASHBOARD_CACHE_SECONDS
    key = f"{CHAIN_CACHE_KEY}:{hashlib.sha256(str(app_settings.RPC_URL).encode()).hexdigest()[:16]}"
    if seconds:
        cached = cache.get(key)
        if cached is not None:
            return cached
    figures = read_chain()
    if seconds:
        cache.set(key, figures, seconds)
    return figures


def read_chain():
    from ..chain.client import ChainClient
    from ..chain.keypairs import parse_keypair

    threshold = app_settings.FEE_PAYER_LOW_BALANCE_LAMPORTS
    figures = {
        "ok": False,
        "url": "",
        "slot": None,
        "latency_ms": None,
        "error": "",
        "fee_payer": "",
        "balance": None,
        "balance_sol": "",
        "balance_error": "",
        "low_balance": False,
        "threshold_sol": sol(threshold),
        "checked_at": timezone.now(),
        "receiver_warning": "",
    }
    try:
        timeout = min(float(app_settings.RPC_TIMEOUT or 5), 5.0)
        client = ChainClient.from_settings(max_retry_seconds=0, timeout=timeout)
    except (SolanaPaymentsError, ValueError) as exc:
        figures["error"] = str(exc)
        return figures
    try:
        health = client.health()
        figures.update(
            ok=health.ok,
            url=health.url,
            slot=health.slot,
            latency_ms=health.latency_ms,
            error=health.error or "",
        )
        if health.ok:
            try:
                fee_payer = parse_keypair(app_settings.FEE_PAYER_KEYPAIR).pubkey()
                figures["fee_payer"] = str(fee_payer)
                balance = client.get_balance(fee_payer)
            except (SolanaPaymentsError, ValueError) as exc:
                figures["balance_error"] = str(exc)
            else:
                figures.update(balance=balance, balance_sol=sol(balance), low_balance=balance < threshold)
            figures["receiver_warning"] = receiver_warning(client)
            figures.update(refund_wallet_figures(client))
    finally:
        client.close()
    return figures


def receiver_warning(client):
    """A plain sentence when the receiver on chain is not a plain system account, or "".

    Sweeps send SOL and open token accounts for the receiver: a token account, a mint or a program's
    account there would take money no one can move. A receiver that does not exist yet is fine.
    """
    from ..chain.accounts import SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
    from ..chain.keypairs import parse_pubkey

    try:
        receiver = parse_pubkey(app_settings.RECEIVER_ADDRESS)
        if not receiver.is_on_curve():
            return f"The receiver {receiver} is off curve: no key can sign for what is swept there."
        account = client.get_account(receiver)
    except (SolanaPaymentsError, ValueError) as exc:
        return f"The receiver wallet could not be checked: {exc}"
    if account is None or account.owner == SYSTEM_PROGRAM_ID:
        return ""
    owner = {TOKEN_PROGRAM_ID: "the SPL Token program", TOKEN_2022_PROGRAM_ID: "the SPL Token-2022 program"}
    return (
        f"The receiver {receiver} is not a plain wallet: on chain it belongs to "
        f"{owner.get(account.owner, f'the program {account.owner}')}, not the system program. "
        "Sweeps would send customers' money there; set RECEIVER_ADDRESS to the merchant's wallet."
    )


# -- payments per day ----------------------------------------------------------------------------------


def payments_chart(now):
    """Payments created per day by status over the last 30 days, as geometry for an inline SVG."""
    today = timezone.localdate(now)
    first = today - datetime.timedelta(days=CHART_DAYS - 1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    rows = (
        Payment.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "status")
        .annotate(n=Count("pk"))
    )
    counts = {(row["day"], row["status"]): row["n"] for row in rows}
    days = [first + datetime.timedelta(days=i) for i in range(CHART_DAYS)]
    totals = [sum(counts.get((day, s), 0) for s in CHART_STATUSES) for day in days]
    peak = max(totals) or 1
    plot_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = (CHART_WIDTH - CHART_LEFT) / CHART_DAYS
    bars = []
    for index, day in enumerate(days):
        x = CHART_LEFT + index * slot + 1
        y = CHART_HEIGHT - CHART_BOTTOM
        segments, parts = [], []
        for status in CHART_STATUSES:
            n = counts.get((day, status), 0)
            if not n:
                continue
            height = plot_height * n / peak
            y -= height
            segments.append({"status": status, "x": _num(x), "y": _num(y), "height": _num(height)})
            parts.append(f"{n} {PaymentStatus(status).label}")
        bars.append(
            {
                "segments": segments,
                "title": f"{day:%Y-%m-%d}: " + (", ".join(parts) if parts else "no payments"),
            }
        )
    labels = [
        {"x": _num(CHART_LEFT + i * slot + offset), "text": f"{days[i]:%b %d}", "anchor": anchor}
        for i, offset, anchor in (
            (0, 0, "start"),
            (CHART_DAYS // 2, slot / 2, "middle"),
            (CHART_DAYS - 1, slot, "end"),
        )
    ]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "top": CHART_TOP,
        "base": CHART_HEIGHT - CHART_BOTTOM,
        "bar_width": _num(slot - 2),
        "bars": bars,
        "labels": labels,
        "label_y": CHART_HEIGHT - 6,
        "peak": max(totals),
        "total": sum(totals),
        "legend": [(status, PaymentStatus(status).label) for status in CHART_STATUSES],
    }


def _num(value):
    """SVG coordinates as plain strings: the template must not localize them ("12,5" breaks SVG)."""
    return f"{value:.2f}"


# -- the views -----------------------------------------------------------------------------------------


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
    for kind in OPERATION_KINDS:
        if get_operation_class(kind).needs_selection:
            continue  # acts on records chosen one by one (the payment pages), never "everything eligible"
        run = latest.get(kind)
        tiles.append(
            {
                "kind": kind,
                "title": OperationKind(kind).label.capitalize(),
                "description": get_operation_class(kind).description,
                "figures": figures.get(kind, []),
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
        "dashboard_url": reverse("admin:solana_payments_dashboard", current_app=admin_site.name),
        "status_url": reverse("admin:solana_payments_dashboard_status", current_app=admin_site.name),
        "runs_url": reverse("admin:solana_payments_operationrun_changelist", current_app=admin_site.name),
        "runs_export_url": runs_export_url(admin_site, request),
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


@admin.register(Dashboard)
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
