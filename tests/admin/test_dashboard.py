"""The operations dashboard: figures, recent runs, health, the chart, the status endpoint and its cost."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from solders.pubkey import Pubkey

from solana_payments import jobs
from solana_payments.models import OneTimeWallet, OperationRun, Payment
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("admin:solana_payments_dashboard")
STATUS = reverse("admin:solana_payments_dashboard_status")
NO_CLUSTER = "No django-q2 cluster is running: queued runs wait until `manage.py qcluster` runs."


@pytest.fixture(autouse=True)
def fresh_cache():
    """Chain figures and django-q2 cluster stats live in the cache: start each test without them."""
    cache.clear()
    yield
    cache.clear()


def figures(response):
    return {
        tile["kind"]: {label: value for label, value, _ in tile["figures"]}
        for tile in response.context["tiles"]
    }


def set_payment(payment, **values):
    wallet_values = {k[len("wallet_") :]: values.pop(k) for k in list(values) if k.startswith("wallet_")}
    Payment.objects.filter(pk=payment.pk).update(**values)
    OneTimeWallet.objects.filter(pk=payment.wallet_id).update(**wallet_values)


def test_tiles_show_what_each_operation_would_take_now(admin_client, tokens):
    make_payments(3, tokens)
    make_payments(2, tokens, expires_in=-60)
    (settled, late, expired, closed), _ = make_payments(4, tokens)
    set_payment(
        settled,
        status="confirmed",
        paid_token=tokens["SOL"],
        paid_amount=500_000_000,
        wallet_state="received_funds",
    )
    set_payment(
        late,
        status="expired",
        exception="paid_late",
        paid_token=tokens["USDC"],
        paid_amount=25_000_000,
        wallet_state="received_funds",
    )
    set_payment(expired, status="expired", wallet_state="payment_expired", wallet_rent_paid=4_113_360)
    set_payment(
        closed, status="expired", wallet_state="payment_expired_and_wallet_closed", wallet_rent_paid=2_039_280
    )
    # what the last chain reads saw in the two wallets waiting to be swept
    OneTimeWallet.objects.filter(pk=settled.wallet_id).update(
        balances={"native": 500_000_000}, holds_funds=True
    )
    OneTimeWallet.objects.filter(pk=late.wallet_id).update(
        balances={tokens["USDC"].mint: 25_000_000}, holds_funds=True
    )
    response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    shown = figures(response)
    assert shown["recheck"]["Initiated payments"] == 5
    assert shown["recheck"]["of which past their deadline"] == 2
    assert shown["expire"]["Initiated past their deadline"] == 2
    assert shown["sweep"]["Wallets ready to sweep"] == 2
    assert strip_tags(shown["sweep"]["Funds waiting to be swept (as last read on chain)"]) == (
        "2 wallets (0.5 SOL, 25 USDC)"
    )
    assert shown["sweep"]["Held funds (HOLD_FLAGGED_FUNDS)"] == "0 wallets"
    assert shown["sweep"]["Stranded funds"] == "0 wallets"
    assert shown["reclaim"]["Expired wallets to close"] == 1
    OneTimeWallet.objects.filter(pk=late.wallet_id).update(balances={}, holds_funds=False)
    one = strip_tags(
        figures(admin_client.get(DASHBOARD))["sweep"]["Funds waiting to be swept (as last read on chain)"]
    )
    assert one == "1 wallet (0.5 SOL)"  # not "1 wallets"
    assert shown["reclaim"]["Rent to reclaim from them"] == "0.00411336 SOL"
    assert shown["reclaim"]["Rent outstanding (wallets not closed)"] == "0.00411336 SOL"
    html = response.content.decode()
    for kind in ("recheck", "expire", "sweep", "reclaim"):
        assert f'value="Run {kind}…"' in html
    assert html.count('name="csrfmiddlewaretoken"') >= 4


def test_last_and_recent_runs_leave_previews_out(admin_client, tokens):
    done = OperationRun.objects.create(
        kind="sweep", trigger="schedule", status="succeeded", total=4, done=4, counts={"swept": 4}
    )
    running = OperationRun.objects.create(
        kind="recheck", trigger="dashboard", status="running", total=10, done=3
    )
    preview = OperationRun.objects.create(
        kind="sweep", trigger="dashboard", status="succeeded", parameters={"dry_run": True}
    )
    response = admin_client.get(DASHBOARD)
    tiles = {tile["kind"]: tile for tile in response.context["tiles"]}
    assert tiles["sweep"]["last_run"] == done and "swept=4" in tiles["sweep"]["last_run_summary"]
    assert tiles["recheck"]["last_run"] == running and tiles["expire"]["last_run"] is None
    assert response.context["runs"] == [running, done]
    html = response.content.decode()
    assert f'data-run-id="{running.pk}" data-run-active="true"' in html
    assert '<progress class="sp-progress" max="100" value="30"' in html
    assert f'data-run-id="{preview.pk}"' not in html
    assert 'src="/static/solana_payments/dashboard.js"' in html


def test_status_endpoint_reports_progress(admin_client, tokens):
    run = OperationRun.objects.create(kind="expire", trigger="dashboard", status="running", total=8, done=2)
    response = admin_client.get(STATUS)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["active"] == 1
    assert data["runs"] == [
        {
            "id": run.pk,
            "kind": "expire",
            "status": "running",
            "status_display": "running",
            "done": 2,
            "total": 8,
            "percent": 25,
            "finished": False,
            "url": reverse("admin:solana_payments_operationrun_change", args=[run.pk]),
        }
    ]


def test_dashboard_needs_a_run_or_view_permission(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(STATUS).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="run_recheck"))
    user = django_user_model.objects.get(pk=user.pk)  # permissions are cached on the user object
    client.force_login(user)
    assert client.get(DASHBOARD).status_code == 200
    assert client.get(STATUS).status_code == 200


def test_query_count_does_not_grow_with_payments(admin_client, tokens):
    make_payments(10, tokens)
    admin_client.get(DASHBOARD)  # session and permissions warm, like every later page
    with CaptureQueriesContext(connection) as few:
        response = admin_client.get(DASHBOARD)
    assert response.status_code == 200
    payments, _ = make_payments(1990, tokens, expires_in=-60)
    Payment.objects.filter(pk__in=[p.pk for p in payments[:500]]).update(
        status="confirmed", paid_token=tokens["USDC"], paid_amount=25_000_000
    )
    OneTimeWallet.objects.filter(payment__in=payments[:500]).update(state="received_funds")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(DASHBOARD)
    assert figures(response)["expire"]["Initiated past their deadline"] == 1490
    assert len(many.captured_queries) == len(few.captured_queries), [q["sql"] for q in many.captured_queries]
    # session and user, the tiles, the funds the chain reads saw (a query per category), runs, exports,
    # the desk's notices, the cluster and the schedules: a fixed number, whatever the table sizes
    assert len(few.captured_queries) <= 26
    # the RPC node of these tests is a closed port: a warning, not an error
    assert "The RPC node is not answering" in response.content.decode()


def test_chain_figures_are_cached_and_a_low_balance_warns(admin_client, shop, configure):
    configure(FEE_PAYER_LOW_BALANCE_LAMPORTS=10**18, DASHBOARD_CACHE_SECONDS=60)
    shop.localnet.reset_counts()
    for _ in range(3):
        response = admin_client.get(DASHBOARD)
    assert shop.localnet.request_counts == {"getSlot": 1, "getBalance": 1, "getMultipleAccounts": 1}
    chain = response.context["chain"]
    assert chain["ok"] and chain["slot"] is not None and chain["balance"] > 0 and chain["low_balance"]
    assert "The fee payer holds" in response.content.decode()


def test_a_receiver_that_is_not_a_plain_wallet_warns(admin_client, shop, configure):
    """A mint's address is on curve (so the system check passes) but belongs to the Token program."""
    response = admin_client.get(DASHBOARD)
    assert response.context["chain"]["receiver_warning"] == ""  # not on chain yet: fine
    assert "sp-receiver-warning" not in response.content.decode()

    shop.localnet.airdrop(shop.receiver, 1_000_000_000)  # a plain system account: fine
    cache.clear()
    assert admin_client.get(DASHBOARD).context["chain"]["receiver_warning"] == ""

    for symbol, program in (("USDC", "the SPL Token program"), ("PYUSD", "the SPL Token-2022 program")):
        configure(RECEIVER_ADDRESS=shop.tokens[symbol].mint)
        cache.clear()
        html = admin_client.get(DASHBOARD).content.decode()
        assert 'id="sp-receiver-warning"' in html
        assert f"is not a plain wallet: on chain it belongs to {program}" in html


