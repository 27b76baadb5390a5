"""The public surface: every module's ``__all__`` names what users call, and every name in it exists."""

import importlib
import inspect
import os

import pytest

import kerasdil

PACKAGE_DIR = os.path.dirname(os.path.abspath(kerasdil.__file__))


def _surfaces():
    """``{module: names}`` of every module in the package that defines ``__all__``."""
    found = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            dotted = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
            dotted = dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted
            with open(path, encoding="utf-8") as f:
                source = f.read()
            if "__all__" in source:
                module = importlib.import_module(dotted) if "\n__all__" in source else None
                if module is not None and hasattr(module, "__all__"):
                    found[dotted] = list(module.__all__)
    return found


SURFACES = _surfaces()


@pytest.mark.parametrize("module", sorted(SURFACES))
def test_every_name_in_all_exists(module):
    imported = importlib.import_module(module)
    missing = [name for name in SURFACES[module] if not hasattr(imported, name)]
    assert not missing, f"{module}.__all__ names {missing}, which it does not have"


def test_the_whole_surface_stays_small():
    # About 80 names: what the README, the model cards and tools/ call. Constants, return types and
    # the helpers the CLI and the run engine share stay importable without being listed; a new
    # public name past this bound needs a reason.
    names = sum(len(v) for v in SURFACES.values())
    assert names <= 90, {k: len(v) for k, v in SURFACES.items()}


def _names_the_docs_call():
    """``{(module, name)}`` that README.md, the model cards and tools/*.py import or call by full name."""
    import glob
    import re

    repo = os.path.dirname(PACKAGE_DIR)
    paths = [os.path.join(repo, "README.md"), *glob.glob(os.path.join(PACKAGE_DIR, "zoo", "*", "README.md")),
             *glob.glob(os.path.join(repo, "tools", "*.py"))]
    found = set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for module, listed, names in re.findall(r"from (kerasdil[\w.]*) import (?:\(([^)]*)\)|([\w, ]+))", text):
            found.update((module, n) for n in re.findall(r"\w+", re.sub(r"#.*", "", listed + names)))
        found.update(m.rpartition(".")[::2] for m in re.findall(r"\b(kerasdil(?:\.\w+)+)", text))
    return found


def test_the_names_the_docs_and_tools_call_are_listed():
    unlisted = []
    for module, name in sorted(_names_the_docs_call()):
        if module not in SURFACES:
            continue
        value = getattr(importlib.import_module(module), name, None)
        if value is not None and not inspect.ismodule(value) and name not in SURFACES[module]:
            unlisted.append(f"{module}.{name}")
    assert not unlisted, f"used in README.md, a model card or tools/ but not in __all__: {unlisted}"


def test_the_zoo_surface_is_derived_from_the_records():
    from kerasdil.zoo import list_models, model_info

    builders = {model_info(n).record.builder.partition(":")[2] for n in list_models()}
    assert builders <= set(SURFACES["kerasdil.zoo"])
