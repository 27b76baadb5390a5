"""DilationStack: a dilation schedule of DSDC blocks."""

import keras
from keras import layers

from kerasdil.layers import _validate as V
from kerasdil.layers.conv import SeparableDilatedConv, _eager_inference


class BlockSequence:
    """What a stack of blocks in ``self.blocks`` shares: build, output shape, receptive field, config."""

    def build(self, input_shape):
        shape = input_shape
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for block in self.blocks:
            x = block(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for block in self.blocks:
            shape = block.compute_output_shape(shape)
        return shape

    def receptive_field_layers(self):
        return [spec for block in self.blocks for spec in block.receptive_field_layers()]

    def stack_config(self):
        """The constructor arguments both stacks share."""
        return {
            "dilation_schedule": self.dilation_schedule,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "activation": self.activation,
            "residual": self.residual,
            "use_batchnorm": self.use_batchnorm,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)
            if self.kernel_regularizer
            else None,
        }


@keras.saving.register_keras_serializable(package="kerasdil")
class DilationStack(BlockSequence, layers.Layer):
    """DSDC blocks (``SeparableDilatedConv``) whose dilations follow a schedule.

    Block ``i`` has dilation ``dilation_schedule[i]``. The first block maps the input
    channels to ``filters``; later blocks keep them and add residuals.

    Args:
        dilation_schedule: non-empty sequence of positive ints (or (h, w) pairs),
            e.g. (1, 2, 5), a gridding-free schedule for 3x3 kernels.
        filters: channels of every block (int), or one int per block.
        kernel_size: odd depthwise kernel size. Default 3.
        activation: Keras activation. Default "relu".
        residual: residual connections where shapes allow. Default True.
        implementation: "auto", "native" or "keras" (see ``DilatedDepthwiseConv2D``).
        kernel_regularizer: for every conv.
        use_batchnorm: BatchNormalization in every block (see ``SeparableDilatedConv``).

    Raises:
        ValueError: for an empty or non-positive schedule, or ``filters`` of the wrong length.

    Example:
        >>> stack = DilationStack((1, 2, 5), filters=32)
        >>> stack(keras.ops.zeros((1, 14, 14, 16))).shape
        (1, 14, 14, 32)
    """

    def __init__(
        self,
        dilation_schedule,
        filters,
        kernel_size=3,
        activation="relu",
        residual=True,
        implementation="auto",
        kernel_regularizer=None,
        use_batchnorm=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        n = type(self).__name__
        self.dilation_schedule = V.dilation_schedule(n, dilation_schedule)
        self.filters = V.block_filters(n, filters, self.dilation_schedule)
        self.kernel_size = V.odd_kernel(n, kernel_size)
        self.activation = activation
        self.residual = bool(residual)
        self.implementation = implementation
        self.use_batchnorm = bool(use_batchnorm)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        per_block = (
            self.filters if isinstance(self.filters, tuple) else (self.filters,) * len(self.dilation_schedule)
        )
        self.blocks = [
            SeparableDilatedConv(
                f,
                kernel_size=self.kernel_size,
                dilation_rate=rate,
                activation=activation,
                residual=residual,
                implementation=implementation,
                kernel_regularizer=self.kernel_regularizer,
                use_batchnorm=self.use_batchnorm,
                dtype=self.dtype_policy,
                name=f"block{i + 1}",
            )
            for i, (rate, f) in enumerate(zip(self.dilation_schedule, per_block))
        ]

    def call(self, inputs, training=None):
        fast = _eager_inference(self, inputs, training)
        if fast is not None:
            return fast
        return super().call(inputs, training=training)

    def get_config(self):
        return {**super().get_config(), **self.stack_config(), "implementation": self.implementation}
