"""The wheel carries the top-level templates/ and static/ inside the package; the metadata states the
Python and Django versions the test matrix (noxfile.py) runs."""

import importlib.util
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

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


def _load_matrix():
    spec = importlib.util.spec_from_file_location("noxfile", ROOT / "noxfile.py")
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)
    return noxfile


def _next_minor(version):
    major, minor = map(int, version.split("."))
    return f"{major}.{minor + 1}"


def _previous_minor(version):
    major, minor = map(int, version.split("."))
    return f"{major}.{minor - 1}" if minor else f"{major - 1}.99"


def test_the_metadata_states_the_versions_the_matrix_tests():
    matrix = _load_matrix()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classifiers = project["classifiers"]
    assert {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")} == set(
        matrix.DJANGOS
    )
    python_classifiers = {c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Programming Language")}
    assert {v for v in python_classifiers if "." in v} == set(matrix.PYTHONS)

    # The ranges allow every version tested, and neither the one before nor the one after.
    requires_python = SpecifierSet(project["requires-python"])
    (django,) = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "Django"]
    for tested, specifier in ((matrix.PYTHONS, requires_python), (matrix.DJANGOS, django.specifier)):
        assert all(specifier.contains(f"{v}.0") and specifier.contains(f"{v}.9") for v in tested)
        assert not specifier.contains(f"{_next_minor(max(tested, key=Version))}.0")
        assert not specifier.contains(f"{_previous_minor(min(tested, key=Version))}.0")
