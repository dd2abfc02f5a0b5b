"""``chain`` talks to Solana and to nothing else: it imports neither Django nor the rest of the app.

Checked on the source (every import statement of every module, those inside functions included) and by
importing each module in a fresh interpreter where Django cannot be imported.
"""

import ast
import subprocess
import sys
from pathlib import Path

import solana_payments.chain

CHAIN_DIR = Path(solana_payments.chain.__file__).parent
PACKAGE = "solana_payments.chain"


def chain_modules():
    for path in sorted(CHAIN_DIR.rglob("*.py")):
        parts = list(path.relative_to(CHAIN_DIR).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield ".".join([PACKAGE, *parts]), is_package, path


def imported_names(module, is_package, path):
    """``(line, absolute module name)`` of every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            yield node.lineno, name
            # ``from . import x`` may name submodules: check them as modules too.
            for alias in node.names:
                yield node.lineno, f"{name}.{alias.name}"


def forbidden(name):
    top = name.split(".")[0]
    if top == "django":
        return True
    return top == "solana_payments" and not (name == PACKAGE or name.startswith(PACKAGE + "."))


def test_the_walk_finds_the_modules_and_their_imports():
    modules = {module: path for module, _is_package, path in chain_modules()}
    assert {f"{PACKAGE}.client", f"{PACKAGE}.transport", f"{PACKAGE}.parsing"} <= set(modules)
    names = {name for _line, name in imported_names(f"{PACKAGE}.client", False, modules[f"{PACKAGE}.client"])}
    assert f"{PACKAGE}.transport" in names and "solders.pubkey" in names


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "def later():\n    from ..conf import app_settings\n    import django.db\n    return app_settings\n"
    )
    names = [name for _line, name in imported_names(f"{PACKAGE}.sample", False, source)]
    assert "solana_payments.conf" in names and "django.db" in names
    assert [name for name in names if forbidden(name)] == [
        "solana_payments.conf",
        "solana_payments.conf.app_settings",
        "django.db",
    ]


def test_chain_imports_nothing_from_django_or_the_app():
    found = []
    for module, is_package, path in chain_modules():
        for line, name in imported_names(module, is_package, path):
            if forbidden(name):
                found.append(f"{path.name}:{line} imports {name}")
    assert found == []


def test_chain_modules_import_without_django():
    modules = [module for module, _is_package, _path in chain_modules()]
    script = (
        "import importlib, sys\n"
        "sys.modules['django'] = None  # any 'import django...' now fails\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "app = sorted(m for m in sys.modules if m.startswith('solana_payments') and m != 'solana_payments'"
        f" and not m.startswith({PACKAGE!r}))\n"
        "print(','.join(app))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
