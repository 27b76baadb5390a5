"""Dilated depthwise convolution without SpaceToBatchND on the TensorFlow backend.

Keras (through ``tf.nn.depthwise_conv2d``) runs a dilated depthwise conv as
SpaceToBatchND -> undilated conv -> BatchToSpaceND, about 3x slower on CPU than
the undilated conv. TensorFlow's CPU (oneDNN) kernel for ``DepthwiseConv2dNative``
accepts ``dilations`` directly in the forward pass, but its backprop kernels ignore
the dilation (wrong gradients for 'SAME', a oneDNN error for 'VALID'; measured on
TF 2.21). So the forward pass and the input gradient use the native op (the input
gradient of a stride-1 correlation is the correlation of the output gradient with
the flipped kernel), and only the filter gradient goes through TensorFlow's
SpaceToBatch path, whose unused forward output grappler prunes.

TensorFlow-only; callers fall back to ``keras.ops.depthwise_conv`` elsewhere, and
where this TensorFlow's kernel does not take dilations (``native_dilation_supported``).
"""

_SUPPORTED = None


def native_dilation_supported():
    """Whether this TensorFlow runs ``DepthwiseConv2dNative`` with dilations, correctly.

    oneDNN's CPU kernel does; TensorFlow's own (Eigen) kernel, used when
    ``TF_ENABLE_ONEDNN_OPTS=0`` or on builds without oneDNN, raises "Current kernel
    implementation does not support dilations". Probed once per process, eagerly
    (also when first asked while a function is being traced), on a 7x7 input
    against ``tf.nn.depthwise_conv2d``.
    """
    global _SUPPORTED
    if _SUPPORTED is None:
        import numpy as np
        import tensorflow as tf

        with tf.init_scope():
            x = tf.constant(np.arange(2 * 7 * 7 * 3, dtype=np.float32).reshape(2, 7, 7, 3) % 11)
            k = tf.constant(np.arange(3 * 3 * 3, dtype=np.float32).reshape(3, 3, 3, 1) % 5 - 2)
            try:
                y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=k, strides=[1, 1, 1, 1], padding="SAME",
                                                     dilations=[1, 2, 2, 1])
                ref = tf.nn.depthwise_conv2d(x, k, [1, 1, 1, 1], "SAME", dilations=[2, 2])
                _SUPPORTED = bool(np.allclose(y.numpy(), ref.numpy(), atol=1e-4))
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
                _SUPPORTED = False
    return _SUPPORTED


def native_dilated_depthwise(inputs, kernel, dilation_rate, padding):
    """Stride-1 NHWC depthwise conv with native dilation and exact gradients.

    Args:
        inputs: (B, H, W, C) tensor.
        kernel: (kh, kw, C, 1) tensor with odd kh, kw (depth multiplier 1 only).
        dilation_rate: (dh, dw) ints.
        padding: "same" or "valid".

    Returns:
        The same tensor ``tf.nn.depthwise_conv2d(..., dilations=dilation_rate)`` returns.
    """
    import tensorflow as tf

    dh, dw = dilation_rate
    pad = padding.upper()
    native_dilations = [1, dh, dw, 1]

    def native(x, k, p):
        return tf.raw_ops.DepthwiseConv2dNative(
            input=x, filter=k, strides=[1, 1, 1, 1], padding=p, dilations=native_dilations
        )

    @tf.custom_gradient
    def depthwise(x, k):
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
    return depthwise(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))
