"""Record ids, limits and pauses are cleaned in one place: every entry point refuses the same values up
front, with a clear message, and records no run."""

from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse

from solana_payments import jobs
from solana_payments.models import OperationRun, RunStatus
from solana_payments.operations.base import run_operation
from solana_payments.parameters import MAX_ID, clean_ids
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

ARABIC_INDIC_THREE = "\u0663"  # int() reads it as 3
BAD_IDS = [ARABIC_INDIC_THREE, "\uff13", "3.0", "1e3", str(2**63), "0", "-1", "x"]
BAD_LIMITS = [str(2**63), "0", "-5", "1.5", ARABIC_INDIC_THREE, "ten"]
BAD_SLEEPS = ["nan", "inf", "-inf", "-0.1", "61", "1e308", "abc", ARABIC_INDIC_THREE]


def recheck(*args):
    call_command("recheck_initiated_solana_payments", *args, stdout=StringIO())


@pytest.mark.parametrize("value", BAD_IDS)
def test_one_function_refuses_what_is_not_an_ascii_id_in_range(value):
    with pytest.raises(ValueError, match="is not a record id"):
        clean_ids([value])


def test_ids_are_ascii_digits_or_ints_in_range_without_duplicates():
    assert clean_ids(["3, 1", 3, "2"]) == [3, 1, 2]
    assert clean_ids(str(MAX_ID)) == [MAX_ID]
    assert clean_ids(None) is None
    for value in (True, 3.0, 2**63, 0):
        with pytest.raises(ValueError, match="is not a record id"):
            clean_ids([value])


# -- the commands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, message",
    [(f"--ids={value}", "--ids: .* is not a record id") for value in BAD_IDS]
    + [(f"--limit={value}", f"--limit must be at least 1 and at most {MAX_ID}") for value in BAD_LIMITS]
    + [(f"--sleep={value}", "--sleep must be a number of seconds from 0 to 60") for value in BAD_SLEEPS]
    + [("--ids=,", "--ids: give at least one record id")],
)
def test_commands_refuse_bad_flags_before_a_run_is_recorded(tokens, flag, message):
    make_payments(3, tokens)
    with pytest.raises(CommandError, match=message):
        recheck(flag)
    assert not OperationRun.objects.exists()


def test_the_largest_limit_runs(shop):
    make_payments(2, shop.tokens)
    recheck("--limit", str(MAX_ID), "--sleep", "0.01")
    run = OperationRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.counts["scanned"] == 2
    assert run.parameters["limit"] == MAX_ID and run.parameters["sleep"] == 0.01


# -- code callers: run_operation and jobs.enqueue ------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [{"ids": [value]} for value in BAD_IDS]
    + [{"limit": value} for value in (2**63, 0, True, 2.0)]
    + [{"sleep": value} for value in (float("nan"), float("inf"), -1, 61, "nan")],
)
@pytest.mark.parametrize("entry", ["run_operation", "enqueue"])
def test_code_callers_get_a_value_error_and_no_run(tokens, arguments, entry):
    start = run_operation if entry == "run_operation" else jobs.enqueue
    with pytest.raises(ValueError, match="record id|limit must be|sleep must be"):
        start("recheck", **arguments)
    assert not OperationRun.objects.exists()


def test_a_queued_run_with_bad_parameters_fails_instead_of_hanging(tokens):
    """A row written by hand (or before the parameters were checked) fails its run with the reason."""
    for kind in ("recheck", "maintenance"):
        run = OperationRun.objects.create(
            kind=kind, status=RunStatus.QUEUED, parameters={"ids": None, "limit": None, "sleep": "nan"}
        )
        assert jobs.execute(run.pk) == RunStatus.FAILED
        run.refresh_from_db()
        assert "sleep must be a number of seconds" in run.error and run.finished_at
        assert not run.children.exists()


# -- the admin ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_IDS)
def test_admin_refuses_the_same_ids(admin_client, tokens, value):
    make_payments(3, tokens)
    url = reverse("admin:solana_payments_operationrun_run", args=["recheck"])
    response = admin_client.post(url, {"ids": value, "post": "yes"})
    assert response.status_code == 302
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "is not a record id" in text and "nothing was run" in text
    assert not OperationRun.objects.exists()
