"""Padded series: a validity channel, features zeroed on the padding, pooling over the series' steps.

A batch of series of unequal length padded at the end to one length carries a last
channel that is 1 on the series' steps and 0 on the padding
(``kerasdil.data.series.load_series(..., unequal="pad")``). These layers keep the model a
plain single-input Keras model (``.keras``, TFLite) that never reads the padding as signal:

- ``SplitValidityChannel``: input ``(batch, steps, channels + 1)`` -> the series with its
  padding zeroed ``(batch, steps, channels)`` and the validity ``(batch, steps, 1)``;
- ``MaskSteps``: ``[features, validity]`` -> the features zeroed on the padding;
- ``MaskedGlobalPooling1D``: ``[features, validity]`` -> the mean or max over the valid steps.

Features on a strided grid (``steps / s`` steps) read the validity of every ``s``-th step,
the steps a 'causal' or 'same' strided conv's output ``j`` is anchored at (``j * s``).

Example:
    >>> import keras
    >>> inputs = keras.Input((150, 2))                      # one channel + the validity channel
    >>> series, valid = SplitValidityChannel()(inputs)
    >>> pooled = MaskedGlobalPooling1D()([series, valid])   # the mean over each series' own steps
"""

import keras
from keras import layers, ops

POOLING_MODES = ("average", "max")


def validity_at(valid, features):
    """``valid`` ``(batch, steps, 1)`` on the grid of ``features`` ``(batch, steps / s, C)``, in their dtype.

    A strided grid reads every ``s``-th step (``s = ceil(steps / feature steps)``); unknown lengths are
    taken as equal.
    """
    total, steps = valid.shape[1], features.shape[1]
    if total is not None and steps is not None and total != steps:
        stride = -(-int(total) // int(steps))
        valid = valid[:, ::stride][:, :steps]
    return ops.cast(valid, features.dtype)


def _check_pair(layer, input_shape):
    if not (isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
            and all(isinstance(s, (list, tuple)) and len(s) == 3 for s in input_shape)):
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) takes [features (batch, steps, channels), "
                         f"validity (batch, steps, 1)]; got input shape {input_shape!r}.")


@keras.saving.register_keras_serializable(package="kerasdil")
class SplitValidityChannel(layers.Layer):
    """Split the validity channel (the last) off a padded series and zero the series on the padding.

    Returns ``[series (batch, steps, channels), validity (batch, steps, 1)]``; the validity is 1
    on the series' steps and 0 on the padding, whatever the padding holds.

    Raises:
        ValueError: an input that is not ``(batch, steps, channels + 1)`` with at least one series channel.

    Example:
        >>> series, valid = SplitValidityChannel()(keras.ops.ones((2, 150, 4)))
        >>> series.shape, valid.shape
        ((2, 150, 3), (2, 150, 1))
    """

    def build(self, input_shape):
        if len(input_shape) != 3 or (input_shape[-1] is not None and input_shape[-1] < 2):
            raise ValueError(f"layer {self.name!r} (SplitValidityChannel) takes series (batch, steps, channels + 1) "
                             f"whose last channel marks the valid steps; got input shape {tuple(input_shape)}.")

    def call(self, inputs):
        valid = inputs[..., -1:]
        return [inputs[..., :-1] * valid, valid]

    def compute_output_shape(self, input_shape):
        b, steps, channels = input_shape
        return [(b, steps, None if channels is None else channels - 1), (b, steps, 1)]


@keras.saving.register_keras_serializable(package="kerasdil")
class MaskSteps(layers.Layer):
    """``[features, validity]`` -> the features, zeroed on the padded steps (see :func:`validity_at`).

    Example:
        >>> masked = MaskSteps()([keras.ops.ones((1, 4, 8)), keras.ops.array([[[1.0], [1.0], [0.0], [0.0]]])])
    """

    def build(self, input_shape):
        _check_pair(self, input_shape)

    def call(self, inputs):
        features, valid = inputs
        return features * validity_at(valid, features)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="kerasdil")
class MaskedGlobalPooling1D(layers.Layer):
    """``[features, validity]`` -> the mean (or max) of the features over the valid steps, ``(batch, channels)``.

    The padding never counts: a series padded to any length pools to what the unpadded series
    pools to. A series with no valid step pools to zeros (average) or to its smallest feature (max).

    Args:
        mode: "average" (default) or "max".

    Raises:
        ValueError: another mode, naming it.

    Example:
        >>> x = keras.ops.array([[[1.0], [3.0], [100.0]]])
        >>> valid = keras.ops.array([[[1.0], [1.0], [0.0]]])
        >>> MaskedGlobalPooling1D()([x, valid])     # (1 + 3) / 2
        [[2.]]
    """

    def __init__(self, mode="average", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"MaskedGlobalPooling1D: `mode` must be 'average' or 'max', got {mode!r}.")
        self.mode = mode

    def build(self, input_shape):
        _check_pair(self, input_shape)

    def call(self, inputs):
        features, valid = inputs
        valid = validity_at(valid, features)
        if self.mode == "max":
            # Padded steps take the smallest feature of the series, which no valid step's maximum is below.
            floor = ops.min(features, axis=1, keepdims=True)
            return ops.max(ops.where(valid > 0.5, features, floor), axis=1)
        count = ops.maximum(ops.sum(valid, axis=1), ops.cast(1.0, features.dtype))
        return ops.sum(features * valid, axis=1) / count

    def compute_output_shape(self, input_shape):
        b, _, channels = input_shape[0]
        return (b, channels)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


__all__ = ["MaskSteps", "MaskedGlobalPooling1D", "SplitValidityChannel"]
