"""The series_dsdc builder: Conv1D stem, a residual stack of 1D DSDC blocks, global average pooling."""

import keras
from keras import layers

from kerasdil.layers import DilatedConv1DBN, DilationStack1D
from kerasdil.layers import _validate as V
from kerasdil.layers.mask1d import MaskedGlobalPooling1D, MaskSteps, SplitValidityChannel
from kerasdil.receptive import schedule_for_length
from kerasdil.zoo.model import ZooModel
from kerasdil.zoo.series_dsdc.record import (
    DEFAULT_KERNEL,
    DEFAULT_WIDTH,
    SERIES_INPUT_SHAPE,
    SERIES_NUM_CLASSES,
    STEM_KERNEL,
    stem_stride,
)
from kerasdil.zoo.weights_io import load_weights


def default_schedule(length, kernel_size=DEFAULT_KERNEL):
    """The doubling schedule whose receptive field (stem included) covers ``length`` steps.

    Example:
        >>> default_schedule(150), default_schedule(1460)
        ((1, 2, 4, 8, 16), (1, 2, 4, 8, 16, 32))
    """
    # Field = STEM_KERNEL + stride * (kernel - 1) * sum(rates): the blocks run on the stem's
    # strided grid, so they must cover (length - STEM_KERNEL) / stride of their own steps.
    stride = stem_stride(length)
    return schedule_for_length(max(1, -(-(length - STEM_KERNEL) // stride) + 1), kernel=kernel_size)


def series_dsdc(
    input_shape=SERIES_INPUT_SHAPE,
    num_classes=SERIES_NUM_CLASSES,
    dilation_schedule=None,
    width=DEFAULT_WIDTH,
    kernel_size=DEFAULT_KERNEL,
    padding="same",
    dropout=0.1,
    include_top=True,
    weights=None,
    classifier_activation="softmax",
    validity_channel=False,
    name="series_dsdc",
):
    """A time-series classifier of residual 1D DSDC blocks.

    ``DilatedConv1DBN(width, 7)`` stem (strided for series longer than 512 steps, see
    ``record.stem_stride``), then ``DilationStack1D(dilation_schedule, width)``
    (depthwise ``SeparableConv1D`` with the schedule's dilation, pointwise conv, BN,
    residual, ReLU), global average pooling over the steps, dropout and a dense head.

    Args:
        input_shape: (steps, channels). Default (150, 1).
        num_classes: classes. Default 2.
        dilation_schedule: rates of the blocks; default the doubling schedule whose
            receptive field covers ``steps`` (``kerasdil rf 1,2,4 --length N --kernel 9``).
        width: channels of the stem and every block. Default 64.
        kernel_size: odd depthwise kernel of the blocks. Default 9.
        padding: "same" (default) or "causal" (no step sees later steps).
        dropout: before the head. Default 0.1.
        include_top: the pooling and dense head; False returns the (steps, width) features.
        weights: None, or a path to weights (.npz, .weights.h5, .keras).
        classifier_activation: "softmax" or None for logits.
        validity_channel: the input's last channel marks the valid steps (1) and the padding (0)
            of series padded at the end (``load_series(..., unequal="pad")``; ``input_shape``
            counts it): the model zeroes the padding, zeroes the features of padded steps after
            the stem and every block, and pools over the valid steps only
            (``kerasdil.layers.mask1d``). With 'causal' padding, or 'same' padding and a stem of
            stride 1 (up to 512 steps), a series gets the same prediction at any padded length.
        name: model name.

    Returns:
        A ``ZooModel``.

    Raises:
        ValueError: bad arguments, naming the argument.

    Example:
        >>> model = series_dsdc(input_shape=(150, 1), num_classes=2)
    """
    if not hasattr(input_shape, "__len__") or len(input_shape) != 2:
        raise ValueError(f"{name}: `input_shape` must be (steps, channels), got {input_shape!r}.")
    steps, channels = (V.positive_int(name, "input_shape", int(v)) for v in input_shape)
    V.positive_int(name, "num_classes", num_classes)
    V.positive_int(name, "width", width)
    if not isinstance(validity_channel, bool) or (validity_channel and channels < 2):
        raise ValueError(f"{name}: `validity_channel` must be True or False, and True needs input_shape's channels "
                         f"to count it (at least 2); got {validity_channel!r} with {channels} channels.")
    if dilation_schedule is None:
        dilation_schedule = default_schedule(steps, kernel_size)
    inputs = keras.Input(shape=(steps, channels), name="series")
    series, valid = SplitValidityChannel(name="validity")(inputs) if validity_channel else (inputs, None)
    x = DilatedConv1DBN(width, STEM_KERNEL, strides=stem_stride(steps), padding="causal" if padding == "causal" else "same",
                        name="stem")(series)
    if validity_channel:
        x = MaskSteps(name="stem_mask")([x, valid])
    stack = DilationStack1D(dilation_schedule, width, kernel_size=kernel_size, padding=padding, name="stage1")
    x = stack(x, step_mask=valid) if validity_channel else stack(x)
    if include_top:
        x = (MaskedGlobalPooling1D(name="gap")([x, valid]) if validity_channel
             else layers.GlobalAveragePooling1D(name="gap")(x))
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Dense(num_classes, activation=classifier_activation, name="classifier")(x)
    model = ZooModel(inputs, x, name=name)
    config = dict(input_shape=[steps, channels], num_classes=num_classes,
                  dilation_schedule=list(model.get_layer("stage1").dilation_schedule), width=width,
                  kernel_size=kernel_size, padding=padding, **({"validity_channel": True} if validity_channel else {}))
    return load_weights(model, weights, model_name="series_dsdc", config=config, allow_extra=not include_top)
