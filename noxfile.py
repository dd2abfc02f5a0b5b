"""The test matrix: each supported Python with each supported Django, each pair in its own environment.

    nox -l                                        # the sessions
    nox -s "tests-3.13(django='6.1')"             # the suite on Python 3.13 with Django 6.1
    nox -s "tests-3.12(django='5.2')" -- -m "not slow and not browser"   # arguments after -- go to pytest
    nox -s tests                                  # every pair

Each session installs the app with its dev extra and that Django series, checks that the migrations match the
models on it (``makemigrations --check``), then runs pytest. Nox finds the interpreters as ``python3.11`` ...
``python3.13`` on ``PATH``; ``.ci/run`` shows how to put pyenv's there.
"""

import nox

# Django 5.2 LTS runs on Python 3.10 to 3.14, Django 6.0 and 6.1 need Python 3.12 or newer.
PYTHONS = ["3.11", "3.12", "3.13"]
DJANGOS = ["5.2", "6.0", "6.1"]
MINIMUM_PYTHON = {"5.2": (3, 10), "6.0": (3, 12), "6.1": (3, 12)}

nox.options.sessions = ["tests"]
nox.options.default_venv_backend = "venv"
nox.options.download_python = "never"  # the interpreters are the machine's own
nox.options.error_on_missing_interpreters = True


@nox.session(python=PYTHONS)
@nox.parametrize("django", DJANGOS)
def tests(session, django):
    python = tuple(int(part) for part in session.python.split("."))
    if python < MINIMUM_PYTHON[django]:
        session.skip(f"Django {django} needs Python {'.'.join(map(str, MINIMUM_PYTHON[django]))} or newer")
    session.install("-e", ".[dev]", f"Django~={django}.0")
    session.run("python", "-m", "django", "--version")
    session.run(
        "python",
        "manage.py",
        "makemigrations",
        "solana_payments",
        "--check",
        "--dry-run",
        "--skip-checks",  # the test settings leave the chain settings to each test's fixtures
        env={"DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    session.run("python", "-m", "pytest", *session.posargs)
