"""Dilated convolution blocks: DilatedDepthwiseConv2D, DilatedConvBN, SeparableDilatedConv."""

import os
import weakref

import keras
from keras import layers, ops

from kerasdil.layers import _validate as V
from kerasdil.layers._native import native_dilation_supported

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
    dilated DEPTHWISE_CONV_2D. Other backends, or ``implementation="keras"``, use
    ``keras.ops.depthwise_conv``.

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

    def _native_ok(self):  # cheap checks first: the last one probes TensorFlow once
        return (
            keras.backend.backend() == "tensorflow"
            and max(self.dilation_rate) > 1
            and max(self.strides) == 1
            and self.depth_multiplier == 1
            and self.data_format == "channels_last"
            and self.kernel_size[0] % 2 == 1
            and self.kernel_size[1] % 2 == 1
            and native_dilation_supported()
        )

    def call(self, inputs):
        use_native = self.implementation != "keras" and self._native_ok()
        if self.implementation == "native" and not use_native:
            raise ValueError(
                f"{self.name}: implementation='native' needs the TensorFlow backend, "
                "channels_last, stride 1, dilation > 1, depth_multiplier 1, an odd kernel, and a TensorFlow "
                "whose DepthwiseConv2dNative kernel takes dilations (oneDNN's does; with "
                "TF_ENABLE_ONEDNN_OPTS=0 it does not)."
            )
        if not use_native:
            return super().call(inputs)
        from kerasdil.layers._native import native_dilated_depthwise

        outputs = native_dilated_depthwise(inputs, self.kernel, self.dilation_rate, self.padding)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def receptive_field_layers(self):
        return _specs(self.kernel_size, self.strides, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "implementation": self.implementation}


#: Set to False to train BN over a channel count that is not a multiple of 4 with the
#: fused kernel too (see ``_matmul_moments_batch_norm``). Read when the training step is traced.
MATMUL_MOMENTS = True


def _matmul_moments_batch_norm(inputs, gamma, beta, epsilon):
    """Training-mode batch norm whose per-channel sums are matrix products.

    On x86 TensorFlow (oneDNN), ``FusedBatchNormV3`` and its gradient fall off the
    vectorised path when the channel count is not a multiple of 4: forward +
    backward at (128, 28, 28, 18) takes 15-20 ms against 2.4 ms at 16 channels.
    Summing over positions as ``ones @ x`` (and ``ones @ (x - mean)**2``) keeps the
    work in MatMul and broadcasts: 2x faster there and at 54 channels, slower at
    multiples of 4 (measured in tools/ablate_speed.py, ``dsdc_fused_bn_only``).
    Same result as the fused kernel to float rounding; returns the biased variance.
    """
    import tensorflow as tf

    channels = inputs.shape[-1]
    flat = tf.reshape(inputs, (-1, channels))
    count = tf.shape(flat)[0]
    ones = tf.ones((1, count), flat.dtype)
    n = tf.cast(count, flat.dtype)
    mean = tf.matmul(ones, flat) / n
    centered = flat - mean
    variance = tf.matmul(ones, centered * centered) / n
    outputs = centered * (gamma * tf.math.rsqrt(variance + epsilon)) + beta
    return tf.reshape(outputs, tf.shape(inputs)), tf.reshape(mean, (-1,)), tf.reshape(variance, (-1,))


