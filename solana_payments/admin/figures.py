"""The dashboard's figures from the database: what each operation would take now, the funds the chain
reads found, the last and the recent runs. Every figure is an aggregate, so a page makes the same number
of queries whatever the number of payments.
"""

import logging

from django.db.models import BigIntegerField, Count, Q, Sum
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from ..amounts import format_sol
from ..dry_runs import not_dry_run
from ..funds import funds_on_chain
from ..models import (
    FINISHED_RUN_STATUSES,
    RENT_OWED,
    OneTimeWallet,
    OperationRun,
    Payment,
    WalletState,
)
from ..operations import operation_kinds
from .permissions import can_run_any

logger = logging.getLogger(__name__)

RECENT_RUNS = 10
CLOSED = WalletState.PAYMENT_EXPIRED_AND_WALLET_CLOSED


def can_see_dashboard(user):
    return user.has_perm("solana_payments.view_operationrun") or can_run_any(user)


def settled_worth(since):
    """``[(currency, total price, payments)]`` of the payments priced in a currency, created ``since`` and
    settled: what the shop sold, in its own money (one aggregate query)."""
    from ..amounts import plain_decimal
    from ..models import SETTLED_STATUSES

    rows = (
        Payment.objects.filter(status__in=SETTLED_STATUSES, created_at__gte=since)
        .exclude(currency="")
        .order_by()
        .values_list("currency")
        .annotate(total=Sum("price"), n=Count("pk"))
        .order_by("currency")
    )
    return [(currency, plain_decimal(total), n) for currency, total, n in rows]


def eligible_now(now):
    """``{name: (label, value, warn)}``: the figures the tiles show (each operation names its own in
    ``tile_figures``), from aggregate queries that each read through an index.

    With a million payments no figure reads the whole table: the counts read the rows of their status or
    state, and the rent sums only the wallets that owe rent (``RENT_OWED`` is not 0, by an expression index;
    a wallet that owes none adds nothing to the sums anyway).
    """
    payments = (
        Payment.objects.initiated()
        .order_by()
        .aggregate(initiated=Count("pk"), overdue=Count("pk", filter=Q(expires_at__lt=now)))
    )
    wallets = (
        OneTimeWallet.objects.filter(
            state__in=[WalletState.PAYMENT_EXPIRED, WalletState.FAILED_TO_SEND_FUNDS]
        )
        .order_by()
        .aggregate(
            expired=Count("pk", filter=Q(state=WalletState.PAYMENT_EXPIRED)),
            failed_to_send=Count("pk", filter=Q(state=WalletState.FAILED_TO_SEND_FUNDS)),
        )
    )
    wallets.update(
        OneTimeWallet.objects.annotate(owed=RENT_OWED)
        .filter(Q(owed__gt=0) | Q(owed__lt=0))
        .exclude(state=CLOSED)
        .order_by()
        .aggregate(
            rent_outstanding=Sum("owed", output_field=BigIntegerField()),
            rent_reclaimable=Sum(
                "owed", filter=Q(state=WalletState.PAYMENT_EXPIRED), output_field=BigIntegerField()
            ),
        )
    )
    ready_count = Payment.objects.ready_to_sweep().order_by().count()
    funds = funds_on_chain()
    return {
        "initiated_payments": ("Initiated payments", payments["initiated"], False),
        "overdue_of_initiated": ("of which past their deadline", payments["overdue"], False),
        "overdue_payments": ("Initiated past their deadline", payments["overdue"], False),
        "wallets_ready": ("Wallets ready to sweep", ready_count, False),
        "funds_waiting": (
            "Funds waiting to be swept (as last read on chain)",
            funds_link(funds, "waiting"),
            False,
        ),
        "funds_held": (
            "Held funds (HOLD_FLAGGED_FUNDS)",
            funds_link(funds, "held"),
            bool(funds["held"]["wallets"]),
        ),
        "funds_stranded": (
            "Stranded funds",
            funds_link(funds, "stranded"),
            bool(funds["stranded"]["wallets"]),
        ),
        "failed_to_send": ("Failed to send", wallets["failed_to_send"], bool(wallets["failed_to_send"])),
        "expired_wallets": ("Expired wallets to close", wallets["expired"], False),
        "rent_reclaimable": ("Rent to reclaim from them", format_sol(wallets["rent_reclaimable"]), False),
        "rent_outstanding": (
            "Rent outstanding (wallets not closed)",
            format_sol(wallets["rent_outstanding"]),
            False,
        ),
    }


def tile_figures(operation_class, figures):
    """The figures an operation's tile shows (its ``tile_figures``), from ``eligible_now``'s: ``per_run_limit``
    is its own ``default_limit``."""
    rows = []
    for name in operation_class.tile_figures:
        if name == "per_run_limit":
            rows.append(
                ("Per run", f"at most {operation_class.default_limit} {operation_class.model}s", False)
            )
        else:
            rows.append(figures[name])
    return rows


def funds_link(funds, category):
    """ "3 wallets (1.5 SOL, 25 USDC)", linked to the payments concerned."""
    figure = funds[category]
    text = f"{figure['wallets']} wallet{pluralize(figure['wallets'])}"
    if figure["amounts"]:
        text += f" ({', '.join(figure['amounts'])})"
    if not figure["wallets"]:
        return text
    url = reverse("admin:solana_payments_payment_changelist") + f"?funds={category}"
    return format_html('<a href="{}">{}</a>', url, text)


def last_runs():
    """The latest real run of each kind: one query a kind, each the top of the (kind, created) index."""
    runs = {}
    for kind in operation_kinds():
        run = OperationRun.objects.filter(not_dry_run(), kind=kind).order_by("-created_at", "-pk").first()
        if run is not None:
            runs[kind] = run
    return runs


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
