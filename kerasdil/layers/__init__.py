"""Keras layers for dilated and depthwise-separable dilated convolution.

- ``DilatedConvBN``: Conv2D(dilation_rate) + BatchNormalization + activation.
- ``SeparableDilatedConv``: the DSDC block (dilated depthwise, pointwise, BN, activation,
  residual when shapes allow).
- ``DilationStack``: DSDC blocks following a ``dilation_schedule``.
- ``ASPP``: atrous spatial pyramid pooling.
- ``SpaceToDepth``: lossless pixels-to-channels rearrangement (a cheap stride-2 stem).
- ``DilatedDepthwiseConv2D``: DepthwiseConv2D with native dilation on TensorFlow.
- ``FusedBatchNormalization``: BatchNormalization on TensorFlow's fused kernel.
- ``fold_batchnorm(model)``: an inference copy with BN folded into the convs.
- ``ZooModel``: the functional model class the zoo builders return.

All are registered with ``keras.saving.register_keras_serializable(package="kerasdil")``.
Importing this package also registers ``ZooModel``, ``kerasdil.optimizers`` and
``kerasdil.losses`` (which ``kerasdil.train.compile_model`` compiles with), so any
``.keras`` file kerasdil saves, a zoo model compiled or not, loads with plain
``keras.models.load_model`` after ``import kerasdil.layers``.
"""

import kerasdil.losses  # noqa: F401  (registration only)
import kerasdil.optimizers  # noqa: F401  (registration only)

from kerasdil.layers.aspp import ASPP
from kerasdil.layers.conv import DilatedConvBN, DilatedDepthwiseConv2D, FusedBatchNormalization, SeparableDilatedConv
from kerasdil.layers.space import SpaceToDepth
from kerasdil.layers.stack import DilationStack
from kerasdil.layers.fuse import fold_batchnorm
from kerasdil.layers.zoo_model import ZooModel

__all__ = ["ASPP", "DilatedConvBN", "DilatedDepthwiseConv2D", "DilationStack", "FusedBatchNormalization", "SeparableDilatedConv", "SpaceToDepth", "ZooModel", "fold_batchnorm"]
