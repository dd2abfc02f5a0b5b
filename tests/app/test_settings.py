"""The lazy settings object and the configuration system checks."""

import pytest
from django.core import checks
from django.test import override_settings
from solders.keypair import Keypair

from solana_payments.checks import check_settings
from solana_payments.conf import DEFAULTS, app_settings


def error_ids():
    return sorted({message.id for message in check_settings()})


def test_defaults_are_filled_in(configure):
    configure()
    assert app_settings.PAYMENT_VALIDITY_SECONDS == DEFAULTS["PAYMENT_VALIDITY_SECONDS"]
    assert app_settings.RPC_COMMITMENT == "confirmed"
    assert app_settings.MAX_ATAS_PER_TX == DEFAULTS["MAX_ATAS_PER_TX"]


def test_override_settings_reloads(solana_settings):
    assert app_settings.PAYMENT_VALIDITY_SECONDS == 900
    with override_settings(SOLANA_PAYMENTS={**solana_settings, "PAYMENT_VALIDITY_SECONDS": 60}):
        assert app_settings.PAYMENT_VALIDITY_SECONDS == 60
    assert app_settings.PAYMENT_VALIDITY_SECONDS == 900


def test_unknown_attribute_is_an_error():
    with pytest.raises(AttributeError, match="Invalid SOLANA_PAYMENTS setting"):
        app_settings.NOT_A_SETTING  # noqa: B018


def test_valid_configuration_has_no_errors():
    assert check_settings() == []


def test_check_is_registered_with_django(configure):
    configure(RPC_URL=None)
    # No database: Django 6.1 runs the model checks against every database unless told which.
    assert "solana_payments.E001" in {m.id for m in checks.run_checks(databases=[])}


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("RPC_URL", None, "solana_payments.E001"),
        ("RPC_URL", "ftp://node", "solana_payments.E001"),
        ("RECEIVER_ADDRESS", "not-an-address", "solana_payments.E002"),
        ("RECEIVER_ADDRESS", "", "solana_payments.E002"),
        ("FEE_PAYER_KEYPAIR", "[1, 2, 3]", "solana_payments.E003"),
        ("FEE_PAYER_KEYPAIR", "0OIl", "solana_payments.E003"),
        ("FEE_PAYER_KEYPAIR", [300] * 64, "solana_payments.E003"),
        ("FEE_PAYER_KEYPAIR", None, "solana_payments.E003"),
        ("ONE_TIME_WALLETS_ENCRYPTION_KEY", "short", "solana_payments.E004"),
        ("ONE_TIME_WALLETS_ENCRYPTION_KEY", None, "solana_payments.E004"),
        ("RPC_COMMITMENT", "max", "solana_payments.E005"),
        ("PAYMENT_ACCEPTANCE_COMMITMENT", "recent", "solana_payments.E005"),
        ("PAYMENT_VALIDITY_SECONDS", 0, "solana_payments.E006"),
        ("RPC_TIMEOUT", "10", "solana_payments.E006"),
        ("RPC_RATE_LIMIT", -1, "solana_payments.E006"),
        ("ON_PAYMENT_ACCEPTED", "no.such.module.hook", "solana_payments.E007"),
        ("WATCH_WINDOW", 3600, "solana_payments.E010"),  # shorter than LATE_PAYMENT_WINDOW
        ("WATCH_WINDOW", float("nan"), "solana_payments.E010"),
        ("WATCH_BATCH_SIZE", 1.5, "solana_payments.E010"),
        ("HOLD_FLAGGED_FUNDS", "underpaid", "solana_payments.E011"),
        ("HOLD_FLAGGED_FUNDS", ["underpaid", "lost"], "solana_payments.E011"),
        ("RPC_URLL", "http://typo", "solana_payments.W001"),
        ("PROGRESS_EVERY_SECONDS", "2", "solana_payments.E006"),
        ("PROGRESS_EVERY_SECONDS", 0, "solana_payments.E006"),
        ("RPC_TIMEOUT", float("nan"), "solana_payments.E006"),
        ("LATE_PAYMENT_WINDOW", float("inf"), "solana_payments.E006"),
        ("DASHBOARD_CACHE_SECONDS", "15", "solana_payments.E006"),
        ("FEE_PAYER_LOW_BALANCE_LAMPORTS", -1, "solana_payments.E006"),
        ("EXPLORER_URL", "https://explorer.solana.com/tx/{sig}", "solana_payments.E008"),
        (
            "EXPLORER_URL",
            "https://explorer.solana.com/tx/{signature}?cluster={network}",
            "solana_payments.E008",
        ),
        ("EXPLORER_URL", "https://explorer.solana.com/tx/{", "solana_payments.E008"),
        ("EXPLORER_URL", "https://explorer.solana.com/tx/{0}", "solana_payments.E008"),
        ("EXPLORER_URL", "https://explorer.solana.com/", "solana_payments.E008"),
        ("EXPLORER_URL", "javascript:alert('{signature}')", "solana_payments.E008"),
        ("CLUSTER", None, "solana_payments.E008"),
        ("SCHEDULES", {"sweep": 5}, "solana_payments.E009"),
        ("SCHEDULES", {"recheck": "5"}, "solana_payments.E009"),
        ("SCHEDULES", {"maintenance": 0}, "solana_payments.E009"),
        ("SCHEDULES", {"maintenance": 2.5}, "solana_payments.E009"),
        ("SCHEDULES", {"recheck": True}, "solana_payments.E009"),
        ("SCHEDULES", [("recheck", 5)], "solana_payments.E009"),
        ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "False", "solana_payments.E016"),
        ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", 1, "solana_payments.E016"),
        ("PAYMENT_MAX_VALIDITY_SECONDS", float("inf"), "solana_payments.E017"),
        ("PAYMENT_MAX_VALIDITY_SECONDS", 60, "solana_payments.E017"),  # shorter than the default validity
    ],
)
def test_each_bad_value_fires_its_check(configure, name, value, expected):
    configure(**{name: value})
    assert expected in error_ids()


