"""The admin's New payment page: a payment made through create_payment, with its checkout link."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from solana_payments.models import Payment

pytestmark = pytest.mark.django_db

NEW = reverse("admin:solana_payments_payment_new")
PAYMENTS = reverse("admin:solana_payments_payment_changelist")


def test_an_operator_creates_a_payment_and_gets_its_checkout_link(admin_client, tokens):
    assert f'href="{NEW}"' in admin_client.get(PAYMENTS).content.decode()  # linked from the payments list
    page = admin_client.get(NEW).content.decode()
    assert 'name="amount_SOL"' in page and 'name="amount_USDC"' in page and 'value="15"' in page

    refused = admin_client.post(NEW, {"label": "Phone order", "minutes": "15"})
    assert "Give at least one amount" in refused.content.decode() and not Payment.objects.exists()
    too_fine = admin_client.post(NEW, {"label": "Phone order", "minutes": "15", "amount_USDC": "1.0000001"})
    assert "has more than 6 decimal places" in too_fine.content.decode() and not Payment.objects.exists()

    response = admin_client.post(
        NEW,
        {"label": "Phone order", "email": "caller@example.com", "minutes": "30", "amount_USDC": "19.99"},
        follow=True,
    )
    payment = Payment.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:solana_payments_payment_change", args=[payment.pk]
    )
    assert (payment.label, payment.email, payment.status) == (
        "Phone order",
        "caller@example.com",
        "initiated",
    )
    assert [(o.token.symbol, o.amount) for o in payment.options.all()] == [("USDC", 19_990_000)]
    assert 29 * 60 < (payment.expires_at - payment.created_at).total_seconds() <= 30 * 60
    checkout = f"/pay/{payment.reference}/"
    assert f'<a href="{checkout}" id="sp-new-checkout">' in response.content.decode()


def test_only_users_who_may_add_payments_see_it(client, tokens, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_payment"))
    client.force_login(viewer)
    assert NEW not in client.get(PAYMENTS).content.decode()
    assert client.post(NEW, {"label": "x", "minutes": "15", "amount_SOL": "1"}).status_code == 403
    assert not Payment.objects.exists()
