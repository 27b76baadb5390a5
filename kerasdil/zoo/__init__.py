"""The kerasdil model zoo.

>>> from kerasdil.zoo import mnist_dsdc, list_models, create_model
>>> model = mnist_dsdc(weights="mnist")          # shipped pretrained weights
>>> list_models("mnist_*")
['mnist_conv', 'mnist_dsdc']
>>> model = create_model("mnist_dsdc:mnist")     # the same, through the registry

Each zoo entry is one folder ``kerasdil/zoo/<entry>/``: its ``record`` (plain
Python), its builder and its shipped weights. The registry finds the entries;
the builders importable from here (``from kerasdil.zoo import deeplab_aspp``)
and ``__all__`` are derived from their records. The registry and the records
are plain Python; a builder's module, and with it TensorFlow, is imported when
a builder (or ``ZooModel``) is first used. Any ``.keras`` file of a zoo model
loads with ``keras.models.load_model`` after ``import kerasdil``.
"""

import importlib

from kerasdil.zoo.record import ZooRecord
from kerasdil.zoo.registry import (
    ModelInfo,
    PretrainedWeights,
    builder_names,
    create_model,
    entry_packages,
    list_models,
    model_info,
    register_model,
    weights_dir,
)

# Finding the entries imported their packages, which Python also binds here as attributes
# (kerasdil.zoo.mnist_dsdc = the package). The builder of the same name is what
# `from kerasdil.zoo import mnist_dsdc` must give, so the bindings go and __getattr__ answers;
# the packages stay importable by their full names (`from kerasdil.zoo.mnist_dsdc import plan`).
for _package in entry_packages():
    globals().pop(_package.rpartition(".")[2], None)

# Names that live in modules importing Keras: loaded on first access.
_LAZY = {"ZooModel": "kerasdil.zoo.model:ZooModel", **builder_names()}


def __getattr__(name):
    if name in _LAZY:
        module, _, attribute = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'kerasdil.zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


# What users call: the registry and every entry's builder (ZooModel and the rest stay importable).
__all__ = sorted(["ZooRecord", "create_model", "list_models", "model_info", "register_model", "weights_dir",
                  *builder_names()])
