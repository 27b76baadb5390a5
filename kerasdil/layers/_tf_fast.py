"""The TensorFlow fast path of kerasdil's layers: every TensorFlow-only kernel in one place.

The public layers are plain Keras code (``keras.ops``, ``keras.layers``) and run on
every backend. On the TensorFlow backend (chosen once, in ``kerasdil.layers.conv``,
as ``tf_fast``) they hand a few cases to this module, where a TensorFlow kernel is
measurably faster on CPU or exports better, always with the same variables and the
same numbers as the plain path (tests/test_layers.py and tests/test_layers_keras.py
check forward passes and gradients against it):

- ``depthwise``: a dilated depthwise conv as ``DepthwiseConv2dNative(dilations=...)``
  with an exact custom gradient, instead of Keras's SpaceToBatchND path; TFLite then
  converts it to a native dilated DEPTHWISE_CONV_2D.
- ``batch_norm``: ``FusedBatchNormV3`` (or MatMul moments where that kernel is slow)
  instead of Keras's separate moments and elementwise ops.
- ``pointwise``: the DSDC block's 1x1 conv as one MatMul in training.
- ``space_to_depth``: ``tf.nn.space_to_depth`` (TFLite's builtin SPACE_TO_DEPTH).
- ``eager_inference``: eager ``layer(x)`` as one cached ``tf.function``, where grappler
  folds inference BN into the conv and fuses add + activation.

Each applies only in float32 (no mixed precision) and only where its conditions hold;
otherwise the layer runs its plain Keras code. ``OPTIONS`` switches each one off
(``kerasdil.layers.tensorflow_fast_path`` is the public way to do so); the switches are
read when a function is traced and at each eager call.
"""

import contextlib
import dataclasses
import os
import weakref

import numpy as np
import tensorflow as tf
from keras import ops


@dataclasses.dataclass
class Options:
    """Switches of the TensorFlow fast path; all on by default.

    Attributes:
        enabled: off turns every part off: the layers run their plain Keras code.
        native_depthwise: dilated depthwise convs on ``DepthwiseConv2dNative``.
        fused_batchnorm: BatchNormalization on ``FusedBatchNormV3`` / MatMul moments.
        matmul_moments: in training, per-channel sums as MatMuls where the channel count
            is not a multiple of 4 (off: the fused kernel there too).
        pointwise_matmul: in training, the DSDC 1x1 conv as one MatMul.
        eager_compile: eager inference through a cached graph function per layer (the
            environment variable ``KERASDIL_EAGER_COMPILE=0`` turns it off at import).
    """

    enabled: bool = True
    native_depthwise: bool = True
    fused_batchnorm: bool = True
    matmul_moments: bool = True
    pointwise_matmul: bool = True
    eager_compile: bool = os.environ.get("KERASDIL_EAGER_COMPILE", "1") != "0"

    def on(self, name):
        return self.enabled and getattr(self, name)


OPTIONS = Options()


@contextlib.contextmanager
def options(**switches):
    """Set ``OPTIONS`` fields for the duration of a ``with`` block (see ``Options``)."""
    names = {f.name for f in dataclasses.fields(Options)}
    unknown = sorted(set(switches) - names)
    if unknown:
        raise ValueError(
            f"tensorflow_fast_path: unknown switch(es) {unknown}; choose from {sorted(names)}."
        )
    old = dataclasses.replace(OPTIONS)
    for name, value in switches.items():
        setattr(OPTIONS, name, bool(value))
    try:
        yield OPTIONS
    finally:
        for name in names:
            setattr(OPTIONS, name, getattr(old, name))


def _float32(layer):
    return layer.compute_dtype == "float32" and layer.variable_dtype == "float32"


# -- dilated depthwise conv without SpaceToBatchND ----------------------------------------

_NATIVE_SUPPORTED = None


def native_dilation_supported():
    """Whether this TensorFlow runs ``DepthwiseConv2dNative`` with dilations, correctly.

    oneDNN's CPU kernel does; TensorFlow's own (Eigen) kernel, used when
    ``TF_ENABLE_ONEDNN_OPTS=0`` or on builds without oneDNN, raises "Current kernel
    implementation does not support dilations". Probed once per process, eagerly
    (also when first asked while a function is being traced), on a 7x7 input
    against ``tf.nn.depthwise_conv2d``.
    """
    global _NATIVE_SUPPORTED
    if _NATIVE_SUPPORTED is None:
        with tf.init_scope():
            x = tf.constant(np.arange(2 * 7 * 7 * 3, dtype=np.float32).reshape(2, 7, 7, 3) % 11)
            k = tf.constant(np.arange(3 * 3 * 3, dtype=np.float32).reshape(3, 3, 3, 1) % 5 - 2)
            try:
                y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=k, strides=[1, 1, 1, 1], padding="SAME",
                                                     dilations=[1, 2, 2, 1])
                ref = tf.nn.depthwise_conv2d(x, k, [1, 1, 1, 1], "SAME", dilations=[2, 2])
                _NATIVE_SUPPORTED = bool(np.allclose(y.numpy(), ref.numpy(), atol=1e-4))
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
                _NATIVE_SUPPORTED = False
    return _NATIVE_SUPPORTED


