"""Deprecated: the backbones live in :mod:`kerasdil.backbones`."""
from kerasdil.zoo._moved import forward

__getattr__ = forward(__name__, ["kerasdil.backbones"])
