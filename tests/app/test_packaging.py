"""The wheel carries the top-level templates/ and static/ inside the package."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (path,) = out.glob("*.whl")
    return zipfile.ZipFile(path)


def test_wheel_contains_templates_and_static(wheel):
    names = set(wheel.namelist())
    for folder in ("templates", "static"):
        expected = {
            f"solana_payments/{folder}/{p.relative_to(ROOT / folder).as_posix()}"
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
        }
        assert expected, f"the repository has no {folder}/ files"
        assert expected <= names


def test_wheel_contains_migrations_and_commands(wheel):
    names = set(wheel.namelist())
    assert "solana_payments/migrations/0001_initial.py" in names
    assert "solana_payments/management/commands/rotate_wallet_keys.py" in names


@pytest.mark.django_db
def test_migrations_match_the_models():
    from io import StringIO

    from django.core.management import call_command

    call_command("makemigrations", "solana_payments", "--check", "--dry-run", stdout=StringIO())


def test_the_localnet_fixtures_are_a_pytest_plugin_of_the_installed_app(request):
    from importlib.metadata import entry_points

    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins["solana_payments_localnet"] == "solana_payments.localnet.pytest_plugin"
    assert request.config.pluginmanager.has_plugin("solana_payments_localnet")  # loaded by pytest itself
