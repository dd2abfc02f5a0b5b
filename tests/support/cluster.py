"""A django-q2 cluster in a process of its own, sharing the test's database, chain and a file cache: fixtures for the browser tests (a pytest plugin of the suite)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SETTINGS = """
import json, os
from tests.settings import *  # noqa: F401,F403

DATABASES["default"]["NAME"] = os.environ["SP_BROWSER_DB"]
SOLANA_PAYMENTS = json.loads(os.environ["SP_BROWSER_SOLANA_PAYMENTS"])
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": os.environ["SP_BROWSER_CACHE"]}}
"""


@pytest.fixture
def shared_cache(settings, tmp_path):
    """django-q2 reports its clusters through the cache: one the web process and the cluster share."""
    location = tmp_path / "cache"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(location),
        }
    }
    return location


@pytest.fixture
def cluster(shop, shared_cache, settings, tmp_path):
    """A real ``manage.py qcluster`` process on the test database; stopped, by its own id, at the end."""
    (tmp_path / "sp_browser_settings.py").write_text(CLUSTER_SETTINGS)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sp_browser_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SP_BROWSER_DB": connection.settings_dict["NAME"],
        "SP_BROWSER_SOLANA_PAYMENTS": json.dumps(settings.SOLANA_PAYMENTS),
        "SP_BROWSER_CACHE": str(shared_cache),
    }
    log = tmp_path / "qcluster.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share its process group, so they stop with it
        )
    try:
        wait_for_cluster(process, log)
        yield process
    finally:
        stop(process)


def wait_for_cluster(process, log, timeout=30):
    from django_q.brokers import Broker
    from django_q.status import Stat

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"qcluster exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if any(stat.workers for stat in Stat.get_all(broker=Broker())):  # stats live in the cache
            return
        time.sleep(0.2)
    pytest.fail(f"qcluster did not report within {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process):
    """SIGTERM lets the cluster stop its workers; then whatever is left of the process group this test
    started (by its id) is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)
