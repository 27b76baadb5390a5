"""The kerasdil model zoo.

>>> from kerasdil.zoo import mnist_dsdc, list_models, create_model
>>> model = mnist_dsdc(weights="mnist")          # shipped pretrained weights
>>> list_models("mnist_*")
['mnist_conv', 'mnist_dsdc']
>>> model = create_model("mnist_dsdc:mnist")     # the same, through the registry

The registry and the records (``list_models``, ``model_info``) are plain Python;
a builder's module, and with it TensorFlow, is imported when a builder (or
``ZooModel``) is first used. To load a saved zoo model with
``keras.models.load_model``, import Keras before ``kerasdil.zoo`` (the zoo then
registers its model class at once) or load it with ``kerasdil.saving.load_model``.
"""

import importlib
import sys

from kerasdil.zoo.record import ZooRecord
from kerasdil.zoo.registry import (
    ModelInfo,
    PretrainedWeights,
    create_model,
    list_models,
    model_info,
    register_model,
    weights_dir,
)

# Names that live in the modules that import Keras: loaded on first access.
_LAZY = {
    "ZooModel": "kerasdil.zoo.model",
    "deeplab_aspp": "kerasdil.zoo.segmentation",
    "keras_io_convnet": "kerasdil.zoo.baselines",
    "mnist_conv": "kerasdil.zoo.mnist",
    "mnist_dsdc": "kerasdil.zoo.mnist",
    "series_dsdc": "kerasdil.zoo.series_dsdc.model",
    "text_dsdc": "kerasdil.zoo.text_dsdc.model",
    "unet_baseline": "kerasdil.zoo.segmentation",
}

if "keras" in sys.modules:
    # Keras is loaded already, so registering the zoo's model class with it costs little:
    # `import keras, kerasdil.zoo` is enough for keras.models.load_model to read a saved zoo
    # model. (kerasdil.saving.load_model registers it whatever was imported before.)
    import kerasdil.zoo.model  # noqa: F401,E402


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerasdil.zoo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ModelInfo",
    "PretrainedWeights",
    "ZooRecord",
    "create_model",
    "deeplab_aspp",
    "keras_io_convnet",
    "list_models",
    "mnist_conv",
    "mnist_dsdc",
    "model_info",
    "register_model",
    "unet_baseline",
    "weights_dir",
    "ZooModel",
]
