"""The Prometheus endpoint: who may scrape it, figures that match the database, a fixed query count."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from solana_payments.models import OneTimeWallet, OperationItem, OperationRun, Payment
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

TOKEN = "a-long-metrics-token-0123456789"
URL = "/pay/metrics/"  # the demo project includes the app's URLs under pay/


@pytest.fixture(autouse=True)
def metrics_settings(configure, settings):
    settings.ROOT_URLCONF = "demo.urls"
    configure(METRICS_TOKEN=TOKEN, METRICS_CACHE_SECONDS=30)
    cache.clear()
    yield
    cache.clear()


def scrape(client, token=TOKEN):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((f"solana_payments_{name}", tuple(sorted(labels.items()))))


@pytest.fixture
def records(tokens):
    payments, _ = make_payments(6, tokens)
    usdc, sol = tokens["USDC"], tokens["SOL"]
    # Two settled USDC payments waiting for a sweep, one flagged (paid late) SOL one, one expired.
    Payment.objects.filter(pk__in=[payments[0].pk, payments[1].pk]).update(
        status="confirmed", paid_token=usdc, paid_amount=25_000_000
    )
    Payment.objects.filter(pk=payments[2].pk).update(
        status="expired", exception="paid_late", paid_token=sol, paid_amount=500_000_000
    )
    Payment.objects.filter(pk=payments[3].pk).update(status="expired")
    OneTimeWallet.objects.filter(pk__in=[p.wallet_id for p in payments[:3]]).update(state="received_funds")
    OneTimeWallet.objects.filter(pk=payments[3].wallet_id).update(state="payment_expired")
    # What the last chain reads saw in those wallets (the dashboard's and the metrics' source)
    for payment, balances in [
        (payments[0], {usdc.mint: 25_000_000}),
        (payments[1], {usdc.mint: 25_000_000}),
        (payments[2], {"native": 500_000_000}),
        (payments[3], {"native": 1_000}),  # money in a wallet no operation will move: stranded
    ]:
        OneTimeWallet.objects.filter(pk=payment.wallet_id).update(balances=balances, holds_funds=True)
    now = timezone.now()
    sweep = OperationRun.objects.create(
        kind="sweep",
        trigger="schedule",
        status="partial",
        fees_paid=15_000,
        finished_at=now,
        rpc_calls={"sendTransaction": 3, "getMultipleAccounts": 2},
        counts={"swept": 1, "failed": 2, "rpc_retries": 4},
    )
    OperationItem.objects.bulk_create(
        [OperationItem(run=sweep, outcome="failed"), OperationItem(run=sweep, outcome="failed")]
        + [OperationItem(run=sweep, outcome="done")]
    )
    OperationRun.objects.create(
        kind="expire", trigger="command", status="succeeded", fees_paid=5_000, finished_at=now
    )
    OperationRun.objects.create(kind="recheck", trigger="schedule", status="queued")
    return payments


def test_anonymous_wrong_token_and_non_staff_are_refused(client):
    anonymous = client.get(URL)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert anonymous.content.decode().startswith("Unauthorized: send Authorization: Bearer <METRICS_TOKEN>")
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer wrong-token-wrong-token").status_code == 403
    client.force_login(User.objects.create_user("shopper", password="pw"))
    assert client.get(URL).status_code == 403


def test_token_or_a_staff_user_who_may_view_runs_may_scrape(client, configure):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    ops = User.objects.create_user("ops", password="pw", is_staff=True)
    client.force_login(ops)
    assert client.get(URL).status_code == 403  # staff, but refused the dashboard too
    assert client.get(reverse("admin:solana_payments_dashboard")).status_code == 403
    ops.user_permissions.add(Permission.objects.get(codename="view_operationrun"))
    assert client.get(URL).status_code == 200
    configure(METRICS_TOKEN=None)  # no token set: a bearer header proves nothing
    client.logout()
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403


def test_figures_match_the_database(client, records, configure):
    configure(HOLD_FLAGGED_FUNDS=["paid_late"])
    samples = scrape(client)
    assert value(samples, "payments", status="initiated", exception="none") == 2
    assert value(samples, "payments", status="confirmed", exception="none") == 2
    assert value(samples, "payments", status="expired", exception="paid_late") == 1
    assert value(samples, "payments", status="expired", exception="none") == 1
    assert value(samples, "wallets", state="received_funds") == 3
    assert value(samples, "wallets", state="payment_expired") == 1
    assert value(samples, "wallets", state="created") == 2
    assert value(samples, "funds_waiting_base_units", token="USDC") == 50_000_000
    assert value(samples, "funds_waiting_base_units", token="SOL") is None
    assert value(samples, "funds_held_base_units", token="SOL") == 500_000_000
    assert value(samples, "funds_held_base_units", token="USDC") is None
    assert value(samples, "funds_stranded_base_units", token="SOL") == 1_000
    assert value(samples, "runs", kind="sweep", status="partial") == 1
    assert value(samples, "runs", kind="recheck", status="queued") == 1
    assert value(samples, "items_failed", kind="sweep") == 2
    assert value(samples, "fees_paid_lamports_total", kind="sweep") == 15_000
    assert value(samples, "fees_paid_lamports_total", kind="expire") == 5_000
    assert value(samples, "rpc_calls_last_hour", kind="sweep", method="sendTransaction") == 3
    assert value(samples, "rpc_retries_last_hour", kind="sweep") == 4
    expire = OperationRun.objects.get(kind="expire")
    assert value(samples, "last_success_timestamp_seconds", kind="expire") == pytest.approx(
        expire.finished_at.timestamp()
    )
    assert value(samples, "last_success_timestamp_seconds", kind="sweep") is None
    assert value(samples, "oldest_queued_run_age_seconds") >= 0
    assert value(samples, "queue_tasks") is not None
    assert value(samples, "rpc_up") == 0  # the test settings point at a closed port


def test_fee_payer_balance_comes_from_the_chain(client, shop):
    samples = scrape(client)
    assert value(samples, "rpc_up") == 1
    assert value(samples, "fee_payer_balance_lamports") == shop.localnet.get_balance(
        shop.localnet.fee_payer.pubkey()
    )


def test_query_count_is_fixed_and_figures_are_cached(client, tokens, configure):
    make_payments(2, tokens)
    with CaptureQueriesContext(connection) as few:
        scrape(client)
    cache.clear()
    payments, _ = make_payments(40, tokens)
    Payment.objects.filter(pk__in=[p.pk for p in payments[:20]]).update(status="confirmed")
    for _ in range(5):
        run = OperationRun.objects.create(
            kind="sweep", trigger="schedule", status="succeeded", finished_at=timezone.now()
        )
        OperationItem.objects.create(run=run, outcome="failed")
    with CaptureQueriesContext(connection) as many:
        scrape(client)
    assert len(many) == len(few)
    with CaptureQueriesContext(connection) as cached:
        samples = scrape(client)
    assert len(cached) < len(few)
    assert value(samples, "payments", status="initiated", exception="none") == 22


@pytest.mark.parametrize("setting", [{"METRICS_TOKEN": "short"}, {"METRICS_CACHE_SECONDS": -1}])
def test_bad_metrics_settings_are_system_check_errors(configure, setting):
    from solana_payments.checks import check_settings

    configure(**setting)
    assert {"solana_payments.E023", "solana_payments.E020"} & {error.id for error in check_settings()}


def test_previews_are_no_runs_to_alert_on(client):
    from datetime import timedelta

    now = timezone.now()
    real = OperationRun.objects.create(
        kind="refund", trigger="admin_action", status="succeeded", finished_at=now - timedelta(hours=1)
    )
    for minutes in range(7):  # previews shown on the desk: the last one after the real run
        OperationRun.objects.create(
            kind="refund",
            trigger="admin_action",
            status="succeeded",
            parameters={"dry_run": True},
            finished_at=now - timedelta(minutes=minutes),
        )
    OperationRun.objects.create(
        kind="sweep", trigger="dashboard", status="failed", parameters={"dry_run": True}
    )
    samples = scrape(client)
    assert value(samples, "runs", kind="refund", status="succeeded") == 1
    assert value(samples, "runs", kind="sweep", status="failed") is None
    assert value(samples, "last_success_timestamp_seconds", kind="refund") == real.finished_at.timestamp()
