"""Settings of worker subprocesses started by the reliability tests (``qcluster``, commands, helpers).

The test suite's settings, with the test's own configuration passed as JSON in environment variables
(see ``tests/reliability.py``): the database the test uses (its file SQLite database, or a PostgreSQL
database made for it), its ``SOLANA_PAYMENTS`` (localnet URL, fee payer, wallet keys) and, optionally,
its ``Q_CLUSTER`` (the ORM broker on that database, or a Redis broker).
"""

import json
import os

from .settings import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["SOLANA_PAYMENTS_TEST_DATABASE"])}
SOLANA_PAYMENTS = json.loads(os.environ["SOLANA_PAYMENTS_TEST_SETTINGS"])
if os.environ.get("SOLANA_PAYMENTS_TEST_Q_CLUSTER"):
    Q_CLUSTER = json.loads(os.environ["SOLANA_PAYMENTS_TEST_Q_CLUSTER"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}
