"""The package's structure: no import cycle, even through imports made inside functions or by name.

The layers themselves are import-linter's contracts (``[tool.importlinter]`` in pyproject.toml, run by
``make lint``). This test holds what they cannot see: a module loaded by name (``import_module``,
``import_string``, ``__import__``) is an import like any other here, and a module that loads one whose name
is known only at run time must say why in ``DYNAMIC_IMPORTS``.
"""

import ast
from pathlib import Path

import solana_payments

PACKAGE = Path(solana_payments.__file__).parent

# The functions that import a module given its name.
LOADERS = {"import_module", "import_string", "__import__"}

# The modules that load a module named only at run time, and what they load.
DYNAMIC_IMPORTS = {
    "solana_payments.chain": "its own submodules, when one of their names is first used (PEP 562 __getattr__)",
    "solana_payments.checks": "the dotted paths of the settings (hooks, rate sources), to check them",
    "solana_payments.exporting": "the resource class a background export job names (one of resources/)",
    "solana_payments.operations.registry": "the OPERATIONS setting's operation classes, dotted paths",
    "solana_payments.payments": "the ON_PAYMENT_ACCEPTED hook, a dotted path of the settings",
    "solana_payments.rates": "the RATE_SOURCES classes, dotted paths of the settings",
    "solana_payments.views": "the CREATE_PAYMENT_PERMISSION callable, a dotted path of the settings",
}


# Imports that close a cycle, each said with why it stands for now.
CYCLES_ALLOWED = set()


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    return {
        module_name(path): path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts and "tests" not in path.parts
    }


def known_module(target, known):
    """The module of the package that ``target`` names (a name inside a module: the module), or None."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def loader_call(node):
    """The first argument of a call to one of ``LOADERS`` (``importlib.import_module(...)`` too), or None."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return node.args[0] if name in LOADERS else None


def read_imports(name, path, known):
    """``(imported modules of the package, lines of imports by a name known only at run time)`` of
    ``name``, at any depth of its code."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found, dynamic = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from a import b``: the submodule a.b if there is one, else a name of a's own
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        elif (argument := loader_call(node)) is not None:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                targets = [argument.value]
            else:
                dynamic.append(node.lineno)
                continue
        else:
            continue
        for target in targets:
            target = known_module(target, known)
            if target and target != name:
                found.add(target)
    return found, dynamic


def imports_of(name, path, known):
    return read_imports(name, path, known)[0]


def import_graph():
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def dynamic_imports():
    known = modules()
    found = {name: read_imports(name, path, known)[1] for name, path in known.items()}
    return {name: lines for name, lines in found.items() if lines}


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "solana_payments.keys" in graph["solana_payments.models"]  # imported inside OneTimeWallet.keypair


def test_the_graph_sees_modules_loaded_by_name(tmp_path):
    source = tmp_path / "loader.py"
    source.write_text(
        "import importlib\n"
        "from importlib import import_module\n"
        "from django.utils.module_loading import import_string\n\n"
        "def load(kind):\n"
        "    importlib.import_module('solana_payments.keys')\n"
        "    import_module('solana_payments.amounts')\n"
        "    import_string('solana_payments.bulk.bulk_update')\n"
        "    __import__('solana_payments.storable')\n"
        "    return import_module(f'solana_payments.operations.{kind}')\n"
    )
    found, dynamic = read_imports("solana_payments.loader", source, modules())
    assert {
        "solana_payments.keys",
        "solana_payments.amounts",
        "solana_payments.bulk",
        "solana_payments.storable",
    } <= found
    assert dynamic == [10]  # the f-string: a name known only at run time


def test_the_graph_sees_an_import_of_the_package_that_holds_the_module(tmp_path):
    source = tmp_path / "member.py"
    source.write_text("def kinds():\n    from . import get_operation_class\n    from . import base\n")
    found, _ = read_imports("solana_payments.operations.member", source, modules())
    assert found == {"solana_payments.operations", "solana_payments.operations.base"}


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    for source, target in CYCLES_ALLOWED:
        graph.get(source, set()).discard(target)
    assert cycles(graph) == []


def test_modules_loaded_by_a_name_known_at_run_time_are_the_ones_said():
    assert sorted(dynamic_imports()) == sorted(DYNAMIC_IMPORTS)
