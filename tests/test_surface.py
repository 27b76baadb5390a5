"""The public surface: every module's ``__all__`` names what users call, and every name in it exists."""

import importlib
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


def test_the_surface_outside_the_data_package_stays_small():
    # 64 names before the sequence family, which adds its 1D layers, MiniRocketFeatures and the 1D
    # receptive-field calls; a new public name past this bound needs a reason.
    names = sum(len(v) for k, v in SURFACES.items() if not k.startswith("kerasdil.data"))
    assert names <= 85, {k: len(v) for k, v in SURFACES.items()}


def test_the_zoo_surface_is_derived_from_the_records():
    from kerasdil.zoo import list_models, model_info

    builders = {model_info(n).record.builder.partition(":")[2] for n in list_models()}
    assert builders <= set(SURFACES["kerasdil.zoo"])
