"""Skip (locally) or fail (in CI) when a real server or browser a test needs is absent."""

import os
import shutil
import socket

import pytest

REQUIRED = os.environ.get("SOLANA_PAYMENTS_REQUIRE_SERVICES") == "1"


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _missing(reason):
    if REQUIRED:
        pytest.fail(f"{reason} (SOLANA_PAYMENTS_REQUIRE_SERVICES=1: CI must run this test)")
    pytest.skip(reason)


def require_postgres():
    if not _port_open("127.0.0.1", 5432):
        _missing("PostgreSQL is not running on 127.0.0.1:5432")


def require_redis():
    if not _port_open("127.0.0.1", 6379):
        _missing("Redis is not running on 127.0.0.1:6379")


def require_chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        _missing("Debian's chromium is not installed (apt-get install chromium)")
    return path
