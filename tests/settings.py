"""Settings for the test suite. The chain settings are set per test by fixtures (the localnet)."""

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "solana_payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "demo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "solana_payments.db.backends.sqlite3",
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

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

Q_CLUSTER = {"name": "tests", "orm": "default", "workers": 1, "timeout": 60, "retry": 90, "sync": False}

SOLANA_PAYMENTS = {}

LOGGING = {"version": 1, "disable_existing_loggers": False}
