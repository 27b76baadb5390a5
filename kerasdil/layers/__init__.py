"""Keras layers for dilated and depthwise-separable dilated convolution.

- ``DilatedConvBN``: Conv2D(dilation_rate) + BatchNormalization + activation.
- ``SeparableDilatedConv``: the DSDC block (dilated depthwise, pointwise, BN, activation,
  residual when shapes allow).
- ``DilationStack``: DSDC blocks following a ``dilation_schedule``.
- ``ASPP``: atrous spatial pyramid pooling.
- ``MiniRocketFeatures``: MiniRocket's fixed dilated 1D kernels with PPV pooling (time series).
- ``SpaceToDepth``: lossless pixels-to-channels rearrangement (a cheap stride-2 stem).
- ``DilatedDepthwiseConv2D``: DepthwiseConv2D with native dilation on TensorFlow.
- ``FusedBatchNormalization``: BatchNormalization on TensorFlow's fused kernel.
- ``fold_batchnorm(model)``: an inference copy with BN folded into the convs.
- ``DilatedConv1DBN``, ``SeparableDilatedConv1D``, ``DilationStack1D``: the 1D blocks for
  sequences (``(batch, steps, channels)``), with ``padding="causal"`` for streaming.
- ``ZooModel``: the functional model class the zoo builders return.
- ``classification_head``, ``deeplab_decoder``, ``light_decoder``: heads and decoders
  (functions over symbolic tensors) that the zoo's classifiers and segmenters compose.
- ``tensorflow_fast_path(...)``: switch parts of the TensorFlow fast path off.

The layers are plain Keras code (``keras.ops``, ``keras.layers``) and run on the
TensorFlow, JAX and PyTorch backends, in mixed precision too (every sub-layer takes
its parent's dtype policy). On the TensorFlow backend, in float32, a few cases run
TensorFlow kernels that are faster on CPU or export to better TFLite ops, with the
same variables and results; all of that code is in ``kerasdil/layers/_tf_fast.py``.

All are registered with ``keras.saving.register_keras_serializable(package="kerasdil")``.
Importing this package also registers ``ZooModel``, ``kerasdil.optimizers`` and
``kerasdil.losses`` (which ``kerasdil.train.compile_model`` compiles with), so any
``.keras`` file kerasdil saves, a zoo model compiled or not, loads with plain
``keras.models.load_model`` after ``import kerasdil.layers``.
"""

import contextlib

import keras

import kerasdil.losses  # noqa: F401  (registration only)
import kerasdil.optimizers  # noqa: F401  (registration only)

from kerasdil.layers.aspp import ASPP
from kerasdil.layers.conv1d import DilatedConv1DBN, DilationStack1D, SeparableDilatedConv1D
from kerasdil.layers.conv import DilatedConvBN, DilatedDepthwiseConv2D, FusedBatchNormalization, SeparableDilatedConv
from kerasdil.layers.space import SpaceToDepth
from kerasdil.layers.stack import DilationStack
from kerasdil.layers.fuse import fold_batchnorm
from kerasdil.layers.heads import classification_head, deeplab_decoder, light_decoder
from kerasdil.layers.rocket import MiniRocketFeatures
from kerasdil.layers.zoo_model import ZooModel

_FAST_PATH_SWITCHES = ("native_depthwise", "fused_batchnorm", "matmul_moments", "pointwise_matmul", "eager_compile")


def tensorflow_fast_path(enabled=None, **switches):
    """Turn the TensorFlow fast path of kerasdil's layers, or parts of it, off in a block.

    A context manager. The switches apply to functions traced inside the block (``fit``,
    ``predict`` and ``evaluate`` trace on their first call) and to eager calls made in
    it; a function traced before keeps what it was traced with. Other backends have no
    fast path, so there it changes nothing.

    Args:
        enabled: False runs the plain Keras code of every layer; None (default)
            leaves it as it is.
        **switches: any of ``native_depthwise`` (dilated depthwise convs on
            ``DepthwiseConv2dNative``), ``fused_batchnorm`` (``FusedBatchNormV3``),
            ``matmul_moments`` (training BN sums as MatMuls where the channel count is
            not a multiple of 4), ``pointwise_matmul`` (the DSDC 1x1 conv as a MatMul in
            training), ``eager_compile`` (eager inference as one graph function per
            layer; also off with ``KERASDIL_EAGER_COMPILE=0``), each True or False.

    Returns:
        A context manager.

    Raises:
        ValueError: for a switch name that does not exist.

    Example:
        >>> with tensorflow_fast_path(enabled=False):  # an eager call: traces nothing
        ...     plain = model(x, training=False)
    """
    unknown = sorted(set(switches) - set(_FAST_PATH_SWITCHES))
    if unknown:
        raise ValueError(
            f"tensorflow_fast_path: unknown switch(es) {unknown}; choose from {list(_FAST_PATH_SWITCHES)}."
        )
    if keras.backend.backend() != "tensorflow":
        return contextlib.nullcontext()
    from kerasdil.layers import _tf_fast

    if enabled is not None:
        switches["enabled"] = enabled
    return _tf_fast.options(**switches)


__all__ = [
    "ASPP", "DilatedConv1DBN", "DilatedConvBN", "DilationStack", "DilationStack1D", "MiniRocketFeatures",
    "SeparableDilatedConv", "SeparableDilatedConv1D", "classification_head", "deeplab_decoder", "fold_batchnorm",
]
