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
    errors += _check_big_tables()
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
    }
    for name, minimum in rules.items():
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= minimum:
            errors.append(
                _error(f"{name} must be a number greater than {minimum}, not {value!r}.", None, "E006")
            )
    for name in ("RPC_RATE_LIMIT", "PRIORITY_FEE_MICROLAMPORTS", "LATE_PAYMENT_WINDOW"):
        value = getattr(app_settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            errors.append(_error(f"{name} must be a number of 0 or more, not {value!r}.", None, "E006"))
    return errors


def _check_hook():
    path = app_settings.ON_PAYMENT_ACCEPTED
    if not path:
        return []
    try:
        hook = import_string(path)
    except ImportError as exc:
        return [_error(f"ON_PAYMENT_ACCEPTED {path!r} cannot be imported: {exc}", None, "E007")]
    if not callable(hook):
        return [_error(f"ON_PAYMENT_ACCEPTED {path!r} is not callable.", None, "E007")]
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


def _whole_number(value, minimum):
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_big_tables():
    """Exports, retention and metrics (E020-E023)."""
    import os

    from django.conf import settings

    errors = []
    for name, minimum in (
        ("EXPORT_BACKGROUND_THRESHOLD", 1),
        ("EXPORT_FILE_SECONDS", 1),
        ("RETENTION_BATCH_SIZE", 1),
        ("METRICS_CACHE_SECONDS", 0),
    ):
        value = getattr(app_settings, name)
        if not _whole_number(value, minimum):
            errors.append(
                _error(f"{name} must be a whole number of {minimum} or more, not {value!r}.", None, "E020")
            )
    days = app_settings.RUN_ITEMS_RETENTION_DAYS
    if days is not None and not _whole_number(days, 1):
        errors.append(
            _error(
                f"RUN_ITEMS_RETENTION_DAYS must be a whole number of days (1 or more) or None, not {days!r}.",
                "None keeps run items forever.",
                "E021",
            )
        )
    directory = app_settings.EXPORT_DIRECTORY
    if directory is not None:
        real = os.path.realpath(str(directory))
        for public in ("MEDIA_ROOT", "STATIC_ROOT"):
            root = getattr(settings, public, None)
            if root and (real + os.sep).startswith(os.path.realpath(str(root)) + os.sep):
                errors.append(
                    _error(
                        f"EXPORT_DIRECTORY {directory!r} is inside {public}: exported files would be public.",
                        "Use a directory the web server does not serve.",
                        "E022",
                    )
                )
    token = app_settings.METRICS_TOKEN
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        errors.append(
            _error("METRICS_TOKEN must be a string of 16 characters or more, or None.", None, "E023")
        )
    return errors