def test_an_off_curve_receiver_warns_without_a_chain_read(admin_client, shop, configure):
    from solana_payments.chain.accounts import get_associated_token_address
    from solana_payments.holdings import token_program_id

    usdc = shop.tokens["USDC"]
    token_account = get_associated_token_address(
        shop.receiver, Pubkey.from_string(usdc.mint), token_program_id(usdc)
    )
    configure(RECEIVER_ADDRESS=str(token_account))
    shop.localnet.reset_counts()
    html = admin_client.get(DASHBOARD).content.decode()
    assert f"The receiver {token_account} is off curve" in html
    assert "getMultipleAccounts" not in shop.localnet.request_counts


def test_cluster_and_schedule_health(admin_client, tokens):
    html = admin_client.get(DASHBOARD).content.decode()
    assert NO_CLUSTER in html
    assert "Not installed: solana_payments maintenance, solana_payments recheck" in html

    jobs.install_schedules()
    pretend_cluster_is_running(workers=2)
    response = admin_client.get(DASHBOARD)
    html = response.content.decode()
    assert NO_CLUSTER not in html and "Not installed" not in html
    assert "(Idle, 2 workers)" in html
    assert "solana_payments maintenance</dt><dd>every 10 min; next" in html
    assert response.context["cluster"]["workers"] == 2


