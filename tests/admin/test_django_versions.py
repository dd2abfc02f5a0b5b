"""The admin on every supported Django: Django 6.1 asks for the actions of a place (the changelist or the
change form) and says where an action was chosen; the app's admins follow it without a deprecation warning
of their own or of django-import-export's mixins."""

import warnings
from pathlib import Path

import import_export
import pytest
from django.contrib import admin
from django.contrib.admin import options
from django.urls import reverse

import solana_payments
from solana_payments.admin.exports import ExportAdminMixin
from solana_payments.models import Payment, PaymentToken
from tests.support.factories import make_payments

pytestmark = pytest.mark.django_db

LOCATIONS = getattr(options, "ActionLocation", None)
CHANGELISTS = ["payment", "onetimewallet", "paymenttoken", "operationrun", "operationitem", "difference"]
OWN_CODE = tuple(str(Path(module.__file__).parent) for module in (solana_payments, import_export))


def deprecations_from_own_code(caught):
    return [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))
        and w.filename.startswith(OWN_CODE)
    ]


def test_changelists_and_change_forms_warn_of_no_deprecation(admin_client, tokens):
    (payment,), _ = make_payments(1, tokens)
    pages = [reverse(f"admin:solana_payments_{model}_changelist") for model in CHANGELISTS] + [
        reverse("admin:solana_payments_payment_change", args=[payment.pk]),
        reverse("admin:solana_payments_onetimewallet_change", args=[payment.wallet_id]),
        reverse("admin:solana_payments_paymenttoken_change", args=[tokens["USDC"].pk]),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for page in pages:
            assert admin_client.get(page).status_code == 200, page
    assert deprecations_from_own_code(caught) == []


def test_an_action_posted_from_the_changelist_runs(admin_client, tokens):
    payments, _ = make_payments(2, tokens)
    changelist = reverse("admin:solana_payments_payment_changelist")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = admin_client.post(
            changelist, {"action": "export_admin_action", "_selected_action": [p.pk for p in payments]}
        )
    assert page.status_code == 200
    assert sorted(page.context["form"].initial["export_items"]) == sorted(p.pk for p in payments)
    assert deprecations_from_own_code(caught) == []


@pytest.mark.parametrize("model", [Payment, PaymentToken])
def test_the_export_action_is_a_changelist_action(rf, admin_user, model):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ExportAdminMixin)
    request = rf.get("/")
    request.user = admin_user
    assert "export_admin_action" in model_admin.get_actions(request)
    if LOCATIONS is None:
        return  # before Django 6.1 every action is a changelist action
    on_changelist = model_admin.get_actions(request, action_location=LOCATIONS.CHANGE_LIST)
    on_change_form = model_admin.get_actions(request, action_location=LOCATIONS.CHANGE_FORM)
    assert "export_admin_action" in on_changelist
    assert "export_admin_action" not in on_change_form
