"""SpaceToDepth: a lossless stride-2 (or any block size) rearrangement of pixels into channels."""

import keras
from keras import layers, ops

from kerasdil.layers import _validate as V
from kerasdil.layers.conv import tf_fast


@keras.saving.register_keras_serializable(package="kerasdil")
class SpaceToDepth(layers.Layer):
    """Moves each ``block_size x block_size`` patch of pixels into the channel axis.

    (B, H, W, C) -> (B, H / b, W / b, C * b * b), with the channel order of
    ``tf.nn.space_to_depth``. Nothing is lost (it is a permutation), so a conv
    after it sees the full-resolution image at 1 / b the spatial cost: a 3x3 conv
    on the result covers a 6x6 window of the input at stride 2. On TensorFlow it is
    ``tf.nn.space_to_depth`` (TFLite's builtin SPACE_TO_DEPTH); elsewhere a
    reshape and transpose.

    Args:
        block_size: int >= 2. Default 2.

    Raises:
        ValueError: a bad block size, or an input size not divisible by it.

    Example:
        >>> SpaceToDepth(2)(keras.ops.zeros((1, 28, 28, 1))).shape
        (1, 14, 14, 4)
    """

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = V.positive_int(type(self).__name__, "block_size", block_size)
        if self.block_size < 2:
            raise ValueError(f"SpaceToDepth: `block_size` must be >= 2, got {block_size!r}.")

    def _check(self, input_shape):
        b = self.block_size
        if len(input_shape) != 4:
            raise ValueError(f"{self.name}: expects (batch, height, width, channels) inputs, got shape {input_shape}.")
        for side in input_shape[1:3]:
            if side is not None and side % b:
                raise ValueError(
                    f"{self.name}: input size {input_shape[1]}x{input_shape[2]} is not divisible by "
                    f"block_size {b}."
                )

    def build(self, input_shape):
        self._check(input_shape)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        b = self.block_size
        n, h, w, c = input_shape
        return (n, None if h is None else h // b, None if w is None else w // b, None if c is None else c * b * b)

    def call(self, inputs):
        self._check(tuple(inputs.shape))
        b = self.block_size
        if tf_fast is not None:  # TFLite's builtin SPACE_TO_DEPTH after conversion
            outputs = tf_fast.space_to_depth(inputs, b)
            if outputs is not None:
                return outputs
        shape = ops.shape(inputs)
        n, h, w, c = shape[0], shape[1], shape[2], inputs.shape[-1]
        x = ops.reshape(inputs, (n, h // b, b, w // b, b, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (n, h // b, w // b, b * b * c))

    def receptive_field_layers(self):
        from kerasdil.receptive import LayerSpec

        # Each output position sees a b x b patch, b pixels apart.
        return [LayerSpec(kernel=self.block_size, stride=self.block_size, dilation=1)]

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
