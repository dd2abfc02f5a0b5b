"""Settings for the test suite. The chain settings are set per test by fixtures (the localnet)."""

import os
import tempfile

from demo.project_settings import *  # noqa: F403  (apps, middleware, templates, static files)

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]

# The bundled SQLite backend (the demo's) by default; SOLANA_PAYMENTS_TEST_DB=stock runs the suite on
# Django's own, as most projects that install the app do, and SOLANA_PAYMENTS_TEST_DB=postgres on the
# PostgreSQL server at 127.0.0.1:5432.
ENGINES = {
    "bundled": "solana_payments.db.backends.sqlite3",
    "stock": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
}
ENGINE = ENGINES[os.environ.get("SOLANA_PAYMENTS_TEST_DB", "bundled")]

if ENGINE == ENGINES["postgres"]:
    DATABASES = {
        "default": {
            "ENGINE": ENGINE,
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "USER": os.environ.get("SOLANA_PAYMENTS_TEST_PG_USER", "postgres"),
            "NAME": os.environ.get("SOLANA_PAYMENTS_TEST_PG_DB", "test"),
            # One test database per pytest process, so that parallel runs never share one; processes the
            # tests start (django-q2 clusters, commands) inherit the name through the environment.
            "TEST": {
                "NAME": os.environ.setdefault(
                    "SOLANA_PAYMENTS_TEST_PG_TEST_DB", f"test_solana_payments_{os.getpid()}"
                )
            },
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": ENGINE,
            "NAME": os.path.join(tempfile.gettempdir(), "solana_payments_tests.sqlite3"),
            # A file, not memory, so django-q2 worker processes see the test database too.
            "TEST": {
                "NAME": os.environ.setdefault(
                    "SOLANA_PAYMENTS_TEST_DB_FILE",
                    os.path.join(tempfile.gettempdir(), f"solana_payments_test_{os.getpid()}.sqlite3"),
                )
            },
            "OPTIONS": {"timeout": 30},
        }
    }


Q_CLUSTER = {"name": "tests", "orm": "default", "workers": 1, "timeout": 60, "retry": 90, "sync": False}

SOLANA_PAYMENTS = {}

LOGGING = {"version": 1, "disable_existing_loggers": False}
