"""A Prometheus endpoint: the figures an operator alerts on (fee payer running dry, sweeps failing...).

Include ``solana_payments.urls`` (``path("pay/", include("solana_payments.urls"))``, with the checkout pages) and scrape
``metrics/``. The endpoint answers a request bearing ``Authorization: Bearer <METRICS_TOKEN>`` or a
logged-in staff user who may view the runs (``view_operationrun``, as the dashboard's figures need);
anyone else gets 403 (401 without credentials).

Scraping is cheap: the database figures come from a fixed number of aggregate queries (see
:func:`database_figures`) and are cached for ``METRICS_CACHE_SECONDS``; the chain and django-q2 figures
are the dashboard's own, cached for ``DASHBOARD_CACHE_SECONDS``. Amounts are in base units (lamports, or
the token's smallest unit), labelled with the token's symbol.
"""

import datetime
import hmac

from django.core.cache import cache
from django.db.models import Count, Max, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from .conf import app_settings
from .dry_runs import not_dry_run
from .models import (
    SETTLED_STATUSES,
    ItemOutcome,
    OneTimeWallet,
    OperationRun,
    Payment,
    RunStatus,
)

CACHE_KEY = "solana_payments:metrics"


def kinds_with_steps():
    from .operations import operation_classes

    return [kind for kind, operation_class in operation_classes().items() if operation_class.steps]


VIEW_PERMISSION = "view_operationrun"
RPC_WINDOW_SECONDS = 3600  # RPC calls and retries are reported over the runs of the last hour
PREFIX = "solana_payments_"


def database_figures(now=None):
    """Every figure the database gives, from ten queries whatever the size of the tables."""
    from .funds import funds_by_symbol

    now = now or timezone.now()
    payments = list(Payment.objects.order_by().values_list("status", "exception").annotate(n=Count("pk")))
    worth = list(
        Payment.objects.filter(status__in=SETTLED_STATUSES)
        .exclude(currency="")
        .order_by()
        .values_list("currency")
        .annotate(total=Sum("price"))
        .order_by("currency")
    )
    wallets = list(OneTimeWallet.objects.order_by().values_list("state").annotate(n=Count("pk")))
    funds = funds_by_symbol()  # from the last chain reads, as on the dashboard
    # Previews (dry runs) read the chain and change nothing: they are no run, success or failure to
    # alert on. Their RPC calls are real traffic, though, and are counted below.
    acting = OperationRun.objects.filter(not_dry_run()).order_by()
    runs = list(acting.values_list("kind", "status").annotate(n=Count("pk")))
    failed_items = list(
        acting.filter(items__outcome=ItemOutcome.FAILED).values_list("kind").annotate(n=Count("items"))
    )
    # A run made of steps (maintenance) sums its child runs up: counting it too would count them twice.
    real_runs = OperationRun.objects.exclude(kind__in=kinds_with_steps()).order_by()
    fees = list(real_runs.values_list("kind").annotate(fees=Sum("fees_paid")))
    last_success = list(
        acting.filter(status=RunStatus.SUCCEEDED).values_list("kind").annotate(at=Max("finished_at"))
    )
    since = now - datetime.timedelta(seconds=RPC_WINDOW_SECONDS)
    recent = list(real_runs.filter(finished_at__gte=since).values_list("kind", "rpc_calls", "counts"))
    oldest_queued = (
        OperationRun.objects.filter(status=RunStatus.QUEUED)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:1]
    )
    oldest_queued = list(oldest_queued)
    rpc_calls, rpc_retries = {}, {}
    for kind, calls, counts in recent:
        for method, n in (calls or {}).items():
            rpc_calls[(kind, method)] = rpc_calls.get((kind, method), 0) + n
        rpc_retries[kind] = rpc_retries.get(kind, 0) + (counts or {}).get("rpc_retries", 0)
    return {
        "computed_at": now.timestamp(),
        "payments": [(s, e or "none", n) for s, e, n in payments],
        "settled_value": [(currency, float(total or 0)) for currency, total in worth],
        "wallets": wallets,
        "funds_waiting": sorted(funds["waiting"].items()),
        "funds_held": sorted(funds["held"].items()),
        "funds_stranded": sorted(funds["stranded"].items()),
        "runs": runs,
        "items_failed": failed_items,
        "fees_paid": [(kind, fees or 0) for kind, fees in fees],
        "last_success": [(kind, at.timestamp()) for kind, at in last_success if at],
        "rpc_calls": [(kind, method, n) for (kind, method), n in sorted(rpc_calls.items())],
        "rpc_retries": sorted(rpc_retries.items()),
        "oldest_queued_run": oldest_queued[0].timestamp() if oldest_queued else None,
    }


def cached_database_figures():
    seconds = app_settings.METRICS_CACHE_SECONDS
    figures = cache.get(CACHE_KEY) if seconds else None
    if figures is None:
        figures = database_figures()
        if seconds:
            cache.set(CACHE_KEY, figures, seconds)
    return figures


