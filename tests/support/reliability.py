"""Helpers of the reliability tests: what the chain says each wallet signed, worker subprocesses.

Worker processes (``qcluster``, management commands, ``python -m tests.support.reliability_worker``) get their
configuration from environment variables holding JSON, read by ``tests/worker_settings.py``:

- ``SOLANA_PAYMENTS_TEST_SETTINGS``: the ``SOLANA_PAYMENTS`` dict of the test (localnet URL, fee payer...);
- ``SOLANA_PAYMENTS_TEST_DATABASE``: the ``DATABASES["default"]`` dict (the test's file SQLite database,
  or a PostgreSQL database made for the test);
- ``SOLANA_PAYMENTS_TEST_Q_CLUSTER``: the ``Q_CLUSTER`` dict (ORM or Redis broker).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from solana_payments.chain.client import ChainClient

ROOT = Path(__file__).resolve().parents[2]


def signed_transactions(rpc_url, addresses):
    """``{address: [(signature, err), ...]}``: every transaction on chain that ``address`` signed.

    Failed transactions count too (they were sent, and paid their fee): a wallet swept twice shows two
    entries here even when the chain refused the second transfer.
    """
    addresses = [str(a) for a in addresses]
    with ChainClient(rpc_url, max_retry_seconds=30) as chain:
        histories = chain.get_signatures_for_addresses(addresses, limit=1000)
        signatures = sorted({str(h.signature) for history in histories for h in history})
        transactions = dict(zip(signatures, chain.get_transactions(signatures), strict=True))
    signed = {address: [] for address in addresses}
    for address, history in zip(addresses, histories, strict=True):
        for entry in history:
            tx = transactions[str(entry.signature)]
            assert tx is not None, f"{entry.signature} is in {address}'s history but not on chain"
            message = tx.transaction.transaction.message
            signers = [str(k) for k in message.account_keys[: message.header.num_required_signatures]]
            if address in signers:
                signed[address].append((str(entry.signature), entry.err))
    return signed


def signature_statuses(rpc_url, signatures):
    """``{signature: TransactionStatus | None}`` (searching the whole history)."""
    signatures = list(signatures)
    with ChainClient(rpc_url, max_retry_seconds=30) as chain:
        return dict(zip(signatures, chain.get_signature_statuses(signatures), strict=True))


# -- worker processes ---------------------------------------------------------------------------------


def worker_env(
    *, solana_payments, database, q_cluster=None, mints=None, settings_module="tests.worker_settings"
):
    """The environment of a worker subprocess: this interpreter's, plus the test's configuration."""
    env = dict(os.environ)
    env.pop("SOLANA_PAYMENTS_TEST_DB_FILE", None)  # tests/settings.py must not pick the pytest process's
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
        SOLANA_PAYMENTS_TEST_SETTINGS=json.dumps(solana_payments),
        SOLANA_PAYMENTS_TEST_DATABASE=json.dumps(database, default=str),
    )
    if q_cluster is not None:
        env["SOLANA_PAYMENTS_TEST_Q_CLUSTER"] = json.dumps(q_cluster)
    if mints is not None:
        env["SOLANA_PAYMENTS_TEST_MINTS"] = json.dumps({symbol: str(mint) for symbol, mint in mints.items()})
    return env


def current_database():
    """The ``DATABASES`` entry of the test database this process uses, for a worker to connect to it too."""
    from django.db import connection

    keys = ("ENGINE", "NAME", "HOST", "PORT", "USER", "PASSWORD", "OPTIONS")
    return {key: connection.settings_dict[key] for key in keys if connection.settings_dict.get(key)}


def localnet_mints():
    """In a worker: the test localnet's mints by symbol (``SOLANA_PAYMENTS_TEST_MINTS``)."""
    return json.loads(os.environ["SOLANA_PAYMENTS_TEST_MINTS"])


def run_python(args, env, *, timeout=120):
    """Run ``python ARGS`` to the end and return its standard output; fails the test if it fails."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{args[:3]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


def run_json(args, env, *, timeout=120):
    """Run ``python ARGS`` to the end; returns the JSON document on the last line of its output."""
    return json.loads(run_python(args, env, timeout=timeout).strip().splitlines()[-1])


# -- a PostgreSQL database of its own, per test -------------------------------------------------------

POSTGRES = {
    "HOST": "127.0.0.1",
    "PORT": 5432,
    "USER": os.environ.get("SOLANA_PAYMENTS_TEST_PG_USER", "postgres"),
}


def postgres_admin():
    import psycopg

    return psycopg.connect(
        host=POSTGRES["HOST"],
        port=POSTGRES["PORT"],
        user=POSTGRES["USER"],
        dbname="postgres",
        autocommit=True,
    )


@contextlib.contextmanager
def postgres_database(name):
    """A fresh PostgreSQL database ``name`` (dropped first if a crashed run left it), dropped afterwards.

    Yields its ``DATABASES`` entry.
    """
    from psycopg import sql

    with postgres_admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {"ENGINE": "django.db.backends.postgresql", "NAME": name, **POSTGRES}
    finally:
        with postgres_admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Process:
    """A subprocess in its own process group (``qcluster`` forks workers): killed as a group, by its id."""

    def __init__(self, args, env, log_path):
        self.args = args
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def kill(self, sig=signal.SIGKILL):
        """Send ``sig`` to the whole process group this process leads."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=15):
        """SIGTERM (qcluster stops its workers), then SIGKILL for whatever is left of the group."""
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # forked workers that outlived their parent
        except (ProcessLookupError, PermissionError):
            pass
        if self.alive():
            self.popen.wait(timeout=5)
        self._log.close()

    def wait(self, timeout):
        code = self.popen.wait(timeout=timeout)
        self._log.flush()
        return code

    def output(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def wait_until(predicate, *, timeout, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout} s")
        time.sleep(interval)
