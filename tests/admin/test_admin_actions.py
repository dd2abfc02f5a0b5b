"""Operation actions, the shared confirmation view and the run actions: previews, permissions, forged posts."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from solana_payments.models import ItemOutcome, OperationItem, OperationRun, Payment, RunStatus, WalletState
from solana_payments.operations.base import run_operation
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

VIEW = ("view_payment", "view_onetimewallet", "view_operationrun")
PAYMENTS = reverse("admin:solana_payments_payment_changelist")
WALLETS = reverse("admin:solana_payments_onetimewallet_changelist")
RUNS = reverse("admin:solana_payments_operationrun_changelist")
DASHBOARD = reverse("admin:solana_payments_dashboard")


def run_url(kind):
    return reverse("admin:solana_payments_operationrun_run", args=[kind])


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def real_runs(kind):
    return OperationRun.objects.filter(kind=kind).exclude(parameters__dry_run=True)


@pytest.fixture
def make_staff(django_user_model):
    def make(*codenames, username="operator"):
        user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
        permissions = Permission.objects.filter(
            content_type__app_label="solana_payments", codename__in=codenames
        )
        assert permissions.count() == len(codenames)
        user.user_permissions.add(*permissions)
        return user

    return make


@pytest.fixture
def operator(client, make_staff):
    """A staff user who may view everything and run recheck, but not sweep, expire or reclaim."""
    client.force_login(make_staff(*VIEW, "run_recheck"))
    return client


def action_choices(client, url):
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action at all is offered
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


# -- permissions -------------------------------------------------------------------------------------


def test_actions_are_offered_only_with_their_permission(operator, admin_client, tokens):
    make_payments(1, tokens)
    assert {"recheck_payments"} <= action_choices(operator, PAYMENTS)
    assert not {"sweep_payment_wallets", "expire_payments", "reclaim_payment_wallets"} & action_choices(
        operator, PAYMENTS
    )
    assert not {"sweep_wallets", "reclaim_wallets"} & action_choices(operator, WALLETS)
    assert {"recheck_payments", "expire_payments", "sweep_payment_wallets", "reclaim_payment_wallets"} <= (
        action_choices(admin_client, PAYMENTS)
    )
    assert {"sweep_wallets", "reclaim_wallets"} <= action_choices(admin_client, WALLETS)


@pytest.mark.parametrize("confirmed", [False, True])
def test_forged_action_post_without_the_permission_runs_nothing(operator, tokens, confirmed):
    """Django refuses an action that is not among the user's choices: a redirect with a warning."""
    (payment,), _ = make_payments(1, tokens)
    data = {"action": "sweep_payment_wallets", "_selected_action": [payment.pk]}
    data.update({"post": "yes"} if confirmed else {"index": 0})
    response = operator.post(PAYMENTS, data)
    assert response.status_code == 302 and response.url == PAYMENTS
    assert messages_of(response) == ["No action selected."]
    assert not OperationRun.objects.exists()  # not even a preview


def test_confirmation_view_and_dashboard_button_need_the_permission(operator, tokens):
    make_payments(1, tokens)
    for data in (
        {"all": "1", "trigger": "dashboard", "post": "yes"},  # the dashboard's button, confirmed
        {"all": "1", "trigger": "dashboard"},  # the dashboard's button: the preview
        {"ids": "1", "trigger": "admin_action", "post": "yes"},  # an action's confirmation
    ):
        assert operator.post(run_url("sweep"), data).status_code == 403
    assert operator.get(run_url("sweep") + "?all=1").status_code == 403
    assert not OperationRun.objects.exists()
    # the dashboard offers the button only where the permission is
    html = operator.get(DASHBOARD).content.decode()
    assert 'value="Run recheck…"' in html and 'value="Run sweep…"' not in html


def test_missing_csrf_token_is_refused(django_user_model, tokens):
    (payment,), _ = make_payments(1, tokens)
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("root", password="pw"))
    assert client.post(run_url("recheck"), {"all": "1", "post": "yes"}).status_code == 403
    assert client.post(run_url("recheck"), {"ids": str(payment.pk), "post": "yes"}).status_code == 403
    response = client.post(
        PAYMENTS, {"action": "recheck_payments", "_selected_action": [payment.pk], "index": 0}
    )
    assert response.status_code == 403
    assert not OperationRun.objects.exists()


