"""Deprecated: deeplab_aspp's record and constants live in :mod:`kerasdil.zoo.deeplab_aspp.record`."""
from kerasdil.zoo._moved import forward

__getattr__ = forward(__name__, ["kerasdil.zoo.deeplab_aspp.record", "kerasdil.zoo.unet_baseline.record"])
