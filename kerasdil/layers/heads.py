"""Heads and decoders written once: the classification head and the segmenters' decoders.

Functions over symbolic tensors (functional Keras), each creating its layers
under fixed names (``classifier``, ``decoder_reduce``, ``decoder_conv1``,
``refine_conv``, ``logits``, ...), so weights files and saved models load by
name whichever builder composed them.

- :func:`classification_head`: global average pooling, dropout, dense.
- :func:`deeplab_decoder`: DeepLabV3+'s decoder: the ASPP output upsampled to a
  low-level map, joined with its 1x1 reduction, two DSDC blocks, upsampled to
  the input and refined with full-resolution skips (the image itself among them).
- :func:`light_decoder`: the mobile head: the same join at 1/4, class logits
  there, upsampled and fused with the image by one 1x1 conv.
- :func:`set_background_prior`: the logits' bias at a background prior.

Example:
    >>> import keras
    >>> image = keras.Input((28, 28, 1))
    >>> x = keras.layers.Conv2D(8, 3, padding="same")(image)
    >>> classification_head(x, 10).shape
    (None, 10)
"""

import numpy as np
from keras import layers

from kerasdil.layers.conv import DilatedConvBN, SeparableDilatedConv



def classification_head(x, num_classes, *, dropout=0.1, activation="softmax"):
    """Global average pooling ("gap"), optional dropout ("dropout"), Dense ("classifier")."""
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(num_classes, activation=activation, name="classifier")(x)


def _join(x, low_level, *, output_stride, low_stride, decoder_filters, implementation, evidence, evidence_stride):
    """ASPP output up to the low-level map, 1x1 reduction of it, class evidence; two DSDC blocks."""
    skip = DilatedConvBN(max(8, decoder_filters // 2), 1, name="decoder_reduce")(low_level)
    if output_stride > low_stride:
        x = layers.UpSampling2D(output_stride // low_stride, interpolation="bilinear", name="decoder_upsample")(x)
    merged = [x, skip]
    if evidence is not None:
        if evidence_stride > low_stride:
            evidence = layers.UpSampling2D(evidence_stride // low_stride, interpolation="bilinear",
                                           name="classifier_upsample")(evidence)
        merged.append(evidence)
    x = layers.Concatenate(name="decoder_concat")(merged)
    x = SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv1")(x)
    return SeparableDilatedConv(decoder_filters, 3, implementation=implementation, name="decoder_conv2")(x)


def deeplab_decoder(x, low_level, image, num_classes, *, output_stride, low_stride, decoder_filters=32,
                    implementation="auto", evidence=None, evidence_stride=None, skips=()):
    """DeepLabV3+'s decoder, ending in per-pixel logits at the input size.

    Args:
        x: the ASPP output, at ``output_stride``.
        low_level: the low-level feature map, at ``low_stride``.
        image: the model's input; it joins the refinement (thin strokes stay sharp).
        num_classes: classes per pixel.
        decoder_filters: channels of the two decoder blocks (the reduction and
            the refinement take ``max(8, decoder_filters // 2)``).
        evidence: optional per-position class evidence at ``evidence_stride``,
            joined with the low-level map.
        skips: more full-resolution maps joined with the image (e.g. the stem's).

    Returns:
        The logits tensor (layer "logits").
    """
    x = _join(x, low_level, output_stride=output_stride, low_stride=low_stride, decoder_filters=decoder_filters,
              implementation=implementation, evidence=evidence, evidence_stride=evidence_stride)
    if low_stride > 1:
        x = layers.UpSampling2D(low_stride, interpolation="bilinear", name="upsample")(x)
    x = layers.Concatenate(name="refine_concat")([x, *skips, image])
    x = SeparableDilatedConv(max(8, decoder_filters // 2), 3, implementation=implementation, name="refine_conv")(x)
    return layers.Conv2D(num_classes, 1, name="logits")(x)


def light_decoder(x, low_level, image, num_classes, *, output_stride, low_stride=4, decoder_filters=32,
                  implementation="auto", evidence=None):
    """The mobile head: the decoder's join at ``low_stride``, logits there, one 1x1 fusion with the image.

    The class logits ("decoder_logits") are upsampled (bilinear) to the input
    size and fused with the image by one 1x1 conv ("logits") that starts as the
    identity on the upsampled logits, so only that conv runs at full size.

    Returns:
        The logits tensor (layer "logits").
    """
    x = _join(x, low_level, output_stride=output_stride, low_stride=low_stride, decoder_filters=decoder_filters,
              implementation=implementation, evidence=evidence, evidence_stride=low_stride)
    x = layers.Conv2D(num_classes, 1, name="decoder_logits")(x)
    x = layers.UpSampling2D(low_stride, interpolation="bilinear", name="upsample")(x)
    # The image joins at full size through one 1x1 conv: a stroke is a pixel
    # above the ink threshold, which the fused logits read off directly.
    x = layers.Concatenate(name="refine_concat")([x, image])
    fuse = layers.Conv2D(num_classes, 1, name="logits")
    outputs = fuse(x)
    # The fusion starts as the identity on the upsampled logits (the image's weights
    # zero), so the background prior and early training act through it.
    kernel = np.zeros((1, 1, num_classes + image.shape[-1], num_classes), "float32")
    kernel[0, 0, :num_classes, :] = np.eye(num_classes, dtype="float32")
    fuse.kernel.assign(kernel)
    fuse.bias.assign(np.zeros(num_classes, "float32"))
    return outputs


def set_background_prior(logits, prior, name):
    """Start ``logits`` (a Conv2D) with the log-odds of ``prior`` for class 0, the rest spread evenly.

    Raises:
        ValueError: ``prior`` is not in (0, 1).
    """
    if not isinstance(prior, (int, float)) or isinstance(prior, bool) or not 0 < prior < 1:
        raise ValueError(f"{name}: `background_prior` must be in (0, 1) or None, got {prior!r}.")
    c = logits.filters
    bias = np.zeros(c, "float32")
    bias[0] = np.log(prior * (c - 1) / (1 - prior))
    logits.bias.assign(bias)
