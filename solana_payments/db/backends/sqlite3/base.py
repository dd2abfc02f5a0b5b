"""Django's SQLite backend, with the statement parameter limit read from SQLite itself.

Django 5.2 assumes SQLite's old compile-time default of 999 parameters per statement and splits bulk
writes accordingly (about 90 operation items per INSERT). SQLite 3.32+ allows 32,766 by default and
Debian builds 250,000; Django 6.0 reads the real limit (ticket #36143). This backend backports that, so
bulk writes of runs take one statement per batch. Use it with ``"ENGINE": "solana_payments.db.backends.sqlite3"``;
everything else is Django's own backend.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property

STOCK_LIMIT = 999
MAX_USED = 32_766  # SQLite's default since 3.32; also keeps statements a sensible size


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self):
        self.connection.ensure_connection()
        limit = self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(STOCK_LIMIT, min(limit, MAX_USED))


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