@keras.saving.register_keras_serializable(package="kerasdil")
class FusedBatchNormalization(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` that uses TensorFlow's fused kernel.

    Keras 3 computes batch norm from separate moments and elementwise ops (about ten
    ops forward, more backward); on TensorFlow, for 4-D channels-last inputs without
    mask or renorm, this layer calls ``FusedBatchNormV3`` instead: one op each way,
    about 4x faster on CPU for DSDC-sized tensors, same variables, same results
    (moving variance updated with the biased batch variance, as Keras does). In
    training over a channel count that is not a multiple of 4, where the fused kernel
    is slow on x86, the moments are MatMuls instead (``_matmul_moments_batch_norm``).
    Other backends and cases use the Keras implementation.

    Example:
        >>> bn = FusedBatchNormalization(momentum=0.9)
    """

    def _fused_ok(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and self.compute_dtype == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused_ok(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else tf.ones((channels,), inputs.dtype)
        beta = self.beta if self.center else tf.zeros((channels,), inputs.dtype)
        if training and self.trainable:
            if channels % 4 and MATMUL_MOMENTS:
                outputs, mean, variance = _matmul_moments_batch_norm(inputs, gamma, beta, self.epsilon)
            else:
                outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                    inputs, gamma, beta, epsilon=self.epsilon, is_training=True
                )
                # The fused kernel returns the Bessel-corrected variance; Keras keeps the biased one.
                count = tf.cast(tf.size(inputs) // channels, variance.dtype)
                variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
            return outputs
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs, gamma, beta, mean=self.moving_mean, variance=self.moving_variance,
            epsilon=self.epsilon, is_training=False,
        )
        return outputs


def _direct_ok(layer, training):
    """Whether a built block may call its sub-layers' ``call`` directly.

    In eager inference, Keras's per-layer ``__call__`` bookkeeping costs as much as
    the ops of a DSDC block at batch 1; calling ``call`` skips it. Only for plain
    float32 inference, where ``__call__`` adds nothing (no autocast, no BN update).
    """
    return not training and layer.built and layer.compute_dtype == "float32" and layer.variable_dtype == "float32"


#: Set to False (or the environment variable KERASDIL_EAGER_COMPILE=0) to run eager
#: inference op by op instead of through the cached graph function. Read at each
#: eager call.
EAGER_COMPILE = os.environ.get("KERASDIL_EAGER_COMPILE", "1") != "0"
#: Set to False to train the DSDC pointwise conv as Conv2D instead of a MatMul. Read
#: when the training step is traced: set it before ``fit`` (the speed-up was measured
#: on CPU; the result is the same either way).
POINTWISE_MATMUL = True
_EAGER_FUNCTIONS = weakref.WeakKeyDictionary()


def _eager_compiled(layer, training):
    """A cached ``tf.function`` of ``layer._direct_call`` for eager inference, or None.

    Eager ``model(x)`` runs every op of a block through Python, one dispatch each
    (about 20 for a three-block DilationStack), and grappler never sees them.
    Calling one graph function per block instead costs one dispatch and lets
    grappler fold the inference BN into the conv and fuse add + ReLU, the fusions
    ``predict`` gets. Same variables (read at call time, so training and
    ``load_weights`` show up), same outputs to float rounding. TensorFlow only;
    the function is held outside the layer, so saving never sees it.
    """
    if not (EAGER_COMPILE and _direct_ok(layer, training) and keras.backend.backend() == "tensorflow"):
        return None
    import tensorflow as tf
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    # Inside a StatelessScope (``layer.stateless_call``) the variables' values come
    # from the scope, which a traced function would not see (or would bake in).
    if not tf.executing_eagerly() or in_stateless_scope():
        return None
    fn = _EAGER_FUNCTIONS.get(layer)
    if fn is None:
        ref = weakref.ref(layer)
        fn = tf.function(lambda x: ref()._direct_call(x), reduce_retracing=True, autograph=False)
        _EAGER_FUNCTIONS[layer] = fn
    return fn


def _fast_inference(layer, inputs, training):
    """``layer``'s inference output through the cached graph function (eager) or
    ``_direct_call`` (in a graph), or None when the ordinary Keras path must run."""
    compiled = _eager_compiled(layer, training)
    if compiled is not None:
        return compiled(inputs)
    if _direct_ok(layer, training):
        return layer._direct_call(inputs)
    return None


def _pointwise_matmul(conv, inputs):
    """A 1x1 stride-1 Conv2D as one matrix product over the flattened positions.

    Same kernel, same result; on TensorFlow CPU the MatMul and its two gradient
    MatMuls train about 20% faster than Conv2D and its backprop kernels at DSDC
    sizes (measured in tools/ablate_speed.py).
    """
    cin = inputs.shape[-1]
    y = ops.matmul(ops.reshape(inputs, (-1, cin)), ops.reshape(conv.kernel, (cin, conv.filters)))
    y = ops.reshape(y, (*ops.shape(inputs)[:-1], conv.filters))
    if conv.use_bias:
        y = ops.add(y, conv.bias)
    return y


def _bn(name):
    # momentum 0.9: moving statistics settle within ~50 steps, so short runs and
    # fine-tuning on small data evaluate sensibly (Keras default 0.99 needs ~500).
    return FusedBatchNormalization(momentum=0.9, epsilon=1e-3, name=name)


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
        self.bn = _bn("bn") if self.use_batchnorm else None

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        oh = V.conv_output_length(h, self.kernel_size[0], self.strides[0], self.dilation_rate[0], self.padding)
        ow = V.conv_output_length(w, self.kernel_size[1], self.strides[1], self.dilation_rate[1], self.padding)
        return (b, oh, ow, self.filters)

    def receptive_field_layers(self):
        return _specs(self.kernel_size, self.strides, self.dilation_rate)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dilation_rate": self.dilation_rate,
            "strides": self.strides,
            "padding": self.padding,
            "activation": keras.activations.serialize(self.activation) if self.activation else None,
            "use_batchnorm": self.use_batchnorm,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)
            if self.kernel_regularizer
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
            name="conv",
        )

    def build(self, input_shape):
        V.dilation_fits(self, input_shape, self.kernel_size, self.dilation_rate, self.padding)
        self.conv.build(input_shape)
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(input_shape))

    def _direct_call(self, inputs):
        x = self.conv.call(inputs)
        if self.bn is not None:
            x = self.bn.call(x, training=False)
        return self.activation(x) if self.activation is not None else x

    def call(self, inputs, training=None):
        V.input_channels(self, self.conv.kernel.shape[2] if self.conv.built else None, inputs.shape)
        fast = _fast_inference(self, inputs, training)
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
    ``DilatedDepthwiseConv2D``).

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
            name="depthwise",
        )
        self.pointwise = layers.Conv2D(
            filters,
            1,
            use_bias=not self.use_batchnorm,
            kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer,
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

    def _direct_call(self, inputs):
        x = self.pointwise.call(self.depthwise.call(inputs))
        if self.bn is not None:
            x = self.bn.call(x, training=False)
        return self._finish(x, inputs)

    def _finish(self, x, inputs):
        if self._add_residual:
            x = ops.add(x, inputs)
        return self.activation(x) if self.activation is not None else x

    def call(self, inputs, training=None):
        V.input_channels(self, self.depthwise.kernel.shape[2] if self.depthwise.built else None, inputs.shape)
        fast = _fast_inference(self, inputs, training)
        if fast is not None:
            return fast
        x = self.depthwise(inputs)
        if training and POINTWISE_MATMUL and keras.backend.backend() == "tensorflow" and self.pointwise.built:
            # Training: the 1x1 conv as a MatMul (same kernel; faster gradients on CPU).
            # Inference keeps Conv2D, which grappler and the TFLite converter fuse with BN.
            x = _pointwise_matmul(self.pointwise, x)
        else:
            x = self.pointwise(x)
        if self.bn is not None:
            x = self.bn(x, training=training)
        return self._finish(x, inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "residual": self.residual,
            "implementation": self.implementation,
        }
