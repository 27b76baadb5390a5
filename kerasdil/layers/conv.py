"""Dilated convolution blocks: DilatedDepthwiseConv2D, DilatedConvBN, SeparableDilatedConv.

Plain Keras code on every backend. On the TensorFlow backend a few cases go to the
fast path in ``kerasdil/layers/_tf_fast.py`` (``tf_fast`` below; None elsewhere).
"""

import keras
from keras import layers, ops

from kerasdil.layers import _validate as V

# The backend is fixed per process: choose the fast path once.
if keras.backend.backend() == "tensorflow":
    from kerasdil.layers import _tf_fast as tf_fast
else:
    tf_fast = None

_IMPLEMENTATIONS = ("auto", "native", "keras")


def _specs(kernel, stride, dilation):
    from kerasdil.receptive import LayerSpec

    return [LayerSpec(kernel=tuple(kernel), stride=tuple(stride), dilation=tuple(dilation))]


@keras.saving.register_keras_serializable(package="kerasdil")
class DilatedDepthwiseConv2D(layers.DepthwiseConv2D):
    """``keras.layers.DepthwiseConv2D`` that runs dilation natively on TensorFlow.

    Same weights, config and results as ``DepthwiseConv2D``. With
    ``implementation="auto"`` (default) a dilated stride-1 channels-last conv on the
    TensorFlow backend uses ``DepthwiseConv2dNative(dilations=...)`` with an exact
    custom gradient instead of Keras's SpaceToBatchND path (about 1.7x faster to
    train and 3-4x faster to infer on CPU), and TFLite converts it to a native
    dilated DEPTHWISE_CONV_2D (``kerasdil/layers/_tf_fast.py``). Other backends, mixed
    precision, or ``implementation="keras"`` run ``keras.layers.DepthwiseConv2D``'s own
    code.

    Args:
        implementation: "auto", "native" (raise if the fast path cannot be used)
            or "keras".
        **kwargs: everything ``keras.layers.DepthwiseConv2D`` takes.

    Example:
        >>> layer = DilatedDepthwiseConv2D(3, dilation_rate=2, padding="same")
    """

    def __init__(self, *args, implementation="auto", **kwargs):
        super().__init__(*args, **kwargs)
        if implementation not in _IMPLEMENTATIONS:
            raise ValueError(
                f"DilatedDepthwiseConv2D: `implementation` must be one of {_IMPLEMENTATIONS}, "
                f"got {implementation!r}."
            )
        self.implementation = implementation

    def call(self, inputs):
        use_native = (
            self.implementation != "keras" and tf_fast is not None and tf_fast.depthwise_applies(self)
        )
        if self.implementation == "native" and not use_native:
            raise ValueError(
                f"{self.name}: implementation='native' needs the TensorFlow backend, float32, "
                "channels_last, stride 1, dilation > 1, depth_multiplier 1, an odd kernel, the fast "
                "path switched on, and a TensorFlow whose DepthwiseConv2dNative kernel takes "
                "dilations (oneDNN's does; with TF_ENABLE_ONEDNN_OPTS=0 it does not)."
            )
        if use_native:
            return tf_fast.depthwise(self, inputs)
        return super().call(inputs)

    def receptive_field_layers(self):
        return _specs(self.kernel_size, self.strides, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "implementation": self.implementation}


