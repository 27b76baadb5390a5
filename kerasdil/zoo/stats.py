"""Model statistics: parameters and multiply-accumulates (MACs) per image."""

import math

from kerasdil import _compat


def _leaf_layers(layer):
    """Yield the innermost layers of a model or composite layer, in order."""
    children = _compat.tracked_layers(layer)
    if not children:
        yield layer
        return
    for child in children:
        yield from _leaf_layers(child)


def _input_shape(layer):
    shapes = _compat.built_input_shapes(layer)
    if len(shapes) == 1:
        return tuple(next(iter(shapes.values())))
    return None


def count_macs(model):
    """Multiply-accumulates of one forward pass for one image.

    Counts Conv2D and Conv1D (dilation does not change the count), DepthwiseConv2D / 1D,
    SeparableConv2D / 1D, Conv2DTranspose and Dense layers from their built input shapes,
    and layers with a ``count_macs()`` method by asking them;
    BatchNormalization, activations, pooling and additions are not counted (BN
    folds into the conv at inference). Layers inside kerasdil's composite layers
    and nested models are included.

    Args:
        model: a built Keras model with a fully known input size.

    Returns:
        int: MACs per image.

    Raises:
        ValueError: if a conv layer's spatial input size is unknown (build the
            model with a fixed ``input_shape``).

    Example:
        >>> from kerasdil.zoo import keras_io_convnet
        >>> count_macs(keras_io_convnet())
        2440960
    """
    from keras import layers

    depthwise = (layers.DepthwiseConv2D, layers.DepthwiseConv1D)
    separable = (layers.SeparableConv2D, layers.SeparableConv1D)
    kinds = (layers.Conv2D, layers.Conv1D, *depthwise, *separable, layers.Conv2DTranspose, layers.Dense)
    total = 0
    for layer in _leaf_layers(model):
        if callable(getattr(layer, "count_macs", None)):  # a layer that counts its own (MiniRocketFeatures)
            total += int(layer.count_macs())
            continue
        if not isinstance(layer, kinds):
            continue
        shape = _input_shape(layer)
        if shape is None:
            continue  # an unused or unbuilt layer contributes nothing
        if isinstance(layer, layers.Dense):
            total += math.prod(s for s in shape[1:-1] if s) * shape[-1] * layer.units
            continue
        out = layer.compute_output_shape(shape)
        if any(s is None for s in out[1:-1]):
            raise ValueError(
                f"count_macs: layer {layer.name!r} has an unknown spatial size {shape}; "
                "build the model with a fixed input_shape."
            )
        taps, cin = math.prod(layer.kernel_size), shape[-1]  # a 1-D conv: its steps are the positions
        if isinstance(layer, layers.Conv2DTranspose):
            total += math.prod(shape[1:-1]) * taps * cin * layer.filters
        elif isinstance(layer, depthwise):
            total += math.prod(out[1:-1]) * taps * cin * layer.depth_multiplier
        elif isinstance(layer, separable):
            total += math.prod(out[1:-1]) * (taps * cin * layer.depth_multiplier
                                             + cin * layer.depth_multiplier * layer.filters)
        else:
            total += math.prod(out[1:-1]) * taps * (cin // layer.groups) * layer.filters
    return int(total)


def model_stats(model):
    """Dict with params (total, trainable) and MACs per image of ``model``."""
    trainable = sum(math.prod(v.shape) for v in model.trainable_weights)
    return {
        "params": int(model.count_params()),
        "trainable_params": int(trainable),
        "macs": count_macs(model),
    }
