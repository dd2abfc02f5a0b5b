"""System checks for SOLANA_PAYMENTS. Configuration errors show up here, never as import-time crashes."""

import math
from string import Formatter
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
    errors += _check_refund_wallet()
    errors += _check_approval_thresholds()
    errors += _check_encryption_key()
    errors += _check_commitments()
    errors += _check_numbers()
    errors += _check_hook()
    errors += _check_explorer_url()
    operations = _check_operations()
    errors += operations
    errors += [] if operations else _check_schedules()  # the schedulable kinds come from the operations
    errors += _check_watch()
    errors += _check_held_funds()
    errors += _check_dust_thresholds()
    errors += _check_unknown_names()
    errors += _check_big_tables()
    errors += _check_webhooks()
    errors += _check_max_validity()
    errors += _check_rates()
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
        address = parse_pubkey(value)
    except ValueError as exc:
        return [_error(f"RECEIVER_ADDRESS is invalid: {exc}", "Use a base58 Solana address.", "E002")]
    if not address.is_on_curve():
        # A program-derived address, such as a token account: no one can sign for what is swept there.
        return [
            _error(
                f"RECEIVER_ADDRESS {address} is off the ed25519 curve: no private key can sign for it.",
                "Use the merchant's wallet address (a system account), not a token account or a PDA.",
                "E002",
            )
        ]
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


def _check_refund_wallet():
    from .chain.keypairs import parse_keypair

    value = app_settings.REFUND_WALLET_KEYPAIR
    if not value:
        return []
    try:
        parse_keypair(value, name="REFUND_WALLET_KEYPAIR")
    except ValueError:
        hint = "Give the keypair as a JSON byte array string, a list of 64 integers, or a base58 string."
        return [_error("REFUND_WALLET_KEYPAIR is in none of the accepted formats.", hint, "E013")]
    return []


def _check_approval_thresholds():
    from .approvals import clean_thresholds

    hint = 'For example {"SOL": "10", "USDC": "1000"}: token symbols and amounts in token units.'
    try:
        thresholds = app_settings.APPROVAL_THRESHOLDS
        clean_thresholds(thresholds, known_symbols=_token_symbols() if thresholds else ())
    except ValueError as exc:
        return [_error(f"{exc}.", hint, "E014")]
    window = app_settings.APPROVAL_WINDOW_SECONDS
    if not _is_number(window) or window < 0:
        return [
            _error(
                f"APPROVAL_WINDOW_SECONDS must be a number of seconds of 0 or more, not {window!r}.",
                "0 compares each run alone with the thresholds.",
                "E014",
            )
        ]
    return []


