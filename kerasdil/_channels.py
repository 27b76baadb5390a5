"""Weights of layers whose input holds the image's channels, carried across channel counts.

``kerasdil.finetune.transfer_backbone`` copies a grayscale model's weights into an RGB
model (and back): besides the first conv (``kerasdil.zoo.weights_io``), a decoder's
image skip (the raw image concatenated to its features, as deeplab_aspp's
``refine_concat``) makes the layer after it depend on the channel count.
"""

import numpy as np


def image_channel_offsets(model):
    """``{layer name: offset}`` of the layers that read the raw image among other channels.

    A decoder's image skip concatenates the input image to its features (deeplab_aspp's
    ``refine_concat``), so the layer after it takes ``features + image channels``
    channels; ``offset`` is where the image's channels start in that input.
    """
    image = model.inputs[0]
    concat_offsets = {}
    for layer in model.layers:
        if not type(layer).__name__ == "Concatenate":
            continue
        try:
            parts = list(layer.input)
        except (AttributeError, ValueError):  # a layer used more than once: no single input
            continue
        offset = 0
        for part in parts:
            if part is image:
                concat_offsets[id(layer.output)] = offset
                break
            offset += int(part.shape[-1])
    found = {}
    for layer in model.layers:
        try:
            inp = layer.input
        except (AttributeError, ValueError):
            continue
        if not isinstance(inp, (list, tuple)) and id(inp) in concat_offsets:
            found[layer.name] = concat_offsets[id(inp)]
    return found


def adapt_image_skip(value, shape, offset, source_channels, target_channels, depthwise):
    """A kernel ``(kh, kw, features + source_channels [* m], out)`` for ``target_channels`` image
    channels at ``offset``, or None when the shapes do not fit that pattern.

    1 -> C: a depthwise kernel's image filter is repeated (one per channel); any other
    kernel's image rows are repeated and divided by C, so an RGB image whose channels hold
    the gray values gives the grayscale model's output. C -> 1: depthwise filters averaged,
    other rows summed.
    """
    if value.ndim != 4 or len(shape) != 4 or value.shape[:2] != tuple(shape[:2]) or value.shape[3] != shape[3]:
        return None
    features = value.shape[2] - source_channels
    if features < 0 or features + target_channels != shape[2]:
        return None
    head, image, tail = (value[:, :, :offset], value[:, :, offset:offset + source_channels],
                         value[:, :, offset + source_channels:])
    if source_channels == 1:
        image = np.repeat(image, target_channels, axis=2) / (1 if depthwise else target_channels)
    elif target_channels == 1:
        image = image.mean(axis=2, keepdims=True) if depthwise else image.sum(axis=2, keepdims=True)
    else:
        return None
    return np.concatenate([head, image, tail], axis=2)