def test_good_explorer_urls_and_schedules_pass(configure):
    configure(
        EXPLORER_URL="https://solscan.io/tx/{signature}",
        CLUSTER="devnet",
        SCHEDULES={"maintenance": 15, "recheck": 1},
        PROGRESS_EVERY_SECONDS=1,
    )
    assert check_settings() == []


def test_an_off_curve_receiver_is_refused(configure, receiver):
    """A token account (an associated token address is off curve) would take swept SOL for good."""
    from solana_payments.chain.accounts import TOKEN_PROGRAM_ID, get_associated_token_address

    token_account = get_associated_token_address(receiver, Keypair().pubkey(), TOKEN_PROGRAM_ID)
    assert not token_account.is_on_curve()
    configure(RECEIVER_ADDRESS=str(token_account))
    errors = [m for m in check_settings() if m.id == "solana_payments.E002"]
    assert len(errors) == 1 and "off the ed25519 curve" in errors[0].msg
    assert "token account" in errors[0].hint


def test_explorer_url_error_names_the_unknown_placeholder(configure):
    configure(EXPLORER_URL="https://explorer.solana.com/tx/{signature}?cluster={network}")
    (error,) = check_settings()
    assert "{network}" in error.msg


def test_key_list_with_one_bad_key_is_reported(configure):
    from cryptography.fernet import Fernet

    configure(ONE_TIME_WALLETS_ENCRYPTION_KEY=[Fernet.generate_key().decode(), "bad"])
    messages = [m.msg for m in check_settings()]
    assert any("key 2 is not a valid Fernet key" in m for m in messages)


def test_fee_payer_error_never_echoes_the_secret(configure):
    secret = "5" * 87 + "x"
    configure(FEE_PAYER_KEYPAIR=secret)
    assert all(secret not in str(m) for m in check_settings())


def test_every_accepted_fee_payer_format_passes(configure, fee_payer):
    import json

    from solana_payments.chain.keypairs import parse_keypair

    for value in (list(bytes(fee_payer)), json.dumps(list(bytes(fee_payer))), str(fee_payer)):
        configure(FEE_PAYER_KEYPAIR=value)
        assert "solana_payments.E003" not in error_ids()
        assert parse_keypair(value).pubkey() == fee_payer.pubkey()


def test_importing_the_app_reads_no_settings(tmp_path):
    """Nothing crashes or reads SOLANA_PAYMENTS at import time, even when it is wildly wrong."""
    import subprocess
    import sys

    code = (
        "import django; from django.conf import settings; "
        "settings.configure(SOLANA_PAYMENTS={'RPC_URL': 1, 'FEE_PAYER_KEYPAIR': object()}, "
        "INSTALLED_APPS=['django.contrib.contenttypes','django.contrib.auth','django.contrib.admin',"
        "'django.contrib.sessions','django.contrib.messages','django_q','import_export','solana_payments']); "
        "django.setup(); import solana_payments.models, solana_payments.payments, solana_payments.keys, "
        "solana_payments.admin, solana_payments.checks; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
