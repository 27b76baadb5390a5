"""Deprecated: the peer baselines live in their zoo entries (:mod:`kerasdil.zoo.keras_io_convnet.model`, ...)."""
from kerasdil.zoo._moved import forward

__getattr__ = forward(__name__, ["kerasdil.zoo.keras_io_convnet.model", "kerasdil.zoo.lraspp_mobilenetv3.model"])
