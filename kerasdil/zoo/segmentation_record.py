"""Deprecated: deeplab_aspp's constants and record live in :mod:`kerasdil.zoo.deeplab_aspp.plan` and ``.record``."""
from kerasdil.zoo._moved import forward

__getattr__ = forward(__name__, ["kerasdil.zoo.deeplab_aspp.plan", "kerasdil.zoo.deeplab_aspp.record",
                                 "kerasdil.zoo.unet_baseline.record"])
