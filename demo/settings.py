"""The runnable example project used by ``make demo``.

Everything has an embedded default (SQLite, django-q2's ORM broker, the local chain on 127.0.0.1:8899)
and can be overridden with ``SOLANA_PAYMENTS_*`` environment variables. The default keys are demo-only
throwaway keys that are known to everyone: never use them with real money.
"""

import base64
import hashlib
import json
import os
from pathlib import Path
from urllib.parse import quote

from demo.project_settings import *  # noqa: F403  (apps, middleware, templates, static files)
from demo.project_settings import BASE_DIR

DATA_DIR = Path(os.environ.get("SOLANA_PAYMENTS_DEMO_DIR", BASE_DIR / "var" / "demo"))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def env(name, default=None):
    return os.environ.get(f"SOLANA_PAYMENTS_{name}", default)


def demo_only_key(label):
    return base64.urlsafe_b64encode(
        hashlib.sha256(f"solana_payments demo only: {label}".encode()).digest()
    ).decode()


SECRET_KEY = env("SECRET_KEY", "demo-only-" + demo_only_key("django"))
DEBUG = env("DEBUG", "1") == "1"
ALLOWED_HOSTS = env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
DATABASES = {
    "default": {
        "ENGINE": env("DB_ENGINE", "solana_payments.db.backends.sqlite3"),
        "NAME": env("DB_NAME", str(DATA_DIR / "db.sqlite3")),
        "USER": env("DB_USER", ""),
        "HOST": env("DB_HOST", ""),
        "PORT": env("DB_PORT", ""),
        "OPTIONS": {"timeout": 20} if env("DB_ENGINE") is None else {},
    }
}

# A cache every process shares, so the dashboard sees the django-q2 cluster that runs in another process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache"),
    }
}

STATIC_ROOT = DATA_DIR / "static"

Q_CLUSTER = {
    "name": "solana_payments_demo",
    "workers": int(env("Q_WORKERS", "2")),
    "timeout": 300,
    "retry": 360,
    "orm": "default",
    "catch_up": False,
}
if env("REDIS_URL"):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env("REDIS_URL")


def localnet_key(name):
    """The local chain's keys come from fixed seeds: the same on every machine, fine for a local
    LiteSVM ledger, never for real money."""
    from solana_payments.localnet.ledger import seeded_keypair

    return seeded_keypair(name)


RPC_URL = env("RPC_URL", "http://127.0.0.1:8899")

SOLANA_PAYMENTS = {
    "RPC_URL": RPC_URL,
    "RECEIVER_ADDRESS": env("RECEIVER_ADDRESS") or str(localnet_key("demo-receiver").pubkey()),
    "FEE_PAYER_KEYPAIR": env("FEE_PAYER_KEYPAIR") or list(bytes(localnet_key("fee-payer"))),
    # Refunds of payments already swept are paid from here; the demo funds it on the local chain.
    "REFUND_WALLET_KEYPAIR": env("REFUND_WALLET_KEYPAIR") or list(bytes(localnet_key("demo-refund-wallet"))),
    "ONE_TIME_WALLETS_ENCRYPTION_KEY": json.loads(env("ENCRYPTION_KEYS", "null")) or demo_only_key("wallets"),
    # The explorer's links point at the chain the demo runs, on whatever port it was given.
    "CLUSTER": env("CLUSTER", "custom&customUrl=" + quote(RPC_URL, safe="")),
    "LOCALNET": env("LOCALNET", "1") == "1",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": True,  # the demo's webhook receivers run on this machine
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"solana_payments": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")}},
}
