"""Backbones: feature extractors that expose their feature maps by stride.

- the DSDC backbone (:mod:`kerasdil.backbones.dsdc`): a stem and stages of DSDC
  blocks, built from one pure-Python stage plan (:mod:`kerasdil.backbones.plan`)
  that the zoo's costs and receptive fields read too;
- keras.applications backbones dilated to an output stride
  (:mod:`kerasdil.backbones.applications`): DeepLab's trade of stride for dilation.

Importing this package does not import Keras; the functions that build models do.

Example:
    >>> from kerasdil.backbones import keras_backbone, dilate_backbone
    >>> dilate_backbone(keras_backbone("mobilenet_v3_small", (64, 80, 1)), output_stride=8).output_shape
    (None, 8, 10, 576)
"""

import importlib

from kerasdil.backbones.applications import (  # noqa: F401  (importable here; __all__ lists what users call)
    KERAS_BACKBONES,
    BackboneSpec,
    backbone_names,
    dilate_backbone,
    keras_backbone,
    natural_strides,
    segmenter_features,
)
from kerasdil.backbones.plan import backbone_plan

# Builders that import Keras at module level: loaded on first access.
_LAZY = {"dsdc_backbone": "kerasdil.backbones.dsdc", "features_by_stride": "kerasdil.backbones.dsdc"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kerasdil.backbones' has no attribute {name!r}")


__all__ = ["backbone_plan", "dilate_backbone", "dsdc_backbone", "keras_backbone"]