def depthwise_applies(layer):
    """Whether ``layer`` (a ``DilatedDepthwiseConv2D``) can run the native dilated op."""
    return (  # cheap checks first: the last one probes TensorFlow once
        OPTIONS.on("native_depthwise")
        and max(layer.dilation_rate) > 1
        and max(layer.strides) == 1
        and layer.depth_multiplier == 1
        and layer.data_format == "channels_last"
        and layer.kernel_size[0] % 2 == 1
        and layer.kernel_size[1] % 2 == 1
        and _float32(layer)
        and native_dilation_supported()
    )


def depthwise(layer, inputs):
    """``layer``'s output (a ``DilatedDepthwiseConv2D`` where ``depthwise_applies``)."""
    outputs = native_dilated_depthwise(inputs, layer.kernel, layer.dilation_rate, layer.padding)
    if layer.use_bias:
        outputs = ops.add(outputs, layer.bias)
    if layer.activation is not None:
        outputs = layer.activation(outputs)
    return outputs


def native_dilated_depthwise(inputs, kernel, dilation_rate, padding):
    """Stride-1 NHWC depthwise conv with native dilation and exact gradients.

    Keras (through ``tf.nn.depthwise_conv2d``) runs a dilated depthwise conv as
    SpaceToBatchND -> undilated conv -> BatchToSpaceND, about 3x slower on CPU than
    the undilated conv. oneDNN's ``DepthwiseConv2dNative`` takes ``dilations`` in the
    forward pass, but its backprop kernels ignore them (wrong gradients for 'SAME', an
    error for 'VALID'; TF 2.21). So the forward pass and the input gradient use the
    native op (the input gradient of a stride-1 correlation is the correlation of the
    output gradient with the flipped kernel), and only the filter gradient goes through
    TensorFlow's SpaceToBatch path, whose unused forward output grappler prunes.

    Args:
        inputs: (B, H, W, C) tensor.
        kernel: (kh, kw, C, 1) tensor with odd kh, kw (depth multiplier 1 only).
        dilation_rate: (dh, dw) ints.
        padding: "same" or "valid".

    Returns:
        The same tensor ``tf.nn.depthwise_conv2d(..., dilations=dilation_rate)`` returns.
    """
    dh, dw = dilation_rate
    pad = padding.upper()
    native_dilations = [1, dh, dw, 1]

    def native(x, k, p):
        return tf.raw_ops.DepthwiseConv2dNative(
            input=x, filter=k, strides=[1, 1, 1, 1], padding=p, dilations=native_dilations
        )

    @tf.custom_gradient
    def conv(x, k):
        y = native(x, k, pad)

        def grad(dy):
            kh, kw = k.shape[0], k.shape[1]
            # Input gradient of a stride-1 correlation with symmetric padding: the
            # correlation of dy with the spatially flipped kernel (multiplier 1).
            flipped = tf.reverse(k, axis=[0, 1])
            if pad == "VALID":
                full = [[0, 0], [dh * (kh - 1)] * 2, [dw * (kw - 1)] * 2, [0, 0]]
                dx = native(tf.pad(dy, full), flipped, "VALID")
            else:
                dx = native(dy, flipped, "SAME")
            with tf.GradientTape() as tape:
                tape.watch(k)
                ref = tf.nn.depthwise_conv2d(x, k, [1, 1, 1, 1], pad, dilations=[dh, dw])
            dk = tape.gradient(ref, k, output_gradients=dy)
            return dx, dk

        return y, grad

    # Read the variable outside the custom-gradient function so TF differentiates
    # through the read instead of asking grad() for per-variable gradients.
    return conv(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


# -- batch normalization on the fused kernel ----------------------------------------------


def batch_norm_applies(layer, inputs, mask):
    """Whether ``layer`` (a ``FusedBatchNormalization``) can run the fused kernel."""
    return (
        OPTIONS.on("fused_batchnorm")
        and mask is None
        and not layer.renorm
        and not layer.synchronized
        and len(inputs.shape) == 4
        and layer.axis in (-1, 3)
        and _float32(layer)
    )


def _matmul_moments_batch_norm(inputs, gamma, beta, epsilon):
    """Training-mode batch norm whose per-channel sums are matrix products.

    On x86 TensorFlow (oneDNN), ``FusedBatchNormV3`` and its gradient fall off the
    vectorised path when the channel count is not a multiple of 4: forward +
    backward at (128, 28, 28, 18) takes 15-20 ms against 2.4 ms at 16 channels.
    Summing over positions as ``ones @ x`` (and ``ones @ (x - mean)**2``) keeps the
    work in MatMul and broadcasts: 2x faster there and at 54 channels, slower at
    multiples of 4 (kerasdil/zoo/mnist_dsdc/studies.md, "Speed choices in the layers", ``dsdc_fused_bn_only``).
    Same result as the fused kernel to float rounding; returns the biased variance.
    """
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


def batch_norm(layer, inputs, training):
    """``layer``'s output (a ``FusedBatchNormalization`` where ``batch_norm_applies``).

    In training (with ``layer.trainable``) it uses the batch statistics and updates
    the moving ones with the biased batch variance, as Keras does.
    """
    channels = inputs.shape[-1]
    gamma = layer.gamma if layer.scale else tf.ones((channels,), inputs.dtype)
    beta = layer.beta if layer.center else tf.zeros((channels,), inputs.dtype)
    if training and layer.trainable:
        if channels % 4 and OPTIONS.on("matmul_moments"):
            outputs, mean, variance = _matmul_moments_batch_norm(inputs, gamma, beta, layer.epsilon)
        else:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=layer.epsilon, is_training=True
            )
            # The fused kernel returns the Bessel-corrected variance; Keras keeps the biased one.
            count = tf.cast(tf.size(inputs) // channels, variance.dtype)
            variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        layer.moving_mean.assign(layer.moving_mean * layer.momentum + mean * (1.0 - layer.momentum))
        layer.moving_variance.assign(layer.moving_variance * layer.momentum + variance * (1.0 - layer.momentum))
        return outputs
    outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
        inputs, gamma, beta, mean=layer.moving_mean, variance=layer.moving_variance,
        epsilon=layer.epsilon, is_training=False,
    )
    return outputs


