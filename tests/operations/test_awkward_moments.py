"""The default schedules, several cycles, customers paying at every awkward moment: every unit ends at the
receiver, and every payment's status and exception say what happened."""

import ast

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule

from solana_payments.jobs import install_schedules
from solana_payments.models import OneTimeWallet, Payment, RunStatus
from tests.support.payments import overdue, signals_sent

pytestmark = pytest.mark.django_db(transaction=True)

OPTIONS = {"SOL": "0.5", "USDC": "25", "PYUSD": "25"}
FULL = {"SOL": 500_000_000, "USDC": 25_000_000, "PYUSD": 25_000_000}


def run_schedules():
    """Every installed schedule once, as the cluster calls it: its function with its own arguments."""
    results = []
    for schedule in Schedule.objects.order_by("-name"):  # recheck, then maintenance
        func = import_string(schedule.func)
        results.append(func(*ast.literal_eval(f"({schedule.args},)")))
    return results


def dust_everywhere(shop, payments, symbol):
    """A stranger sends one base unit to every wallet (SOL only where the account exists: a new account
    below the rent-exempt minimum is refused by the chain)."""
    from solana_payments.chain.accounts import RENT_EXEMPT_MINIMUM

    for payment in payments.values():
        if symbol == "SOL" and shop.balance(payment.wallet.address, "SOL") < RENT_EXEMPT_MINIMUM:
            continue
        shop.pay(payment, symbol, 1)


@pytest.fixture
def accepted():
    with signals_sent(accepted=lambda payment, **kw: payment.pk) as sent:
        yield sent


@pytest.mark.parametrize("symbol", ["SOL", "USDC", "PYUSD"])
def test_default_schedules_leave_no_unit_behind(shop, symbol, accepted):
    install_schedules()
    assert {s.name for s in Schedule.objects.all()} == {
        "solana_payments maintenance",
        "solana_payments recheck",
        "solana_payments reconcile",  # read-only: it moves nothing
    }
    full = FULL[symbol]
    names = ["on_time", "topped_up_late", "late_after_close", "paid_twice", "late_partial", "abandoned"]
    p = {name: shop.new_payment(OPTIONS) for name in names}

    # cycle 1: some pay in time, one pays part; the rest let the deadline pass. Strangers send dust at
    # every step: it is swept with the rest and decides nothing.
    customers = {}
    customers["on_time"], _ = shop.pay(p["on_time"], symbol, full)
    customers["paid_twice"], _ = shop.pay(p["paid_twice"], symbol, full)
    customers["topped_up_late"], _ = shop.pay(p["topped_up_late"], symbol, full // 4)
    dust_everywhere(shop, p, symbol)
    for name in ("topped_up_late", "late_after_close", "late_partial", "abandoned"):
        overdue(p[name])
    assert set(run_schedules()) <= {RunStatus.SUCCEEDED}
    dust_everywhere(shop, p, symbol)

    # cycle 2: money arrives in closed and swept wallets
    customers["late_after_close"], _ = shop.pay(p["late_after_close"], symbol, full)
    shop.pay(p["late_partial"], symbol, full // 3)
    shop.pay(p["topped_up_late"], symbol, full - full // 4)
    shop.pay(p["paid_twice"], symbol, full)
    dust_everywhere(shop, p, symbol)
    run_schedules()
    dust_everywhere(shop, p, symbol)

    # cycle 3: one more top-up between a recheck and a sweep; then quiet cycles settle everything
    from solana_payments.operations.base import run_operation

    run_operation("recheck", trigger="schedule")
    shop.pay(p["on_time"], symbol, full // 5)
    dust_everywhere(shop, p, symbol)
    run_schedules()
    run_schedules()

    outcome = {
        name: (Payment.objects.get(pk=pay.pk).status, Payment.objects.get(pk=pay.pk).exception)
        for name, pay in p.items()
    }
    assert outcome == {
        "on_time": ("confirmed", "topped_up"),
        "topped_up_late": ("confirmed", "paid_late"),
        "late_after_close": ("confirmed", "paid_late"),
        "paid_twice": ("confirmed", "paid_twice"),
        "late_partial": ("expired", "underpaid"),
        "abandoned": ("expired", ""),
    }
    for name in ("on_time", "topped_up_late", "late_after_close", "paid_twice"):
        assert accepted.count(p[name].pk) == 1, name
    for name in ("on_time", "late_after_close", "paid_twice"):  # the one sender of the paying transfers
        assert Payment.objects.get(pk=p[name].pk).payer == str(customers[name].pubkey()), name
    # topped_up_late was paid by two customers (a quarter, then the rest): no one payer is named
    assert Payment.objects.get(pk=p["topped_up_late"].pk).payer == ""
    assert p["late_partial"].pk not in accepted and p["abandoned"].pk not in accepted
    assert shop.in_wallets(symbol) == 0
    assert shop.received(symbol) == shop.paid[symbol]
    assert not OneTimeWallet.objects.filter(holds_funds=True).exists()
    shop.assert_money_conserved()
