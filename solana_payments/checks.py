"""System checks for SOLANA_PAYMENTS. Configuration errors show up here, never as import-time crashes."""

from urllib.parse import urlsplit

from django.core import checks
from django.utils.module_loading import import_string

from .conf import COMMITMENTS, DEFAULTS, SETTINGS_NAME, app_settings


def _error(msg, hint, id_):
    return checks.Error(msg, hint=hint, obj=SETTINGS_NAME, id=f"solana_payments.{id_}")


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs=None, **kwargs):
    errors = []
    errors += _check_rpc_url()
    errors += _check_receiver()
    errors += _check_fee_payer()
    errors += _check_encryption_key()
    errors += _check_commitments()
    errors += _check_numbers()
    errors += _check_hook()
    errors += _check_unknown_names()
    return errors


def _check_rpc_url():
    url = app_settings.RPC_URL
    if not url:
        return [
            _error(
                "RPC_URL is not set.", "Set SOLANA_PAYMENTS['RPC_URL'] to your RPC node's HTTP URL.", "E001"
            )
        ]
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [
            _error(
                "RPC_URL is not an http(s) URL.", "Example: 'https://api.mainnet-beta.solana.com'.", "E001"
            )
        ]
    return []


def _check_receiver():
    from .chain.keypairs import parse_pubkey

    value = app_settings.RECEIVER_ADDRESS
    if not value:
        return [
            _error("RECEIVER_ADDRESS is not set.", "Set it to the wallet that receives swept funds.", "E002")
        ]
    try:
        parse_pubkey(value)
    except ValueError as exc:
        return [_error(f"RECEIVER_ADDRESS is invalid: {exc}", "Use a base58 Solana address.", "E002")]
    return []


def _check_fee_payer():
    from .chain.keypairs import parse_keypair

    value = app_settings.FEE_PAYER_KEYPAIR
    hint = "Give the keypair as a JSON byte array string, a list of 64 integers, or a base58 string."
    if not value:
        return [_error("FEE_PAYER_KEYPAIR is not set.", hint, "E003")]
    try:
        parse_keypair(value)
    except ValueError:
        # The message must not echo the value: it is a secret.
        return [_error("FEE_PAYER_KEYPAIR is in none of the accepted formats.", hint, "E003")]
    return []


def _check_encryption_key():
    from .keys import configured_keys, key_errors

    hint = (
        "Generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'"
    )
    keys = configured_keys()
    if not keys:
        return [_error("ONE_TIME_WALLETS_ENCRYPTION_KEY is not set.", hint, "E004")]
    return [
        _error(f"ONE_TIME_WALLETS_ENCRYPTION_KEY: {problem}.", hint, "E004") for problem in key_errors(keys)
    ]


def _check_commitments():
    errors = []
    for name in ("RPC_COMMITMENT", "PAYMENT_ACCEPTANCE_COMMITMENT"):
        value = getattr(app_settings, name)
        if value not in COMMITMENTS:
            errors.append(
                _error(f"{name} {value!r} is not a commitment level.", f"Use one of {COMMITMENTS}.", "E005")
            )
    return errors


def _check_numbers():
    errors = []
    rules = {
        "RPC_TIMEOUT": 0,
        "RPC_MAX_RETRY_SECONDS": 0,
        "PAYMENT_VALIDITY_SECONDS": 0,
        "RPC_CONCURRENCY": 0,
        "MAX_ATAS_PER_TX": 0,
        "CONFIRM_TIMEOUT_SECONDS": 0,
        "CHECKOUT_POLL_SECONDS": 0,
        "WEBHOOK_TIMEOUT": 0,
        "WEBHOOK_BACKOFF_SECONDS": 0,
    }
    for name, minimum in rules.items():
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= minimum:
            errors.append(
                _error(f"{name} must be a number greater than {minimum}, not {value!r}.", None, "E006")
            )
    at_least_zero = (
        "RPC_RATE_LIMIT",
        "PRIORITY_FEE_MICROLAMPORTS",
        "LATE_PAYMENT_WINDOW",
        "STATUS_CHAIN_CHECK_SECONDS",
        "STATUS_RATE_LIMIT",
        "WEBHOOK_RETRY_SECONDS",
    )
    for name in at_least_zero:
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            errors.append(_error(f"{name} must be a number of 0 or more, not {value!r}.", None, "E006"))
    return errors


def _check_hook():
    return _check_callable("ON_PAYMENT_ACCEPTED", "E007") + _check_callable(
        "CREATE_PAYMENT_PERMISSION", "E008"
    )


def _check_callable(name, id_):
    path = getattr(app_settings, name)
    if not path:
        return []
    try:
        hook = import_string(path)
    except ImportError as exc:
        return [_error(f"{name} {path!r} cannot be imported: {exc}", None, id_)]
    if not callable(hook):
        return [_error(f"{name} {path!r} is not callable.", None, id_)]
    return []


def _check_unknown_names():
    unknown = sorted(set(app_settings.user_settings) - set(DEFAULTS))
    return [
        checks.Warning(
            f"Unknown setting {SETTINGS_NAME}[{name!r}] is ignored.",
            hint="Check its spelling against the README's settings table.",
            obj=SETTINGS_NAME,
            id="solana_payments.W001",
        )
        for name in unknown
    ]
