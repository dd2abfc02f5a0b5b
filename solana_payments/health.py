"""The health the dashboard and the metrics show: the django-q2 cluster and the RPC node (with the fee
payer's balance and the receiver's account). Chain figures are cached for ``DASHBOARD_CACHE_SECONDS``, so a
page load makes at most three RPC calls, and a node that is down shows a warning, not an error.
django-q2 is imported inside the functions: its ``Conf`` reads the settings when imported.
"""

import datetime
import hashlib
import logging

from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.utils import timezone

from .amounts import format_sol, format_units
from .conf import app_settings
from .exceptions import SolanaPaymentsError
from .models import OperationRun

logger = logging.getLogger(__name__)

CHAIN_CACHE_KEY = "solana_payments:dashboard:chain"
WAITING_RUN_SECONDS = 60


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
    from .chain.keypairs import parse_keypair
    from .chain_client import chain_client

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
        "threshold_sol": format_sol(threshold),
        "checked_at": timezone.now(),
        "receiver_warning": "",
    }
    try:
        timeout = min(float(app_settings.RPC_TIMEOUT or 5), 5.0)
        client = chain_client(max_retry_seconds=0, timeout=timeout)
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
                figures.update(balance=balance, balance_sol=format_sol(balance), low_balance=balance < threshold)
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
    from .chain.accounts import SYSTEM_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
    from .chain.keypairs import parse_pubkey

    try:
        receiver = parse_pubkey(app_settings.RECEIVER_ADDRESS)
        if not receiver.is_on_curve():
            return f"The receiver {receiver} is off curve: no key can sign for what is swept there."
        (account,) = client.get_accounts([receiver])
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


def refund_wallet_figures(client):
    """The refund wallet's SOL balance for the dashboard's chain card, and whether it is low."""
    from .chain.keypairs import parse_keypair

    if not app_settings.REFUND_WALLET_KEYPAIR:
        return {"refund_wallet": ""}
    try:
        address = parse_keypair(app_settings.REFUND_WALLET_KEYPAIR, name="REFUND_WALLET_KEYPAIR").pubkey()
        balance = client.get_balance(address)
    except (SolanaPaymentsError, ValueError) as exc:
        return {"refund_wallet": "?", "refund_wallet_error": str(exc)}
    return {
        "refund_wallet": str(address),
        "refund_wallet_sol": format_units(balance, 9),
        "refund_wallet_low": balance < app_settings.REFUND_WALLET_LOW_BALANCE_LAMPORTS,
    }