def pretend_cluster_is_running(workers):
    """What a running qcluster writes into the cache every few seconds."""
    from django_q.brokers import Broker
    from django_q.conf import Conf
    from django_q.signing import SignedPackage
    from django_q.status import Stat, Status

    status = Status(pid=4242, cluster_id="c0ffee")
    status.workers = list(range(workers))
    status.status = Conf.IDLE
    status.tob = timezone.now()
    Broker().set_stat(Stat.get_key("c0ffee"), SignedPackage.dumps(status, True), 30)


def test_chart_counts_payments_per_day_by_status(admin_client, tokens, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    settings.LANGUAGE_CODE = "de"  # a locale with a decimal comma must not break the SVG numbers
    today, _ = make_payments(3, tokens)
    old, _ = make_payments(2, tokens, status="expired")
    Payment.objects.filter(pk__in=[old[0].pk, old[1].pk]).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    Payment.objects.filter(pk=today[0].pk).update(status="finalized")
    ancient, _ = make_payments(1, tokens)
    Payment.objects.filter(pk=ancient[0].pk).update(created_at=timezone.now() - datetime.timedelta(days=31))
    response = admin_client.get(DASHBOARD)
    chart = response.context["chart"]
    assert chart["total"] == 5 and chart["peak"] == 3 and len(chart["bars"]) == 30
    day = timezone.localdate()
    assert chart["bars"][-1]["title"] == f"{day:%Y-%m-%d}: 1 paid (finalized), 2 waiting for payment"
    assert chart["bars"][-4]["title"] == f"{day - datetime.timedelta(days=3):%Y-%m-%d}: 2 expired"
    html = response.content.decode()
    assert html.count('<rect class="sp-fill-') == 3
    assert '<rect class="sp-fill-finalized" x="' in html
    rect = html.split('<rect class="sp-fill-finalized" ')[1].split(">")[0]
    assert "," not in rect


@pytest.mark.parametrize(
    "model", ["payment", "onetimewallet", "paymenttoken", "operationrun", "operationitem"]
)
def test_every_changelist_links_to_the_dashboard(admin_client, tokens, model):
    html = admin_client.get(reverse(f"admin:solana_payments_{model}_changelist")).content.decode()
    assert f'<a href="{DASHBOARD}">Operations dashboard</a>' in html


def test_app_index_links_to_the_dashboard(admin_client):
    html = admin_client.get(reverse("admin:app_list", args=["solana_payments"])).content.decode()
    assert f'<a href="{DASHBOARD}">Operations dashboard</a>' in html


def test_the_dashboard_lives_at_its_documented_address_and_is_in_the_admin_index(admin_client):
    assert admin_client.get("/admin/solana_payments/dashboard/").status_code == 200
    index = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/solana_payments/dashboard/"' in index
    assert "Operations dashboard" in index


def test_recent_runs_link_to_the_runs_export_for_those_allowed(admin_client, client, django_user_model):
    from django.contrib.auth.models import Permission

    export = reverse("admin:solana_payments_operationrun_export")
    assert export in admin_client.get(reverse("admin:solana_payments_dashboard")).content.decode()
    user = django_user_model.objects.create_user("op", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_operationrun"))
    client.login(username="op", password="pw")
    assert export not in client.get(reverse("admin:solana_payments_dashboard")).content.decode()
