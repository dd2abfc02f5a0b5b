"""Settings for the benchmark: the test settings on a fresh SQLite file (or PostgreSQL with --db postgres)."""

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "solana_payments.db.backends.sqlite3",
        "NAME": os.environ["SOLANA_PAYMENTS_BENCH_DB"],
        "OPTIONS": {"timeout": 30},
    }
}
if os.environ.get("SOLANA_PAYMENTS_BENCH_ENGINE") == "postgres":
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("SOLANA_PAYMENTS_BENCH_PG_DB", "test"),
        "HOST": "127.0.0.1",
        "PORT": 5432,
        "USER": os.environ.get("SOLANA_PAYMENTS_BENCH_PG_USER", "postgres"),
    }
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
