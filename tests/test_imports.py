"""The package's import graph has no cycle, counting imports inside functions too.

An import inside a function still ties two modules together: it only moves the
failure from import time to call time. The graph is read from the source with
``ast`` (nothing is imported), so the test also covers modules whose imports are
expensive or optional.
"""

import ast
import os

import kerasdil

PACKAGE_DIR = os.path.dirname(os.path.abspath(kerasdil.__file__))
PACKAGE = "kerasdil"


def _modules():
    """``{dotted module name: source path}`` of every module in the package."""
    root = os.path.dirname(PACKAGE_DIR)
    found = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, root)[: -len(".py")].replace(os.sep, ".")
                found[dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


def _is_within(module, package):
    return module == package or module.startswith(package + ".")


def import_graph():
    """``{module: set of package modules it imports}``, module level and function level.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module, else
    ``a.b``. Importing ``a.b.c`` also runs the ``__init__`` of ``a.b``, so that
    package counts as imported too, unless the importer lives inside it (a
    package importing its own submodules is how packages are built).
    """
    modules = _modules()

    def known(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and _is_within(node.args[0].value, PACKAGE)):
                targets.add(known(node.args[0].value))  # importlib.import_module("kerasdil....")
            if isinstance(node, ast.Import):
                targets.update(known(alias.name) for alias in node.names if _is_within(alias.name, PACKAGE))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                if not _is_within(base, PACKAGE):
                    continue
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    targets.add(child if child in modules else known(base))
        for target in list(targets):
            if target is None:
                continue
            parts = target.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent in modules and not _is_within(module, parent):
                    targets.add(parent)
        targets.discard(None)
        targets.discard(module)
        graph[module] = targets
    # The registry imports each zoo entry's builder module by the name in its record.
    from kerasdil.zoo import list_models, model_info

    # It imports each entry's record, and reads its search families by the name there (kerasdil.tune).
    for name in list_models():
        record = model_info(name).record
        for where in (record.builder, record.search_families):
            if isinstance(where, str):
                graph["kerasdil.zoo.registry"].add(known(where.partition(":")[0]))
    from kerasdil.zoo.registry import entry_packages

    graph["kerasdil.zoo.registry"].update(f"{package}.record" for package in entry_packages())
    return graph


def find_cycle(graph):
    """One import cycle as a list ``[a, b, ..., a]``, or None."""
    state = {}  # 1: on the current path, 2: done
    path = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_import_graph_covers_the_package():
    graph = import_graph()
    # The graph is not empty by accident: the known edges are found, function-level ones included.
    assert "kerasdil.zoo.mnist_dsdc.plan" in graph["kerasdil.zoo.mnist_dsdc.model"]
    assert "kerasdil.zoo" in graph["kerasdil.train"]  # imported inside train()
    assert "kerasdil.tasks" in graph["kerasdil.export._data"]  # imported inside a function
    assert "kerasdil.zoo.deeplab_aspp.model" in graph["kerasdil.zoo.registry"]  # a record's builder
    assert "kerasdil.zoo.deeplab_aspp.search" in graph["kerasdil.zoo.registry"]  # its search families


def test_find_cycle_reports_a_loop():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, (
        "import cycle (module-level and function-level imports): " + " -> ".join(cycle)
        + "; move the shared piece below both modules instead of importing inside a function."
    )
