"""Deprecated module paths of the zoo: each forwards its names to where they live now."""

import importlib
import warnings


def forward(old, new_modules):
    """A module ``__getattr__`` for the deprecated module ``old`` that finds names in ``new_modules``."""

    def __getattr__(name):
        for new in new_modules:
            module = importlib.import_module(new)
            if hasattr(module, name):
                warnings.warn(f"{old}.{name} moved to {new}.{name}; {old} will be removed.", DeprecationWarning,
                              stacklevel=2)
                return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
