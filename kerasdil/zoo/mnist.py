"""Deprecated: mnist_dsdc and mnist_conv live in :mod:`kerasdil.zoo.mnist_dsdc.model`."""
from kerasdil.zoo._moved import forward

__getattr__ = forward(__name__, ["kerasdil.zoo.mnist_dsdc.model", "kerasdil.zoo.mnist_dsdc.plan"])
