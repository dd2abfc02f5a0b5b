"""create_payment(): the happy path and every refusal."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from solana_payments.models import OneTimeWallet, Payment, PaymentOption, PaymentStatus, WalletState
from solana_payments.payments import create_payment
from tests.support.payments import signals_sent

pytestmark = pytest.mark.django_db


def test_happy_path(tokens, receiver, django_capture_on_commit_callbacks):
    with signals_sent(initiated=lambda payment, **kw: payment) as received:
        with django_capture_on_commit_callbacks(execute=True):
            payment = create_payment(
                {"SOL": Decimal("0.5"), "USDC": Decimal("25.000001")}, label="Order 42", email="a@example.com"
            )

    assert received == [payment]
    assert payment.status == PaymentStatus.INITIATED
    assert payment.wallet.state == WalletState.CREATED
    assert payment.wallet.receiver_address == str(receiver)
    assert payment.wallet.keypair().pubkey().__str__() == payment.wallet.address
    amounts = {o.token.symbol: o.amount for o in payment.options.select_related("token")}
    assert amounts == {"SOL": 500_000_000, "USDC": 25_000_001}
    remaining = (payment.expires_at - timezone.now()).total_seconds()
    assert 890 < remaining <= 900
    assert payment.label == "Order 42"


def test_expires_in(tokens):
    payment = create_payment({"SOL": "1"}, expires_in=datetime.timedelta(minutes=2))
    assert 110 < (payment.expires_at - timezone.now()).total_seconds() <= 120
    payment = create_payment({"SOL": 1}, expires_in=30)
    assert 20 < (payment.expires_at - timezone.now()).total_seconds() <= 30


@pytest.mark.parametrize(
    "options, message",
    [
        ({"DOGE": Decimal("1")}, "Unknown token 'DOGE'"),
        ({"SOL": Decimal("0")}, "greater than zero"),
        ({"SOL": Decimal("-1")}, "greater than zero"),
        ({"USDC": Decimal("1.0000001")}, "more than 6 decimal places"),
        ({"SOL": Decimal("0.00089087")}, "rent-exempt minimum"),
        ({"SOL": 0.5}, "must be a Decimal"),
        ({"SOL": "abc"}, "is not a number"),
        ({"SOL": Decimal("NaN")}, "not a finite number"),
        ({}, "at least one token"),
        ({"SOL": Decimal("1e30")}, "too large"),
    ],
)
def test_refusals_create_nothing(tokens, options, message):
    with pytest.raises(ValueError, match=message):
        create_payment(options)
    assert not Payment.objects.exists()
    assert not OneTimeWallet.objects.exists()
    assert not PaymentOption.objects.exists()


def test_inactive_token_is_refused(tokens):
    tokens["USDC"].is_active = False
    tokens["USDC"].save()
    with pytest.raises(ValueError, match="not active"):
        create_payment({"USDC": Decimal("1")})


def test_sol_at_exactly_the_minimum_is_accepted(tokens):
    payment = create_payment({"SOL": Decimal("0.00089088")})
    assert payment.options.get().amount == 890_880


def test_unknown_field_is_a_type_error(tokens):
    with pytest.raises(TypeError, match="colour"):
        create_payment({"SOL": 1}, colour="red")