class SolanaPaymentsCollector:
    """A ``prometheus_client`` collector over one snapshot of the figures."""

    def __init__(self, figures, chain, queue):
        self.figures, self.chain, self.queue = figures, chain, queue

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        f = self.figures

        def gauge(name, doc, labels, rows):
            metric = GaugeMetricFamily(PREFIX + name, doc, labels=labels)
            for *values, value in rows:
                metric.add_metric([str(v) for v in values], value)
            return metric

        def counter(name, doc, labels, rows):
            metric = CounterMetricFamily(PREFIX + name, doc, labels=labels)
            for *values, value in rows:
                metric.add_metric([str(v) for v in values], value)
            return metric

        yield gauge("payments", "Payments by status and exception.", ["status", "exception"], f["payments"])
        yield gauge(
            "payments_settled_value",
            "What the settled payments priced in a currency were worth (their prices), per currency.",
            ["currency"],
            f.get("settled_value", []),
        )
        yield gauge("wallets", "One-time wallets by state.", ["state"], f["wallets"])
        yield gauge(
            "funds_waiting_base_units",
            "Funds the last chain reads saw in wallets waiting to be swept, in the token's base units.",
            ["token"],
            f["funds_waiting"],
        )
        yield gauge(
            "funds_held_base_units",
            "Funds kept in their wallets by HOLD_FLAGGED_FUNDS, as the last chain reads saw them.",
            ["token"],
            f["funds_held"],
        )
        yield gauge(
            "funds_stranded_base_units",
            "Funds the chain reads saw in wallets no operation will move (see the dashboard's link).",
            ["token"],
            f["funds_stranded"],
        )
        yield gauge(
            "runs", "Operation runs by kind and status (previews left out).", ["kind", "status"], f["runs"]
        )
        yield gauge(
            "items_failed",
            "Failed items of runs still on record, by kind of run.",
            ["kind"],
            f["items_failed"],
        )
        yield counter("fees_paid_lamports", "Transaction fees paid, by operation.", ["kind"], f["fees_paid"])
        yield gauge(
            "last_success_timestamp_seconds",
            "When the last successful run (not a preview) of each operation finished (Unix time).",
            ["kind"],
            f["last_success"],
        )
        yield gauge(
            "rpc_calls_last_hour",
            "RPC calls made by the runs that finished in the last hour, by operation and method.",
            ["kind", "method"],
            f["rpc_calls"],
        )
        yield gauge(
            "rpc_retries_last_hour",
            "RPC requests repeated (429, 5xx, timeouts) by the runs that finished in the last hour.",
            ["kind"],
            f["rpc_retries"],
        )
        oldest = f["oldest_queued_run"]
        yield gauge(
            "oldest_queued_run_age_seconds",
            "Age of the oldest run waiting for a worker (0 when none waits).",
            [],
            [(max(0.0, timezone.now().timestamp() - oldest) if oldest else 0.0,)],
        )
        if self.queue is not None:
            yield gauge("queue_tasks", "Tasks waiting in the django-q2 broker.", [], [(self.queue,)])
        if self.chain.get("balance") is not None:
            yield gauge(
                "fee_payer_balance_lamports", "The fee payer's balance.", [], [(self.chain["balance"],)]
            )
        yield gauge(
            "rpc_up",
            "1 when the RPC node answered the last health check.",
            [],
            [(int(bool(self.chain.get("ok"))),)],
        )
        yield gauge(
            "metrics_computed_timestamp_seconds",
            "When the database figures above were computed (they are cached).",
            [],
            [(f["computed_at"],)],
        )


def render_metrics():
    """The Prometheus text exposition of every figure."""
    from prometheus_client import CollectorRegistry, generate_latest

    from .health import chain_health, cluster_health

    registry = CollectorRegistry(auto_describe=False)
    queue = cluster_health().get("tasks_queued")
    registry.register(SolanaPaymentsCollector(cached_database_figures(), chain_health(), queue))
    return generate_latest(registry)


def authorized(request):
    """A bearer token equal to ``METRICS_TOKEN``, or a logged-in staff user allowed to view the runs."""
    token = app_settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").encode(), str(token).encode())
    user = getattr(request, "user", None)
    return bool(
        user is not None
        and user.is_active
        and user.is_staff
        and user.has_perm(f"solana_payments.{VIEW_PERMISSION}")
    )


@never_cache
def metrics_view(request):
    if not authorized(request):
        user = getattr(request, "user", None)
        has_credentials = "Authorization" in request.headers or bool(user and user.is_authenticated)
        if not has_credentials:
            response = HttpResponse(
                "Unauthorized: send Authorization: Bearer <METRICS_TOKEN>, or log in as staff.",
                status=401,
                content_type="text/plain",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
