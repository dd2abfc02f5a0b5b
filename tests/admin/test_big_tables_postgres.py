"""Query plans on PostgreSQL: with enough rows, every selection and changelist reads through an index.

The scale benchmark's ``--only plans`` mode does the work in a subprocess (its own settings, its own
database, named for this test and dropped afterwards): it seeds the tables with COPY, then EXPLAINs each
operation's selection of eligible records and every query of the dashboard, the changelists (filtered,
searched) and a run's page.
"""

import json
import os
import sys

import pytest

from tests.support.reliability import ROOT, postgres_database
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres

PAYMENTS = 100_000
ITEMS = 150_000
# Open checkouts are the last quarter hour's: one payment in a thousand is already a busy shop. (With one in
# a hundred, 1,000 of 100,000, the planner joins the wallets by hashing the whole table; at a million rows
# it reads them by index again: see the scale benchmark.)
OPEN_SHARE = "0.001"


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    import subprocess

    require_postgres()
    name = f"solana_payments_plans_test_{os.getpid()}"
    output = tmp_path_factory.mktemp("plans") / "plans.json"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.bench.settings", "PYTHONPATH": str(ROOT)}
    env.pop("SOLANA_PAYMENTS_TEST_DB_FILE", None)
    with postgres_database(name):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.bench.scale",
                "--payments",
                str(PAYMENTS),
                "--items",
                str(ITEMS),
                "--open-share",
                OPEN_SHARE,
                "--database",
                name,
                "--reuse",
                "--only",
                "plans",
                "--json",
                str(output),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert output.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(output.read_text()), done


def test_the_tables_were_seeded(plans):
    result, _ = plans
    assert result["seed_tables"]["payment"]["rows"] == PAYMENTS
    assert result["seed_tables"]["item"]["rows"] == ITEMS


def test_each_selection_uses_an_index(plans):
    result, _ = plans
    assert {row["selection"] for row in result["selections"]} == {
        "recheck",
        "expire",
        "sweep",
        "reclaim",
        "watch",
    }
    for row in result["selections"]:
        assert row["seq_scans"] == [], row


def test_changelists_read_by_index_with_a_fixed_number_of_queries(plans):
    result, done = plans
    pages = {row["page"]: row for row in result["pages"]}
    assert {"payments", "wallets", "runs", "items", "a run with 10,000 items"} <= set(pages)
    for name, row in pages.items():
        assert row["seq_scans"] == [], (name, row)
        assert row["missed"] == [], (name, row)
    assert result["missed"] == [] and done.returncode == 0, result["missed"]
