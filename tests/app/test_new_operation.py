"""Adding an operation is one module: a throwaway operation named in the settings gets its run kind, its
permission (after ``migrate``), its admin action, its dashboard tile, its command, its retries and, when it
asks for one, its django-q2 schedule, with no other edit."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from solana_payments import jobs
from solana_payments.models import ItemOutcome, OperationRun, Payment, RunStatus
from solana_payments.operations.base import AdminAction, Operation

pytestmark = pytest.mark.django_db(transaction=True)

PATH = f"{__name__}.NoteOperation"


class NoteOperation(Operation):
    """Notes each selected payment; a payment labelled "fail" fails (for the retry)."""

    kind = "note"
    order = 9
    model = "payment"
    description = "Notes payments (a throwaway operation of the tests)."
    admin_actions = (AdminAction("note_payments", "Note selected payments…", on="payment"),)
    tile_figures = ("initiated_payments",)
    summary_keys = ("scanned", "noted", "failed")

    def eligible(self):
        return Payment.objects.select_related("wallet")

    def ineligible_reason(self, payment):
        return "never"

    def execute(self):
        payments = self.selection.select(order_by=["pk"])
        self.set_total(len(payments))
        for payment in payments:
            self.counts["scanned"] += 1
            if payment.label == "fail":
                self.record(ItemOutcome.FAILED, reason="labelled fail", **self.selection.refs(payment))
            else:
                self.record(ItemOutcome.DONE, count="noted", **self.selection.refs(payment))
            self.advance()


@pytest.fixture
def note(shop, configure):
    configure(OPERATIONS=[PATH])
    call_command("migrate", verbosity=0)  # the run_note permission, made from the registry
    return shop


def test_a_new_operation_gets_a_kind_and_a_permission(note):
    assert ("note", "note") in OperationRun._meta.get_field("kind").choices
    OperationRun(kind="note", trigger="command").full_clean(exclude=["parameters", "counts", "rpc_calls"])
    assert Permission.objects.filter(codename="run_note", content_type__app_label="solana_payments").exists()


def test_a_new_operation_gets_its_admin_action_and_dashboard_tile(note, django_user_model):
    payment = note.new_payment({"SOL": "0.5"})
    user = django_user_model.objects.create_user("nina", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["run_note", "view_payment"]))
    client = Client()
    client.force_login(user)

    changelist = reverse("admin:solana_payments_payment_changelist")
    form = client.get(changelist).context["action_form"]
    assert "note_payments" in {name for name, _ in form.fields["action"].choices}
    response = client.post(
        changelist, {"action": "note_payments", "_selected_action": [payment.pk], "post": "yes"}
    )
    assert response.status_code == 302
    run = OperationRun.objects.get(kind="note")
    assert (run.status, run.parameters["ids"], run.requested_by) == (RunStatus.QUEUED, [payment.pk], user)

    tiles = client.get(reverse("admin:solana_payments_dashboard")).context["tiles"]
    (tile,) = [t for t in tiles if t["kind"] == "note"]
    assert tile["can_run"] and tile["figures"] == [("Initiated payments", 1, False)]


def test_a_new_operation_gets_its_command_and_its_retries(note):
    good, bad = note.new_payment({"SOL": "0.5"}), note.new_payment({"SOL": "0.5"}, label="fail")
    out = StringIO()
    with pytest.raises(Exception, match="1 item"):
        call_command("solana_payments_run", "note", "--ids", f"{good.pk},{bad.pk}", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["kind"], summary["status"], summary["counts"]["noted"]) == ("note", "partial", 1)

    retried = jobs.retry(OperationRun.objects.get(pk=summary["run"]))
    assert (retried.kind, retried.status, retried.parameters["ids"]) == ("note", RunStatus.QUEUED, [bad.pk])
    Payment.objects.filter(pk=bad.pk).update(label="")
    assert jobs.execute(retried.pk) == RunStatus.SUCCEEDED


class HourlyNoteOperation(NoteOperation):
    """``NoteOperation`` on a schedule of its own."""

    kind = "hourly_note"
    schedule_minutes = 60
    admin_actions = ()


def test_a_new_operation_gets_its_schedule(shop, configure, monkeypatch):
    from django.utils import timezone
    from django_q import scheduler
    from django_q.conf import Conf
    from django_q.models import Schedule, Success

    from solana_payments.checks import check_settings

    configure(OPERATIONS=[f"{__name__}.HourlyNoteOperation"])
    payment = shop.new_payment({"SOL": "0.5"})
    out = StringIO()
    call_command("solana_payments_schedules", stdout=out)
    assert "created solana_payments hourly_note (every 60 min)" in out.getvalue()
    schedule = Schedule.objects.get(name="solana_payments hourly_note")
    assert (schedule.func, schedule.args, schedule.minutes, schedule.schedule_type, schedule.repeats) == (
        "solana_payments.jobs.run_scheduled",
        "'hourly_note'",
        60,
        Schedule.MINUTES,
        -1,
    )

    configure(SCHEDULES={"hourly_note": 30})
    assert "solana_payments.E009" not in {error.id for error in check_settings()}
    call_command("solana_payments_schedules", stdout=out)
    assert "updated solana_payments hourly_note (every 30 min)" in out.getvalue()

    # django-q2's scheduler finds it due and runs its task here (``sync``), as a worker would.
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now())
    monkeypatch.setattr(Conf, "SYNC", True)
    requested = []
    request_run = jobs.request_run
    monkeypatch.setattr(
        jobs, "request_run", lambda kind, *a, **kw: requested.append(kind) or request_run(kind, *a, **kw)
    )
    scheduler.scheduler()
    assert requested == ["hourly_note"]
    run = OperationRun.objects.get(kind="hourly_note")
    assert (run.trigger, run.status, run.counts["noted"]) == ("schedule", RunStatus.SUCCEEDED, 1)
    assert run.items.get().payment_id == payment.pk
    assert Success.objects.get(func="solana_payments.jobs.run_scheduled").result == RunStatus.SUCCEEDED


class SweepAgain(NoteOperation):
    kind = "sweep"


@pytest.mark.parametrize(
    "value",
    [PATH, ["tests.nowhere.Operation"], ["django.db.models.Model"], [f"{__name__}.SweepAgain"], [PATH, PATH]],
)
def test_a_wrong_operations_setting_is_a_check_error(configure, value):
    from solana_payments.checks import check_settings

    configure(OPERATIONS=value)
    assert "solana_payments.E029" in {error.id for error in check_settings()}
    configure(OPERATIONS=[PATH])
    assert "solana_payments.E029" not in {error.id for error in check_settings()}
