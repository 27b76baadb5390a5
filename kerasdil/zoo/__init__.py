"""The kerasdil model zoo.

>>> from kerasdil.zoo import mnist_dsdc, list_models, create_model
>>> model = mnist_dsdc(weights="mnist")          # shipped pretrained weights
>>> list_models("mnist_*")
['mnist_conv', 'mnist_dsdc']
>>> model = create_model("mnist_dsdc:mnist")     # the same, through the registry
"""

from kerasdil.zoo.registry import (
    ModelInfo,
    PretrainedWeights,
    create_model,
    list_models,
    model_info,
    register_model,
    weights_dir,
)
from kerasdil.zoo.baselines import keras_io_convnet
from kerasdil.zoo.mnist import mnist_conv, mnist_dsdc
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.segmentation import deeplab_aspp, unet_baseline

__all__ = [
    "ModelInfo",
    "PretrainedWeights",
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
