"""Deprecated: the segmenters live in their zoo entries (:mod:`kerasdil.zoo.deeplab_aspp.model`, ...)."""
from kerasdil.zoo._moved import forward

__getattr__ = forward(__name__, ["kerasdil.zoo.deeplab_aspp.model", "kerasdil.zoo.unet_baseline.model",
                                 "kerasdil.tasks", "kerasdil.plots"])
