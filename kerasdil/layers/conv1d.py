"""Dilated 1D blocks for sequences: DilatedConv1DBN, SeparableDilatedConv1D, DilationStack1D.

The 1D counterparts of ``DilatedConvBN``, ``SeparableDilatedConv`` and
``DilationStack``: inputs are ``(batch, steps, channels)``. Plain Keras code
(``keras.layers.Conv1D`` / ``SeparableConv1D``, ``keras.ops``) on every backend and
in mixed precision. ``padding="causal"`` makes output step ``t`` depend on input
steps ``<= t`` only (WaveNet, TCN), for streaming use.

On TensorFlow a static-shape TFLite conversion turns each dilated 1D conv into one
native dilated CONV_2D / DEPTHWISE_CONV_2D (dilation 1 x d), without the
SpaceToBatchND rewrite (``kerasdil.export`` audits it).
"""

import warnings

import keras
from keras import layers, ops

from kerasdil.layers import _validate as V
from kerasdil.layers.conv import block_config
from kerasdil.layers.mask1d import validity_at
from kerasdil.layers.stack import BlockSequence

PADDINGS_1D = ("same", "valid", "causal")


def _int(layer, arg, value):
    """An int >= 1, or a 1-tuple of one (Keras's 1D layers accept both)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not V._is_int(value) or value < 1:
        raise ValueError(f"{layer}: `{arg}` must be a positive int (1D layers take one number), got {value!r}.")
    return value


def _padding(layer, value):
    if not isinstance(value, str) or value.lower() not in PADDINGS_1D:
        raise ValueError(
            f"{layer}: `padding` must be 'same', 'valid' or 'causal' (output step t sees steps <= t only), "
            f"got {value!r}."
        )
    return value.lower()


def _kernel(layer, value, padding):
    k = _int(layer, "kernel_size", value)
    if padding == "same" and k % 2 == 0:
        raise ValueError(
            f"{layer}: `kernel_size` must be odd with padding='same' so that the padding is symmetric, got {k}; "
            "use an odd kernel, or padding='causal'."
        )
    return k


def output_length(length, kernel, stride, dilation, padding):
    """Steps out of a 1D convolution (``None`` stays ``None``); 'causal' keeps the length like 'same'."""
    return V.conv_output_length(length, kernel, stride, dilation, "valid" if padding == "valid" else "same")


def _check_fits(layer, input_shape, kernel, dilation, padding):
    """Refuse a 'valid' kernel longer than the series; warn when a dilation reaches past it."""
    steps = tuple(input_shape)[1] if len(input_shape) > 1 else None
    if V.span_reaches_past(layer, steps, kernel, dilation, padding, f"steps, more than the series' {steps}"):
        warnings.warn(
            f"layer {layer.name!r} ({type(layer).__name__}): dilation_rate {dilation} is not smaller than the "
            f"series' {steps} steps, so every tap but one reads zero padding; use a dilation_rate below {steps}.",
            stacklevel=3,
        )


def _specs(kernel, stride, dilation):
    from kerasdil.receptive import LayerSpec

    # A sequence is a 1 x steps image: the receptive field lies along the second axis.
    return [LayerSpec(kernel=(1, kernel), stride=(1, stride), dilation=(1, dilation))]


class _Conv1DBlock(layers.Layer):
    """Shared checks, output shape, receptive field and config of the 1D blocks."""

    def __init__(self, filters, kernel_size, dilation_rate, strides, padding, activation, use_batchnorm,
                 kernel_initializer, kernel_regularizer, **kwargs):
        super().__init__(**kwargs)
        n = type(self).__name__
        self.filters = V.positive_int(n, "filters", filters)
        self.padding = _padding(n, padding)
        self.kernel_size = _kernel(n, kernel_size, self.padding)
        self.dilation_rate = _int(n, "dilation_rate", dilation_rate)
        self.strides = _int(n, "strides", strides)
        V.stride_dilation(n, (self.strides,), (self.dilation_rate,))
        self.activation = keras.activations.get(activation)
        self.use_batchnorm = bool(use_batchnorm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bn = (
            layers.BatchNormalization(momentum=0.9, epsilon=1e-3, name="bn", dtype=self.dtype_policy)
            if self.use_batchnorm
            else None
        )

    def _check_input(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) takes sequences (batch, steps, channels), got input "
                f"shape {tuple(input_shape)}; add a channels axis of 1 to a univariate series."
            )
        _check_fits(self, input_shape, self.kernel_size, self.dilation_rate, self.padding)

    def _finish(self, x, inputs, training, residual):
        if self.bn is not None:
            x = self.bn(x, training=training)
        if residual:
            x = ops.add(x, inputs)
        return self.activation(x) if self.activation is not None else x

    def compute_output_shape(self, input_shape):
        b, steps, _ = input_shape
        return (b, output_length(steps, self.kernel_size, self.strides, self.dilation_rate, self.padding), self.filters)

    def receptive_field_layers(self):
        return _specs(self.kernel_size, self.strides, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), **block_config(self)}


@keras.saving.register_keras_serializable(package="kerasdil")
class DilatedConv1DBN(_Conv1DBlock):
    """Conv1D with ``dilation_rate``, then BatchNormalization, then an activation.

    Args:
        filters: output channels.
        kernel_size: int (odd with padding "same"). Default 3.
        dilation_rate: positive int. Default 1.
        strides: positive int; must be 1 when dilation_rate > 1.
        padding: "same" (default), "valid" or "causal" (output step t sees input
            steps <= t only, for streaming).
        activation: Keras activation name or None. Default "relu".
        use_batchnorm: add BatchNormalization (then the conv has no bias). Default True.
        kernel_initializer, kernel_regularizer: passed to the Conv1D.

    Raises:
        ValueError: naming the layer and the argument, for a non-positive filters /
            dilation / stride, an even kernel with "same" padding, stride > 1 with
            dilation > 1, or an unknown padding.

    Example:
        >>> block = DilatedConv1DBN(16, dilation_rate=4, padding="causal")
        >>> block(keras.ops.zeros((2, 150, 1))).shape
        (2, 150, 16)
    """

    def __init__(self, filters, kernel_size=3, dilation_rate=1, strides=1, padding="same", activation="relu",
                 use_batchnorm=True, kernel_initializer="he_normal", kernel_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, dilation_rate, strides, padding, activation, use_batchnorm,
                         kernel_initializer, kernel_regularizer, **kwargs)
        self.conv = layers.Conv1D(
            filters, self.kernel_size, strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate,
            use_bias=not self.use_batchnorm, kernel_initializer=self.kernel_initializer,
            kernel_regularizer=self.kernel_regularizer, dtype=self.dtype_policy, name="conv",
        )

    def build(self, input_shape):
        self._check_input(input_shape)
        self.conv.build(input_shape)
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, inputs, training=None):
        V.input_channels(self, self.conv.kernel.shape[1] if self.conv.built else None, inputs.shape)
        return self._finish(self.conv(inputs), inputs, training, residual=False)


@keras.saving.register_keras_serializable(package="kerasdil")
class SeparableDilatedConv1D(_Conv1DBlock):
    """The 1D DSDC block: ``SeparableConv1D(dilation_rate)``, BN, residual, activation.

    A dilated depthwise conv along the steps, a pointwise conv across channels,
    BatchNormalization, then the input added back when shapes match (stride 1, a
    length-keeping padding, equal channels) and ``residual=True``, then the
    activation.

    Args:
        filters: output channels of the pointwise conv.
        kernel_size: int (odd with padding "same"). Default 3.
        dilation_rate: positive int. Default 1.
        strides: positive int; must be 1 when dilation_rate > 1.
        padding: "same" (default), "valid" or "causal".
        depth_multiplier: depthwise channel multiplier. Default 1.
        activation: Keras activation name or None. Default "relu".
        residual: add the input when shapes allow. Default True.
        use_batchnorm: BatchNormalization after the pointwise conv. Default True.
        kernel_initializer, kernel_regularizer: for both convs.

    Raises:
        ValueError: naming the layer and the argument, for bad filters, kernel,
            dilation, strides, padding or multiplier.

    Example:
        >>> block = SeparableDilatedConv1D(16, dilation_rate=8)
        >>> block(keras.ops.zeros((2, 150, 16))).shape
        (2, 150, 16)
    """

    def __init__(self, filters, kernel_size=3, dilation_rate=1, strides=1, padding="same", depth_multiplier=1,
                 activation="relu", residual=True, use_batchnorm=True, kernel_initializer="he_normal",
                 kernel_regularizer=None, **kwargs):
        super().__init__(filters, kernel_size, dilation_rate, strides, padding, activation, use_batchnorm,
                         kernel_initializer, kernel_regularizer, **kwargs)
        self.depth_multiplier = V.positive_int(type(self).__name__, "depth_multiplier", depth_multiplier)
        self.residual = bool(residual)
        # Keras's SeparableConv1D has no 'causal' padding: pad the past by hand, then 'valid'.
        self._causal_pad = (self.kernel_size - 1) * self.dilation_rate if self.padding == "causal" else 0
        self.conv = layers.SeparableConv1D(
            filters, self.kernel_size, strides=self.strides, padding="valid" if self._causal_pad else self.padding, dilation_rate=self.dilation_rate,
            depth_multiplier=self.depth_multiplier, use_bias=not self.use_batchnorm,
            depthwise_initializer=self.kernel_initializer, pointwise_initializer=self.kernel_initializer,
            depthwise_regularizer=self.kernel_regularizer, pointwise_regularizer=self.kernel_regularizer,
            dtype=self.dtype_policy, name="separable",
        )
        self._add_residual = False

    def build(self, input_shape):
        self._check_input(input_shape)
        b, steps, channels = input_shape
        # 'causal' runs the conv 'valid' on the series with its past padded: built for that length.
        self.conv.build((b, None if steps is None else steps + self._causal_pad, channels))
        if self.bn is not None:
            self.bn.build(self.compute_output_shape(input_shape))
        self._add_residual = (
            self.residual and self.strides == 1 and self.padding != "valid" and input_shape[-1] == self.filters
        )

    def call(self, inputs, training=None):
        built = self.conv.depthwise_kernel.shape[1] if self.conv.built else None
        V.input_channels(self, built, inputs.shape)
        x = ops.pad(inputs, ((0, 0), (self._causal_pad, 0), (0, 0))) if self._causal_pad else inputs
        return self._finish(self.conv(x), inputs, training, residual=self._add_residual)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "residual": self.residual}


@keras.saving.register_keras_serializable(package="kerasdil")
class DilationStack1D(BlockSequence, layers.Layer):
    """Residual 1D DSDC blocks (``SeparableDilatedConv1D``) whose dilations follow a schedule.

    Block ``i`` has dilation ``dilation_schedule[i]``. A first block whose input has
    another channel count maps it to ``filters``; every block with equal channels
    adds its input back (residual). The receptive field of a stack of kernel ``k``
    is ``1 + (k - 1) * sum(dilation_schedule)`` steps (see
    ``kerasdil.receptive.covers_length``).

    Args:
        dilation_schedule: non-empty sequence of positive ints, e.g. (1, 2, 4, 8).
        filters: channels of every block (int), or one int per block.
        kernel_size: depthwise kernel size (odd with padding "same"). Default 3.
        padding: "same" (default) or "causal" (streaming: no step sees the future).
        activation: Keras activation. Default "relu".
        residual: residual connections where shapes allow. Default True.
        use_batchnorm: BatchNormalization in every block. Default True.
        kernel_regularizer: for every conv.

    Raises:
        ValueError: for an empty or non-positive schedule, ``filters`` of the wrong
            length, or a padding other than "same" / "causal".

    Example:
        >>> stack = DilationStack1D((1, 2, 4, 8), filters=32, padding="causal")
        >>> stack(keras.ops.zeros((1, 150, 3))).shape
        (1, 150, 32)
    """

    def __init__(self, dilation_schedule, filters, kernel_size=3, padding="same", activation="relu", residual=True,
                 use_batchnorm=True, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        n = type(self).__name__
        schedule = V.dilation_schedule(n, dilation_schedule)
        if any(not V._is_int(r) for r in schedule):
            raise ValueError(f"{n}: `dilation_schedule` takes one int per block for sequences, got {dilation_schedule!r}.")
        self.dilation_schedule = schedule
        self.filters = V.block_filters(n, filters, schedule)
        self.padding = _padding(n, padding)
        if self.padding == "valid":
            raise ValueError(f"{n}: `padding` must be 'same' or 'causal' so that the blocks keep the length, got 'valid'.")
        self.kernel_size = _kernel(n, kernel_size, self.padding)
        self.activation = activation
        self.residual = bool(residual)
        self.use_batchnorm = bool(use_batchnorm)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        per_block = self.filters if isinstance(self.filters, tuple) else (self.filters,) * len(schedule)
        self.blocks = [
            SeparableDilatedConv1D(
                f, kernel_size=self.kernel_size, dilation_rate=rate, padding=self.padding, activation=activation,
                residual=residual, use_batchnorm=self.use_batchnorm, kernel_regularizer=self.kernel_regularizer,
                dtype=self.dtype_policy, name=f"block{i + 1}",
            )
            for i, (rate, f) in enumerate(zip(schedule, per_block))
        ]

    def call(self, inputs, training=None, step_mask=None):
        """Run the blocks; with ``step_mask`` (``(batch, steps, 1)``, 1 on the series, 0 on padding, see
        ``kerasdil.layers.mask1d``) every block's output is zeroed on the padded steps, so no block reads
        padding as signal: with 'same' or 'causal' padding the outputs on the valid steps are those of the
        unpadded series."""
        if step_mask is None:
            return super().call(inputs, training=training)
        x = inputs
        for block in self.blocks:
            x = block(x, training=training)
            x = x * validity_at(step_mask, x)
        return x

    def get_config(self):
        return {**super().get_config(), **self.stack_config(), "padding": self.padding}
