"""unet_baseline: keras.io's "Image segmentation with a U-Net-like architecture", the segmentation peer."""

import keras
from keras import layers

from kerasdil.layers import _validate as V
from kerasdil.zoo.unet_baseline.plan import DEFAULT_FILTERS, SEGMENTATION_INPUT_SHAPE, SEGMENTATION_NUM_CLASSES
from kerasdil.zoo.weights_io import load_weights


def unet_baseline(
    input_shape=SEGMENTATION_INPUT_SHAPE,
    num_classes=SEGMENTATION_NUM_CLASSES,
    filters=DEFAULT_FILTERS,
    weights=None,
    name="unet_baseline",
):
    """keras.io's "Image segmentation with a U-Net-like architecture", as written there.

    Entry ``Conv2D(filters[0], 3, strides=2)``, BN, ReLU; one downsampling block
    per ``filters[1:]`` (two ``SeparableConv2D`` + BN, ``MaxPooling2D(3, 2)``, a
    strided 1x1 residual projection); one upsampling block per reversed
    ``filters`` (two ``Conv2DTranspose`` + BN, ``UpSampling2D(2)``, an upsampled
    1x1 residual projection); a 3x3 per-pixel classifier. With the default
    filters this is keras.io's model (2.06 M parameters for 3 classes). The only
    change: the classifier returns logits (keras.io uses softmax), like deeplab_aspp.

    Args:
        input_shape: (H, W, C), H and W divisible by ``2 ** len(filters)`` (16).
        num_classes: classes per pixel. Default 11.
        filters: channels of the entry conv and the blocks. Default (32, 64, 128, 256).
        weights: None or a weights file path.
        name: model name.

    Raises:
        ValueError: input size not divisible by ``2 ** len(filters)``, or bad filters.

    Example:
        >>> unet_baseline(input_shape=(64, 80, 1)).output_shape
        (None, 64, 80, 11)
    """
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__len__") or len(filters) < 1:
        raise ValueError(f"{name}: `filters` must be a non-empty sequence such as (32, 64, 128, 256), got {filters!r}.")
    for f in filters:
        V.positive_int(name, "filters", f)
    input_shape = V.input_shape_divisible(name, input_shape, 2 ** len(filters))
    V.class_count(name, num_classes)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(filters[0], 3, strides=2, padding="same", name="entry_conv")(inputs)
    x = layers.BatchNormalization(name="entry_bn")(x)
    x = layers.Activation("relu", name="entry_relu")(x)
    previous = x
    for i, f in enumerate(filters[1:]):
        p = f"down{i + 1}"
        x = _twice(x, layers.SeparableConv2D, f, p, "sepconv")
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{p}_pool")(x)
        residual = layers.Conv2D(f, 1, strides=2, padding="same", name=f"{p}_residual")(previous)
        x = layers.Add(name=f"{p}_add")([x, residual])
        previous = x
    for i, f in enumerate(reversed(filters)):
        p = f"up{i + 1}"
        x = _twice(x, layers.Conv2DTranspose, f, p, "convt")
        x = layers.UpSampling2D(2, name=f"{p}_upsample")(x)
        residual = layers.UpSampling2D(2, name=f"{p}_residual_upsample")(previous)
        residual = layers.Conv2D(f, 1, padding="same", name=f"{p}_residual")(residual)
        x = layers.Add(name=f"{p}_add")([x, residual])
        previous = x
    outputs = layers.Conv2D(num_classes, 3, padding="same", name="logits")(x)
    model = keras.Model(inputs, outputs, name=name)
    config = dict(input_shape=list(input_shape), num_classes=num_classes, filters=list(filters))
    return load_weights(model, weights, model_name="unet_baseline", config=config)


def _twice(x, conv, filters, prefix, kind):
    """ReLU, ``conv(filters, 3)``, BatchNormalization, twice: the body of a down (separable) or up (transposed) block."""
    for j in (1, 2):
        x = layers.Activation("relu", name=f"{prefix}_relu{j}")(x)
        x = conv(filters, 3, padding="same", name=f"{prefix}_{kind}{j}")(x)
        x = layers.BatchNormalization(name=f"{prefix}_bn{j}")(x)
    return x