@keras.saving.register_keras_serializable(package="kerasdil")
class FusedBatchNormalization(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` that uses TensorFlow's fused kernel.

    Keras 3 computes batch norm from separate moments and elementwise ops (about ten
    ops forward, more backward); on TensorFlow, for 4-D channels-last inputs without
    mask or renorm, this layer calls ``FusedBatchNormV3`` instead: one op each way,
    about 4x faster on CPU for DSDC-sized tensors, same variables, same results
    (moving variance updated with the biased batch variance, as Keras does). In
    training over a channel count that is not a multiple of 4, where the fused kernel
    is slow on x86, the moments are MatMuls instead. That TensorFlow code lives in
    ``kerasdil/layers/_tf_fast.py``; other backends, mixed precision and other cases
    run ``keras.layers.BatchNormalization`` unchanged.

    Example:
        >>> bn = FusedBatchNormalization(momentum=0.9)
    """

    def call(self, inputs, training=None, mask=None):
        if tf_fast is not None and tf_fast.batch_norm_applies(self, inputs, mask):
            return tf_fast.batch_norm(self, inputs, training)
        return super().call(inputs, training=training, mask=mask)


def _eager_inference(layer, inputs, training):
    """The TensorFlow fast path's eager inference output for a block, or None."""
    if tf_fast is None:
        return None
    return tf_fast.eager_inference(layer, inputs, training)


def _bn(name, dtype):
    # momentum 0.9: moving statistics settle within ~50 steps, so short runs and
    # fine-tuning on small data evaluate sensibly (Keras default 0.99 needs ~500).
    return FusedBatchNormalization(momentum=0.9, epsilon=1e-3, name=name, dtype=dtype)


class _ConvBlock(layers.Layer):
    """Shared argument checks, output shape, receptive field and config of the
    conv blocks (a conv with dilation, optional BN, activation)."""

    def __init__(
        self,
        filters,
        kernel_size,
        dilation_rate,
        strides,
        padding,
        activation,
        use_batchnorm,
        kernel_initializer,
        kernel_regularizer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        n = type(self).__name__
        self.filters = V.positive_int(n, "filters", filters)
        self.kernel_size = V.odd_kernel(n, kernel_size)
        self.dilation_rate = V.pair(n, "dilation_rate", dilation_rate)
        self.strides = V.pair(n, "strides", strides)
        self.padding = V.padding(n, padding)
        V.stride_dilation(n, self.strides, self.dilation_rate)
        self.activation = keras.activations.get(activation)
        self.use_batchnorm = bool(use_batchnorm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bn = _bn("bn", self.dtype_policy) if self.use_batchnorm else None

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        oh = V.conv_output_length(h, self.kernel_size[0], self.strides[0], self.dilation_rate[0], self.padding)
        ow = V.conv_output_length(w, self.kernel_size[1], self.strides[1], self.dilation_rate[1], self.padding)
        return (b, oh, ow, self.filters)

    def receptive_field_layers(self):
        return _specs(self.kernel_size, self.strides, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), **block_config(self)}


def block_config(block):
    """The constructor arguments every conv block (2D and 1D) shares, for ``get_config``."""
    return {
        "filters": block.filters,
        "kernel_size": block.kernel_size,
        "dilation_rate": block.dilation_rate,
        "strides": block.strides,
        "padding": block.padding,
        "activation": keras.activations.serialize(block.activation) if block.activation else None,
        "use_batchnorm": block.use_batchnorm,
        "kernel_initializer": keras.initializers.serialize(block.kernel_initializer),
        "kernel_regularizer": keras.regularizers.serialize(block.kernel_regularizer)
        if block.kernel_regularizer
        else None,
    }


@keras.saving.register_keras_serializable(package="kerasdil")
class DilatedConvBN(_ConvBlock):
    """Conv2D with ``dilation_rate``, then BatchNormalization, then an activation.

    Args:
        filters: output channels.
        kernel_size: odd int or (h, w) pair. Default 3.
        dilation_rate: positive int or pair. Default 1.
        strides: positive int or pair; must be 1 when dilation_rate > 1.
        padding: "same" (default) or "valid".
        activation: any Keras activation name or None. Default "relu".
        use_batchnorm: add BatchNormalization (then the conv has no bias). Default True.
        kernel_initializer, kernel_regularizer: passed to the Conv2D.

    Raises:
        ValueError: for a non-positive or non-int filters / dilation / stride, an even
            kernel, stride > 1 with dilation > 1, or an unknown padding.

    Example:
        >>> block = DilatedConvBN(32, dilation_rate=2)
        >>> block(keras.ops.zeros((1, 28, 28, 1))).shape
        (1, 28, 28, 32)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        dilation_rate=1,
        strides=1,
        padding="same",
        activation="relu",
        use_batchnorm=True,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            filters, kernel_size, dilation_rate, strides, padding, activation, use_batchnorm,
            kernel_initializer, kernel_regularizer, **kwargs,
        )
        self.conv = layers.Conv2D(
            filters,
            self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
            use_bias=not self.use_batchnorm,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name="conv",
        )

    def build(self, input_shape):
        V.dilation_fits(self, input_shape, self.kernel_size, self.dilation_rate, self.padding)
        self.conv.build(input_shape)
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, inputs, training=None):
        V.input_channels(self, self.conv.kernel.shape[2] if self.conv.built else None, inputs.shape)
        fast = _eager_inference(self, inputs, training)
        if fast is not None:
            return fast
        x = self.conv(inputs)
        if self.bn is not None:
            x = self.bn(x, training=training)
        return self.activation(x) if self.activation is not None else x


@keras.saving.register_keras_serializable(package="kerasdil")
class SeparableDilatedConv(_ConvBlock):
    """The DSDC block: dilated depthwise conv, pointwise 1x1 conv, BN, activation.

    ``SeparableConv2D(dilation_rate)`` followed by BatchNormalization and an
    activation, with a residual connection added before the activation when the
    input and output shapes match (stride 1, "same" padding, equal channels) and
    ``residual=True``. The depthwise part runs dilation natively on TensorFlow (see
    ``DilatedDepthwiseConv2D``). Every sub-layer takes the block's dtype policy.

    Args:
        filters: output channels of the pointwise conv.
        kernel_size: odd int or pair for the depthwise conv. Default 3.
        dilation_rate: positive int or pair. Default 1.
        strides: positive int or pair; must be 1 when dilation_rate > 1.
        padding: "same" (default) or "valid".
        depth_multiplier: depthwise channel multiplier. Default 1.
        activation: Keras activation name or None. Default "relu".
        residual: add the input when shapes allow. Default True.
        implementation: "auto", "native" or "keras" for the depthwise conv.
        use_batchnorm: BatchNormalization after the pointwise conv (then it has no
            bias). ``fold_batchnorm`` builds inference copies with False. Default True.
        kernel_initializer, kernel_regularizer: for both convs.

    Raises:
        ValueError: for bad filters, kernel, dilation, strides, padding or multiplier.

    Example:
        >>> block = SeparableDilatedConv(16, dilation_rate=2)
        >>> block(keras.ops.zeros((2, 14, 14, 16))).shape
        (2, 14, 14, 16)
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        dilation_rate=1,
        strides=1,
        padding="same",
        depth_multiplier=1,
        activation="relu",
        residual=True,
        implementation="auto",
        use_batchnorm=True,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            filters, kernel_size, dilation_rate, strides, padding, activation, use_batchnorm,
            kernel_initializer, kernel_regularizer, **kwargs,
        )
        n = type(self).__name__
        self.depth_multiplier = V.positive_int(n, "depth_multiplier", depth_multiplier)
        if implementation not in _IMPLEMENTATIONS:
            raise ValueError(f"{n}: `implementation` must be one of {_IMPLEMENTATIONS}, got {implementation!r}.")
        self.implementation = implementation
        self.residual = bool(residual)
        self.depthwise = DilatedDepthwiseConv2D(
            self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            depth_multiplier=self.depth_multiplier,
            dilation_rate=self.dilation_rate,
            use_bias=False,
            depthwise_initializer=self.kernel_initializer,
            depthwise_regularizer=self.kernel_regularizer,
            implementation=implementation,
            dtype=self.dtype_policy,
            name="depthwise",
        )
        self.pointwise = layers.Conv2D(
            filters,
            1,
            use_bias=not self.use_batchnorm,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy,
            name="pointwise",
        )
        self._add_residual = False

    def build(self, input_shape):
        V.dilation_fits(self, input_shape, self.kernel_size, self.dilation_rate, self.padding)
        self.depthwise.build(input_shape)
        mid = self.depthwise.compute_output_shape(input_shape)
        self.pointwise.build(mid)
        if self.bn is not None:
            self.bn.build(self.pointwise.compute_output_shape(mid))
        self._add_residual = (
            self.residual
            and max(self.strides) == 1
            and self.padding == "same"
            and input_shape[-1] == self.filters
        )

    def call(self, inputs, training=None):
        V.input_channels(self, self.depthwise.kernel.shape[2] if self.depthwise.built else None, inputs.shape)
        fast = _eager_inference(self, inputs, training)
        if fast is not None:
            return fast
        x = self.depthwise(inputs)
        # On TensorFlow, training runs the 1x1 conv as one MatMul (same kernel).
        matmul = tf_fast.pointwise(self.pointwise, x, training) if tf_fast is not None else None
        x = self.pointwise(x) if matmul is None else matmul
        if self.bn is not None:
            x = self.bn(x, training=training)
        if self._add_residual:
            x = ops.add(x, inputs)
        return self.activation(x) if self.activation is not None else x

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "residual": self.residual,
            "implementation": self.implementation,
        }