def test_non_staff_users_are_sent_to_the_login_page(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))
    for url in (DASHBOARD, reverse("admin:solana_payments_dashboard_status"), run_url("recheck")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("admin:login")), url
    response = client.post(run_url("recheck"), {"all": "1", "post": "yes"})
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    assert not OperationRun.objects.exists()


def test_unknown_operation_is_404(admin_client):
    assert admin_client.post(run_url("maintenance"), {"all": "1"}).status_code == 404
    assert admin_client.get(run_url("drain")).status_code == 404


# -- forged selections ---------------------------------------------------------------------------------

BAD_IDS = {
    "missing": "",
    "not an integer": "abc",
    "a decimal": "1.5",
    "negative": "-1",
    "zero": "0",
    "huge": str(2**63),
    "enormous": "9" * 5000,
    "does not exist": "987654",
}


@pytest.mark.parametrize("value", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_forged_ids_on_the_confirmation_view_get_a_message(admin_client, tokens, value):
    make_payments(1, tokens)
    response = admin_client.post(
        run_url("sweep"), {"ids": value, "trigger": "admin_action", "post": "yes", "next": WALLETS}
    )
    assert response.status_code == 302 and response.url == WALLETS
    (message,) = messages_of(response)
    assert "nothing was run" in message
    assert not OperationRun.objects.exists()
    # the preview step refuses them the same way
    response = admin_client.post(run_url("sweep"), {"ids": value})
    assert response.status_code == 302 and response.url == DASHBOARD
    assert not OperationRun.objects.exists()


@pytest.mark.parametrize("step", [{"index": 0}, {"post": "yes"}], ids=["preview", "confirm"])
@pytest.mark.parametrize("value", [v for k, v in BAD_IDS.items() if k != "missing"], ids=list(BAD_IDS)[1:])
def test_forged_ids_on_an_action_get_a_message(admin_client, tokens, value, step):
    make_payments(1, tokens)
    response = admin_client.post(
        PAYMENTS, {"action": "sweep_payment_wallets", "_selected_action": [value], **step}
    )
    assert response.status_code == 302 and response.url == PAYMENTS
    (message,) = messages_of(response)
    assert "nothing was run" in message
    assert not OperationRun.objects.exists()


def test_too_many_ids_are_refused_with_a_message(admin_client, tokens):
    ids = ",".join(str(n) for n in range(1, 10_002))
    response = admin_client.post(run_url("recheck"), {"ids": ids, "post": "yes"})
    assert response.status_code == 302
    (message,) = messages_of(response)
    assert "at most 10,000" in message
    assert not OperationRun.objects.exists()


def test_an_unsafe_next_is_ignored(admin_client, tokens):
    response = admin_client.post(run_url("recheck"), {"ids": "abc", "next": "https://evil.example/"})
    assert response.url == DASHBOARD


# -- previews and confirmation on the localnet ------------------------------------------------------


@pytest.fixture
def paid_sol_payment(shop):
    payment = shop.new_payment({"SOL": "0.5"})
    shop.pay(payment, "SOL", 500_000_000)
    run_operation("recheck", trigger="command")
    payment.refresh_from_db()
    assert payment.wallet.state == WalletState.RECEIVED_FUNDS
    return payment


def test_sweep_action_previews_then_enqueues_one_run(
    admin_client, shop, paid_sol_payment, monkeypatch, django_capture_on_commit_callbacks
):
    payment = paid_sol_payment
    before = set(OperationRun.objects.values_list("pk", flat=True))
    response = admin_client.post(
        PAYMENTS, {"action": "sweep_payment_wallets", "_selected_action": [payment.pk], "index": 0}
    )
    assert response.status_code == 200
    assert "admin/solana_payments/operation_confirmation.html" in [t.name for t in response.templates]
    preview = response.context["preview"]
    assert preview.run.parameters["dry_run"] is True and preview.run.status == RunStatus.SUCCEEDED
    assert (preview.records, preview.amounts, preview.transactions, preview.fees) == (
        1,
        ["0.5 SOL"],
        1,
        10_000,
    )
    html = response.content.decode()
    for text in ("0.5 SOL", "Yes, run sweep", payment.wallet.address[:6]):
        assert text in html
    assert '<dd id="sp-preview-transactions">1</dd>' in html
    assert "0.00001 SOL (10000 lamports)" in html
    assert shop.received("SOL") == 0  # the preview moved nothing
    assert not real_runs("sweep").exists()

    # confirm: the page's form posts its fields and post=yes to the shared view
    fields = dict(response.context["fields"])
    assert fields["ids"] == str(payment.wallet_id) and fields["trigger"] == "admin_action"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(response.context["form_action"], {**fields, "post": "yes"})
    assert response.status_code == 302 and response.url == PAYMENTS
    (run,) = OperationRun.objects.exclude(pk__in=before).exclude(parameters__dry_run=True)
    assert run.status == RunStatus.QUEUED and run.trigger == "admin_action"
    assert run.parameters["ids"] == [payment.wallet_id] and run.requested_by.username == "admin"
    run_link = reverse("admin:solana_payments_operationrun_change", args=[run.pk])
    assert any(f'<a href="{run_link}">run #{run.pk}</a>' in m for m in messages_of(response))
    assert len(callbacks) == 1  # the django-q2 task is sent when the transaction commits

    # the task, run in-process (django-q2 sync mode): the run finishes and the money moves once
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.progress_percent == 100 and run.task_id
    assert run.fees_paid == 10_000
    assert shop.received("SOL") == 500_000_000


def test_confirming_by_posting_back_to_the_changelist_also_works(
    admin_client, shop, paid_sol_payment, monkeypatch, django_capture_on_commit_callbacks
):
    """The delete_selected way: the action receives post=yes, queues the run and returns None."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            WALLETS,
            {"action": "sweep_wallets", "_selected_action": [paid_sol_payment.wallet_id], "post": "yes"},
        )
    assert response.status_code == 302 and response.url == WALLETS
    (run,) = real_runs("sweep")
    assert run.parameters["ids"] == [paid_sol_payment.wallet_id] and run.trigger == "admin_action"
    assert run.status == RunStatus.SUCCEEDED
    assert shop.received("SOL") == 500_000_000


def test_dashboard_button_previews_everything_eligible(admin_client, shop, paid_sol_payment):
    response = admin_client.post(run_url("sweep"), {"all": "1", "trigger": "dashboard", "next": DASHBOARD})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.run.parameters["ids"] is None and preview.run.trigger == "dashboard"
    assert (preview.records, preview.amounts) == (1, ["0.5 SOL"])
    assert dict(response.context["fields"]) == {"all": "1", "trigger": "dashboard", "next": DASHBOARD}
    response = admin_client.post(run_url("sweep"), {"all": "1", "trigger": "dashboard", "post": "yes"})
    assert response.status_code == 302 and response.url == DASHBOARD
    (run,) = real_runs("sweep")
    assert run.parameters["ids"] is None and run.trigger == "dashboard" and run.status == RunStatus.QUEUED


@pytest.mark.parametrize(
    "query",
    [
        {"all": "1", "trigger": "dashboard"},
        {"all": "1", "trigger": "dashboard", "post": "yes"},  # a forged link: GET never runs anything
        {"ids": "{wallet}", "trigger": "admin_action"},
    ],
)
def test_a_get_writes_nothing_and_asks_the_chain_nothing(admin_client, shop, paid_sol_payment, query):
    """Like delete_selected: any page could link here, so a GET only offers the preview as a POST."""
    query = {k: v.format(wallet=paid_sol_payment.wallet_id) for k, v in query.items()}
    runs = OperationRun.objects.exclude(kind="recheck")  # the fixture's recheck settled the payment
    shop.localnet.reset_counts()
    response = admin_client.get(run_url("sweep"), {**query, "next": DASHBOARD})
    assert response.status_code == 200
    assert not runs.exists()
    assert shop.localnet.request_counts == {}
    assert response.context["preview"] is None
    html = response.content.decode()
    assert 'value="Preview sweep"' in html and "Yes, run sweep" not in html
    assert f'action="{run_url("sweep")}"' in html and 'method="post"' in html

    # The button posts the same selection back (without post=yes): now the preview is computed.
    fields = dict(response.context["fields"])
    assert "post" not in fields
    response = admin_client.post(run_url("sweep"), fields)
    assert response.status_code == 200 and response.context["preview"].records == 1
    (preview,) = runs.all()
    assert preview.parameters["dry_run"] is True and not real_runs("sweep").exists()
    assert shop.localnet.request_counts  # the POST read the chain
    assert shop.received("SOL") == 0


# -- previews without a chain: what is skipped, and why ------------------------------------------------


def test_preview_lists_skipped_records_with_their_reasons(admin_client, tokens):
    (fresh, overdue), _ = make_payments(2, tokens)
    response = admin_client.post(
        PAYMENTS,
        {"action": "reclaim_payment_wallets", "_selected_action": [fresh.pk, overdue.pk], "index": 0},
    )
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.records == 0 and preview.counts == {ItemOutcome.SKIPPED: 2}
    html = response.content.decode()
    assert "Skipped, and why" in html and "wallet is created, not payment_expired" in html
    assert "Nothing would be done now." in html  # nothing was even checked: both were skipped


def test_preview_that_cannot_reach_the_chain_cannot_be_confirmed(admin_client, tokens, configure):
    configure(RPC_MAX_RETRY_SECONDS=0)
    (payment,), _ = make_payments(1, tokens)  # initiated: recheck must read the chain, which is down
    response = admin_client.post(run_url("recheck"), {"ids": str(payment.pk)})
    assert response.status_code == 200
    assert response.context["preview"].failed_outright
    html = response.content.decode()
    assert "The preview failed" in html and "Yes, run recheck" not in html


def test_preview_without_a_usable_rpc_url_is_a_message(admin_client, tokens, configure):
    configure(RPC_URL="ftp://node.example")
    (payment,), _ = make_payments(1, tokens)
    response = admin_client.post(run_url("recheck"), {"ids": str(payment.pk), "next": PAYMENTS})
    assert response.status_code == 302 and response.url == PAYMENTS
    (message,) = messages_of(response)
    assert message.startswith("The preview could not start: RPC URL must be an http(s) URL")
    assert not OperationRun.objects.exists()


# -- the run admin: retry and cancel ---------------------------------------------------------------


def test_cancel_needs_the_permission_of_the_runs_kind(client, make_staff):
    client.force_login(make_staff(*VIEW, "run_sweep"))
    sweep = OperationRun.objects.create(kind="sweep", trigger="dashboard")
    reclaim = OperationRun.objects.create(kind="reclaim", trigger="dashboard")
    done = OperationRun.objects.create(kind="sweep", trigger="dashboard", status="succeeded")
    response = client.post(
        RUNS, {"action": "cancel_runs", "_selected_action": [sweep.pk, reclaim.pk, done.pk], "index": 0}
    )
    assert response.status_code == 302
    text = " ".join(messages_of(response))
    assert "1 run(s) cancelled" in text
    assert f"Run #{reclaim.pk} was not cancelled: you may not run reclaim" in text
    assert f"Run #{done.pk} was not cancelled: it is finished" in text
    statuses = dict(OperationRun.objects.values_list("pk", "status"))
    assert statuses == {sweep.pk: "cancelled", reclaim.pk: "queued", done.pk: "succeeded"}


def test_cancel_withdraws_a_run_awaiting_approval(client, make_staff):
    """docs/admin.md: a run still awaiting approval can be withdrawn with the run list's Cancel action."""
    client.force_login(make_staff(*VIEW, "run_sweep"))
    held = OperationRun.objects.create(
        kind="sweep", trigger="admin_action", status=RunStatus.AWAITING_APPROVAL
    )
    running = OperationRun.objects.create(kind="sweep", trigger="dashboard", status=RunStatus.RUNNING)
    response = client.post(
        RUNS, {"action": "cancel_runs", "_selected_action": [held.pk, running.pk], "index": 0}
    )
    text = " ".join(messages_of(response))
    assert "1 run(s) cancelled" in text
    assert f"Run #{running.pk} was not cancelled: it is running" in text
    held.refresh_from_db()
    running.refresh_from_db()
    assert held.status == RunStatus.CANCELLED and held.finished_at is not None
    assert running.status == RunStatus.RUNNING


def test_run_actions_are_not_offered_without_any_run_permission(client, make_staff):
    client.force_login(make_staff(*VIEW))
    OperationRun.objects.create(kind="sweep", trigger="dashboard")
    assert not {"retry_runs", "cancel_runs"} & action_choices(client, RUNS)


def test_retry_confirms_then_queues_the_failed_records(admin_client, tokens):
    (payment,), _ = make_payments(1, tokens)
    failed = OperationRun.objects.create(
        kind="sweep", trigger="schedule", status="partial", counts={"failed": 1}
    )
    OperationItem.objects.create(
        run=failed, wallet=payment.wallet, payment=payment, outcome="failed", reason="x"
    )
    preview = OperationRun.objects.create(
        kind="sweep", trigger="dashboard", status="failed", parameters={"dry_run": True}
    )
    data = {"action": "retry_runs", "_selected_action": [failed.pk, preview.pk]}
    listed = RUNS + "?previews=shown"  # previews are listed (and selectable) when asked for
    response = admin_client.post(listed, {**data, "index": 0})
    assert response.status_code == 200 and response.context["retryable"] == 1
    assert "it is a preview" in response.content.decode()
    assert OperationRun.objects.count() == 2
    response = admin_client.post(listed, {**data, "post": "yes"})
    assert response.status_code == 302
    retry = OperationRun.objects.latest("pk")
    assert retry.pk not in (failed.pk, preview.pk)
    assert retry.status == "queued" and retry.parameters["ids"] == [payment.wallet_id]
    assert retry.trigger == "admin_action" and retry.parameters["dry_run"] is False
    assert f"Run #{preview.pk} was not retried" in " ".join(messages_of(response))


def test_token_sweep_preview_counts_the_receivers_new_token_account(admin_client, shop):
    payment = shop.new_payment({"USDC": "25"})
    shop.pay(payment, "USDC", 25_000_000)
    run_operation("recheck", trigger="command")
    response = admin_client.post(run_url("sweep"), {"ids": str(payment.wallet_id)})
    preview = response.context["preview"]
    # one transaction creates the receiver's USDC account, one sweeps the wallet (and closes its account)
    assert (preview.records, preview.amounts, preview.transactions) == (1, ["25 USDC"], 2)
    assert preview.fees == 5_000 + 10_000 and preview.rent == 2_039_280
    assert "Rent returned to the fee payer" in response.content.decode()


def test_previews_are_marked_and_hidden_from_the_runs_list_until_asked_for(admin_client):
    real = OperationRun.objects.create(kind="refund", trigger="admin_action", status="succeeded")
    preview = OperationRun.objects.create(
        kind="refund", trigger="admin_action", status="succeeded", parameters={"dry_run": True}
    )

    def listed(query=""):
        response = admin_client.get(RUNS + query)
        return {run.pk for run in response.context["cl"].result_list}, response.content.decode()

    shown, page = listed()
    assert shown == {real.pk}
    assert "previews" in page and ">hidden</a>" in page  # the filter says what the default hides
    shown, page = listed("?previews=shown")
    assert shown == {real.pk, preview.pk}
    assert (
        page.count('class="field-preview_display"><img src="/static/admin/img/icon-yes.svg" alt="True">') == 1
    )
    assert (
        page.count('class="field-preview_display"><img src="/static/admin/img/icon-no.svg" alt="False">') == 1
    )
    shown, _ = listed("?previews=only")
    assert shown == {preview.pk}


def test_a_reconcile_preview_says_it_checks_every_wallet_and_acts_on_none(admin_client, shop):
    payments = [shop.new_payment({"SOL": "0.5"}) for _ in range(3)]  # the database and the chain agree
    response = admin_client.post(run_url("reconcile"), {"ids": ",".join(str(p.wallet_id) for p in payments)})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd id="sp-preview-scanned">3</dd>' in html and '<dd id="sp-preview-records">0</dd>' in html
    assert "It would check 3 wallets and act on none now." in html


def test_an_expire_preview_shows_one_row_per_payment(admin_client, shop):
    payment = shop.new_payment({"SOL": "0.5"})  # never paid: no token account to close either
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(minutes=5))
    response = admin_client.post(run_url("expire"), {"ids": str(payment.pk)})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.counts[ItemOutcome.WOULD_DO] == 2  # the run records both steps for its audit trail
    (row,) = preview.planned  # but the page shows the payment once
    assert row.payment_id == payment.pk
    assert "expired" in row.reason and "no token account left to close" in row.reason
    html = response.content.decode()
    assert html.count(f'/payment/{payment.pk}/change/">#{payment.pk}</a>') == 1
    assert preview.more_planned == 0