def _token_symbols():
    """The tokens' symbols, to check APPROVAL_THRESHOLDS against; none before the tables exist (a fresh
    install's migrate) or while there are no tokens yet."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from .models import PaymentToken

    try:
        return list(PaymentToken.objects.values_list("symbol", flat=True))
    except (DatabaseError, ImproperlyConfigured):  # no table yet, or no database configured
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
        "PROGRESS_EVERY_SECONDS": 0,
        "CHECKOUT_POLL_SECONDS": 0,
        "WEBHOOK_TIMEOUT": 0,
        "WEBHOOK_BACKOFF_SECONDS": 0,
    }
    for name, minimum in rules.items():
        value = getattr(app_settings, name)
        if not _is_number(value) or value <= minimum:
            errors.append(
                _error(f"{name} must be a number greater than {minimum}, not {value!r}.", None, "E006")
            )
    for name in (
        "RPC_RATE_LIMIT",
        "PRIORITY_FEE_MICROLAMPORTS",
        "LATE_PAYMENT_WINDOW",
        "DASHBOARD_CACHE_SECONDS",
        "FEE_PAYER_LOW_BALANCE_LAMPORTS",
        "REFUND_WALLET_LOW_BALANCE_LAMPORTS",
        "STATUS_CHAIN_CHECK_SECONDS",
        "STATUS_RATE_LIMIT",
        "CHECKOUT_HOLD_SECONDS",
        "WEBHOOK_RETRY_SECONDS",
    ):
        value = getattr(app_settings, name)
        if not _is_number(value) or value < 0:
            errors.append(_error(f"{name} must be a number of 0 or more, not {value!r}.", None, "E006"))
    return errors


def _is_number(value):
    """A finite int or float: "2" (a string), True, nan and inf are not numbers of seconds or lamports."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_hook():
    return _check_callable("ON_PAYMENT_ACCEPTED", "E007") + _check_callable(
        "CREATE_PAYMENT_PERMISSION", "E012"
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


def _check_explorer_url():
    """``EXPLORER_URL`` is formatted with ``{signature}`` and ``{cluster}`` on every run page."""
    url, cluster = app_settings.EXPLORER_URL, app_settings.CLUSTER
    hint = "Example: 'https://explorer.solana.com/tx/{signature}?cluster={cluster}'."
    if not isinstance(cluster, str) or not cluster:
        return [_error(f"CLUSTER must be a non-empty string, not {cluster!r}.", None, "E008")]
    if not isinstance(url, str):
        return [_error(f"EXPLORER_URL must be a string, not {type(url).__name__}.", hint, "E008")]
    try:
        names = [name for _text, name, _spec, _conversion in Formatter().parse(url) if name is not None]
        unknown = [name for name in names if name not in ("signature", "cluster")]
        if unknown:
            problem = f"the placeholder {{{unknown[0]}}} is not one of {{signature}}, {{cluster}}"
        elif "signature" not in names:
            problem = "it has no {signature} placeholder"
        elif urlsplit(url.format(signature="s", cluster=cluster)).scheme not in ("http", "https"):
            problem = "it is not an http(s) URL"
        else:
            return []
    except (ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:  # "{", "{0}", "{x.y}"
        problem = f"it cannot be formatted: {exc}"
    return [_error(f"EXPLORER_URL {url!r} is refused: {problem}.", hint, "E008")]


def _check_operations():
    """``OPERATIONS`` names ``Operation`` subclasses whose kinds and admin actions clash with nothing."""
    from django.utils.module_loading import import_string

    from .operations.base import Operation
    from .operations.registry import built_in_kinds, operation_classes

    value = app_settings.OPERATIONS
    hint = 'Example: ["myshop.operations.NoteOperation"] (dotted paths of Operation subclasses).'
    if not isinstance(value, list | tuple):
        return [
            _error(f"OPERATIONS must be a list of dotted paths, not {type(value).__name__}.", hint, "E029")
        ]
    errors, kinds = [], set()
    for path in value:
        try:
            operation_class = import_string(str(path))
        except ImportError as exc:
            errors.append(_error(f"OPERATIONS: {path!r} cannot be imported ({exc}).", hint, "E029"))
            continue
        kind = getattr(operation_class, "kind", None)
        if not (isinstance(operation_class, type) and issubclass(operation_class, Operation)):
            errors.append(_error(f"OPERATIONS: {path!r} is not an Operation subclass.", hint, "E029"))
        elif not isinstance(kind, str) or not kind.isidentifier() or len(kind) > 16:
            errors.append(
                _error(
                    f"OPERATIONS: {path!r} needs a kind: a name of at most 16 letters, digits or _.",
                    hint,
                    "E029",
                )
            )
        elif kind in built_in_kinds() or kind in kinds:
            errors.append(
                _error(f"OPERATIONS: {path!r} has the kind {kind!r} of another operation.", hint, "E029")
            )
        kinds.add(kind)
    if errors:
        return errors
    names = [action.name for c in operation_classes().values() for action in c.admin_actions]
    for name in sorted({n for n in names if names.count(n) > 1}):
        errors.append(_error(f"OPERATIONS: two operations offer the admin action {name!r}.", hint, "E029"))
    return errors


def _check_schedules():
    """``SCHEDULES`` maps a schedulable operation to its interval in whole minutes."""
    from .operations import default_schedules

    defaults = default_schedules()
    value = app_settings.SCHEDULES
    hint = f"Example: {defaults!r} (minutes)."
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_error(f"SCHEDULES must be a dict, not {type(value).__name__}.", hint, "E009")]
    errors = []
    for name, minutes in value.items():
        if name not in defaults:
            errors.append(
                _error(
                    f"SCHEDULES: {name!r} cannot be scheduled; use one of {', '.join(defaults)}.",
                    hint,
                    "E009",
                )
            )
        elif isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            errors.append(
                _error(
                    f"SCHEDULES[{name!r}] must be a whole number of minutes of 1 or more, not {minutes!r}.",
                    hint,
                    "E009",
                )
            )
    return errors


def _check_watch():
    window, late, size = (
        app_settings.WATCH_WINDOW,
        app_settings.LATE_PAYMENT_WINDOW,
        app_settings.WATCH_BATCH_SIZE,
    )
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return [_error(f"WATCH_BATCH_SIZE must be a whole number of 0 or more, not {size!r}.", None, "E010")]
    if not _is_number(window) or window < 0:
        return [_error(f"WATCH_WINDOW must be a number of seconds, not {window!r}.", None, "E010")]
    if isinstance(late, (int, float)) and window < late:
        return [
            _error(
                f"WATCH_WINDOW ({window} s) is shorter than LATE_PAYMENT_WINDOW ({late} s).",
                "A payment accepted late must still be watched: make WATCH_WINDOW at least as long.",
                "E010",
            )
        ]
    return []


def _check_dust_thresholds():
    from .ledger.facts import clean_dust_thresholds

    try:
        clean_dust_thresholds(app_settings.DUST_THRESHOLDS)
    except ValueError as exc:
        hint = 'For example {"SOL": "0.001", "USDC": "0.01"}: token symbols and amounts in token units.'
        return [_error(f"{exc}.", hint, "E015")]
    return []


def _check_held_funds():
    from .models import PaymentException

    value = app_settings.HOLD_FLAGGED_FUNDS
    known = [e for e in PaymentException.values if e]
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        return [_error(f"HOLD_FLAGGED_FUNDS must be a list of exceptions, not {value!r}.", None, "E011")]
    unknown = sorted(str(v) for v in value if v not in known)
    if unknown:
        return [
            _error(
                f"HOLD_FLAGGED_FUNDS names unknown exceptions: {', '.join(unknown)}.",
                f"Choose among {', '.join(known)}.",
                "E011",
            )
        ]
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


def _check_webhooks():
    value = app_settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS
    if not isinstance(value, bool):
        return [
            _error(
                f"WEBHOOK_ALLOW_PRIVATE_NETWORKS must be True or False, not {value!r}.",
                "Leave it False in production: webhooks then go to public addresses only.",
                "E016",
            )
        ]
    return []


def _check_max_validity():
    maximum, default = app_settings.PAYMENT_MAX_VALIDITY_SECONDS, app_settings.PAYMENT_VALIDITY_SECONDS
    if not _is_number(maximum) or maximum <= 0:
        problem = f"must be a number of seconds greater than 0, not {maximum!r}"
    elif _is_number(default) and maximum < default:
        problem = f"({maximum} s) is shorter than PAYMENT_VALIDITY_SECONDS ({default} s)"
    else:
        return []
    return [
        _error(
            f"PAYMENT_MAX_VALIDITY_SECONDS {problem}.",
            "It bounds expires_in: the rent of a payment's token accounts waits for its deadline.",
            "E017",
        )
    ]


def _check_rates():
    """Prices in the shop's currency (E024-E028)."""
    errors = []
    sources = app_settings.RATE_SOURCES
    if isinstance(sources, str) or not isinstance(sources, (list, tuple)):
        errors.append(_error(f"RATE_SOURCES must be a list of dotted paths, not {sources!r}.", None, "E024"))
        sources = ()
    for path in sources:
        try:
            source = import_string(str(path))
        except ImportError as exc:
            errors.append(_error(f"RATE_SOURCES: cannot import {path!r}: {exc}", None, "E024"))
            continue
        if not callable(getattr(source, "quotes", None)):
            errors.append(
                _error(
                    f"RATE_SOURCES: {path!r} has no quotes() method.",
                    "A rate source is a class with one method, quotes(pairs).",
                    "E024",
                )
            )
    errors += _check_feeds()
    for name in ("COINGECKO_IDS", "PEGGED_TOKENS"):
        value = getattr(app_settings, name)
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            errors.append(_error(f"{name} must map token symbols to strings, not {value!r}.", None, "E026"))
    url = urlsplit(str(app_settings.COINGECKO_URL or ""))
    if url.scheme not in ("http", "https") or not url.hostname:
        errors.append(
            _error(
                "COINGECKO_URL is not an http(s) URL.", "Default: 'https://api.coingecko.com/api/v3'.", "E027"
            )
        )
    for name, minimum in (
        ("RATE_MAX_AGE_SECONDS", 1),
        ("RATE_TIMEOUT", 0.1),
        ("RATE_MAX_CONFIDENCE_PERCENT", 0),
        ("PEG_BAND_PERCENT", 0),
        ("PAYMENT_TOLERANCE_PERCENT", 0),
    ):
        value = getattr(app_settings, name)
        if not _is_percentage_or_number(value) or value < minimum:
            errors.append(
                _error(f"{name} must be a number of {minimum} or more, not {value!r}.", None, "E028")
            )
    tolerance = app_settings.PAYMENT_TOLERANCE_PERCENT
    if _is_percentage_or_number(tolerance) and tolerance >= 100:
        errors.append(
            _error(
                f"PAYMENT_TOLERANCE_PERCENT is {tolerance}: any payment at all would settle.",
                "A tolerance is a small percentage, such as 1.",
                "E028",
            )
        )
    return errors


def _is_percentage_or_number(value):
    from decimal import Decimal

    return (isinstance(value, Decimal) and value.is_finite()) or _is_number(value)


def _check_feeds():
    from .chain.keypairs import parse_pubkey

    feeds = app_settings.PYTH_FEEDS
    if not isinstance(feeds, dict):
        return [_error(f"PYTH_FEEDS must map codes to feed account addresses, not {feeds!r}.", None, "E025")]
    errors = []
    for code, address in feeds.items():
        try:
            parse_pubkey(address)
        except (ValueError, TypeError) as exc:
            errors.append(
                _error(
                    f"PYTH_FEEDS[{code!r}] is not a Solana address: {exc}",
                    "Use the address of the PriceUpdateV2 account quoting it in USD.",
                    "E025",
                )
            )
    return errors