# -- the DSDC pointwise conv as a MatMul in training --------------------------------------


def pointwise(conv, inputs, training):
    """A built 1x1 stride-1 ``Conv2D``'s training output as one MatMul, or None.

    Same kernel, same result; on TensorFlow CPU the MatMul and its two gradient
    MatMuls train about 20% faster than Conv2D and its backprop kernels at DSDC sizes
    (kerasdil/zoo/mnist_dsdc/studies.md, ``dsdc_conv_pointwise``). Inference keeps
    Conv2D, which grappler and the TFLite converter fuse with BN. None (run the
    layer) outside training, in mixed precision, or with the switch off.
    """
    if not (training and OPTIONS.on("pointwise_matmul") and conv.built and _float32(conv)):
        return None
    cin = inputs.shape[-1]
    y = ops.matmul(ops.reshape(inputs, (-1, cin)), ops.reshape(conv.kernel, (cin, conv.filters)))
    y = ops.reshape(y, (*ops.shape(inputs)[:-1], conv.filters))
    if conv.use_bias:
        y = ops.add(y, conv.bias)
    return y


# -- space to depth -----------------------------------------------------------------------


def space_to_depth(inputs, block_size):
    """``tf.nn.space_to_depth`` (TFLite's builtin SPACE_TO_DEPTH), or None when off."""
    if not OPTIONS.enabled:
        return None
    return tf.nn.space_to_depth(inputs, block_size)


# -- eager inference as one graph function ------------------------------------------------

_EAGER_FUNCTIONS = weakref.WeakKeyDictionary()


def _in_stateless_scope():
    from kerasdil import _compat  # the one place private Keras names are reached

    return _compat.in_stateless_scope()


def eager_inference(layer, inputs, training):
    """``layer``'s eager inference output through a cached graph function, or None.

    Eager ``model(x)`` runs every op of a block through Python, one dispatch each, and
    grappler never sees them. One ``tf.function`` per layer (``layer.call(x,
    training=False)`` traced once per input signature) costs one dispatch and lets
    grappler fold the inference BN into the conv and fuse add + ReLU, the fusions
    ``predict`` gets. Same variables (read at call time, so training and
    ``load_weights`` show up), same outputs to float rounding. None (run the ordinary
    Keras path) in training, inside a traced function, inside a ``StatelessScope``
    (``stateless_call``: its values would not reach a traced function), in mixed
    precision, before the layer is built, or with the switch off. The function is held
    outside the layer, so saving never sees it.
    """
    if training or not OPTIONS.on("eager_compile") or not layer.built or not _float32(layer):
        return None
    if not tf.executing_eagerly() or _in_stateless_scope():
        return None
    fn = _EAGER_FUNCTIONS.get(layer)
    if fn is None:
        ref = weakref.ref(layer)
        # While this traces, tf.executing_eagerly() is False, so layer.call takes the
        # ordinary path through every sub-layer.
        fn = tf.function(lambda x: ref().call(x, training=False), reduce_retracing=True, autograph=False)
        _EAGER_FUNCTIONS[layer] = fn
    return fn(inputs)


def has_eager_function(layer):
    """Whether ``eager_inference`` has made (and cached) a graph function for ``layer``."""
    return _EAGER_FUNCTIONS.get(layer) is not None

