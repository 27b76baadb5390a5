"""Read a built Keras model into a chain of LayerSpec (duck-typed: keras is never imported here).

Re-exported by :mod:`kerasdil.receptive`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Tuple

from kerasdil import _compat
from kerasdil._receptive_core import LayerSpec, ReceptiveField, _as_spec, _axis_extent, _is_int, receptive_field

# Layers after which the output no longer has a spatial position of its own.
_GLOBAL_LAYERS = ("Flatten", "Dense", "EinsumDense")
# Input pixels one output pixel of an upsampling reads, per Keras interpolation
# ("area" upsampling by an integer factor copies one pixel, like nearest).
_INTERPOLATION_TAPS = {"nearest": 1, "area": 1, "bilinear": 2, "bicubic": 4, "lanczos3": 6, "lanczos5": 10}


def _spatial(value, layer) -> Tuple[int, int]:
    """Keras stores sizes as 1- or 2-tuples; map 1-D layers onto the rows axis."""
    if _is_int(value):
        return (int(value), int(value))
    value = tuple(value)
    if len(value) == 1:
        return (int(value[0]), 1)
    if len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ValueError(
        f"layers_from_model handles 1-D and 2-D layers only; layer {getattr(layer, 'name', layer)!r} "
        f"has a {len(value)}-D size {value!r}."
    )


def _upsampling(factors, taps):
    """LayerSpec of an upsampling by integer ``factors`` (h, w) reading ``taps`` pixels."""
    stride = tuple(Fraction(1, f) for f in factors)
    kernel = tuple(taps if f > 1 else 1 for f in factors)  # an axis with factor 1 is a plain copy
    return LayerSpec(kernel, stride)


def _resize_factors(layer):
    """Integer upsampling factors (h, w) of a Resizing layer, or None when not an integer upsampling."""
    try:
        shape = tuple(layer.input.shape)
    except (AttributeError, ValueError):
        return None
    if len(shape) != 4:
        return None
    h, w = (shape[2], shape[3]) if getattr(layer, "data_format", None) == "channels_first" else shape[1:3]
    if not (_is_int(h) and _is_int(w) and h > 0 and w > 0):
        return None
    out_h, out_w = layer.height, layer.width
    if out_h % h or out_w % w:
        return None
    return (out_h // h, out_w // w)


def _layer_specs(layer):
    """Specs of one leaf layer: (list of LayerSpec, stops_chain)."""
    name = type(layer).__name__
    if name.startswith("Global") or name in _GLOBAL_LAYERS:
        return [], True
    if name.startswith("UpSampling") and hasattr(layer, "size"):
        taps = _INTERPOLATION_TAPS.get(str(getattr(layer, "interpolation", "nearest")).lower())
        if taps is None:
            return [], True  # an interpolation this analysis does not know
        size = (layer.size,) if name == "UpSampling1D" and _is_int(layer.size) else layer.size  # 1-D: rows only
        return [_upsampling(_spatial(size, layer), taps)], False
    if name == "Resizing":
        taps = _INTERPOLATION_TAPS.get(str(getattr(layer, "interpolation", "")).lower())
        factors = _resize_factors(layer)
        if taps is None or factors is None:
            return [], True  # a non-integer or shrinking resize is not modelled
        return [_upsampling(factors, taps)], False
    if "Transpose" in name and hasattr(layer, "kernel_size") and hasattr(layer, "strides"):
        kernel = _spatial(layer.kernel_size, layer)
        strides = _spatial(layer.strides, layer)
        dilation = _spatial(getattr(layer, "dilation_rate", 1), layer)
        conv = LayerSpec(kernel, 1, dilation)
        if strides == (1, 1):
            return [conv], False  # a stride-1 transposed conv reads like a conv
        # Zero insertion, then a conv: modelled as nearest upsampling then the conv,
        # an upper bound (the inserted zeros read nothing).
        return [_upsampling(strides, 1), conv], False
    if hasattr(layer, "kernel_size") and hasattr(layer, "strides") and hasattr(layer, "dilation_rate"):
        return [
            LayerSpec(
                _spatial(layer.kernel_size, layer),
                _spatial(layer.strides, layer),
                _spatial(layer.dilation_rate, layer),
            )
        ], False
    if hasattr(layer, "pool_size") and hasattr(layer, "strides"):
        strides = layer.strides if layer.strides is not None else layer.pool_size
        return [LayerSpec(_spatial(layer.pool_size, layer), _spatial(strides, layer))], False
    return [], False


def _chain_extent(specs) -> int:
    """Area of the receptive field of a chain, cheaply (no coverage needed)."""
    area = 1
    for a in (0, 1):
        area *= _axis_extent([s.kernel[a] for s in specs], [s.stride[a] for s in specs],
                             [s.dilation[a] for s in specs])
    return area


def _best(chains):
    """Among parent chains, the one to continue: spatial before stopped, then largest field."""
    return max(chains, key=lambda c: (not c[1], _chain_extent(c[0])))


def _walk(layer, depth=0):
    """(specs, stopped) for a layer, a composite layer or a model."""
    if depth > 100:
        raise ValueError("layers_from_model: layers are nested more than 100 deep.")
    custom = getattr(layer, "receptive_field_layers", None)
    if callable(custom):
        return [_as_spec(s) for s in custom()], False
    specs, stopped = _layer_specs(layer)
    if specs or stopped:
        return specs, stopped
    graph = _walk_graph(layer, depth)
    if graph is not None:
        return graph
    children = getattr(layer, "layers", None)
    if children is None and _compat.has_flatten_layers(layer):
        children = _compat.flatten_layers(layer, recursive=False)
    if not children:
        return [], False  # spatially neutral: BN, activation, dropout, add, concat, ...
    return _walk_sequence(children, depth)


def _walk_sequence(children, depth):
    specs = []
    for child in children:
        child_specs, stopped = _walk(child, depth + 1)
        specs.extend(child_specs)
        if stopped:
            return specs, True
    return specs, False


def _walk_graph(model, depth):
    """Longest chain through a functional graph, or None if ``model`` has none.

    At a merge (Add, Concatenate, Multiply...) the chain continues from the
    input with the largest receptive field, preferring inputs that still have
    spatial positions (so a squeeze-and-excitation side branch, which ends in
    global pooling, does not end the main chain). The layers after a merge
    see every input at the same resolution, so they widen every input's field
    alike, and the widest input gives the widest field at the output: the
    result is the maximum over all paths from the input to the output. (With
    upsampling inside a merged branch this holds up to the phase effects of
    interpolation, a few input pixels.) Uses Keras 3's functional graph
    (``_nodes_by_depth``, ``Node.parent_nodes``); if that is missing the caller
    falls back to walking ``model.layers`` in order.
    """
    by_depth = _compat.nodes_by_depth(model)
    outputs = getattr(model, "outputs", None)
    if not by_depth or not outputs:
        return None
    # Read the graph first, so that errors raised while reading the layers
    # themselves (below) are not mistaken for a missing graph.
    try:
        nodes = [  # deepest level first = closest to the inputs
            (id(node), node.operation, [id(p) for p in node.parent_nodes])
            for level in sorted(by_depth, reverse=True)
            for node in by_depth[level]
        ]
        ends = [id(_compat.output_node(tensor)) for tensor in outputs]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None
    chains = {}
    for node_id, operation, parent_ids in nodes:
        parents = [chains[p] for p in parent_ids if p in chains]
        specs, stopped = _best(parents) if parents else ([], False)
        if not stopped:
            own, own_stop = _walk(operation, depth + 1)
            specs, stopped = specs + own, own_stop
        chains[node_id] = (specs, stopped)
    if not all(end in chains for end in ends):
        return None
    return _best([chains[end] for end in ends])


def layers_from_model(model) -> list:
    """The chain of LayerSpec from the input of a built Keras model to its spatial output.

    Keras is not imported: layers are read by their attributes.

    * a layer with a ``receptive_field_layers()`` method (kerasdil's composite
      layers) contributes the LayerSpec list it returns;
    * a layer with ``kernel_size``, ``strides`` and ``dilation_rate``
      (Conv1D/2D, DepthwiseConv2D, SeparableConv2D) contributes one LayerSpec;
    * a pooling layer with ``pool_size`` and ``strides`` contributes one
      LayerSpec (pool size as kernel);
    * global pooling, Flatten and Dense end the spatial chain: the result is
      the field of the last spatial feature map before them;
    * upsampling is a fractional stride (see the module docstring):
      ``UpSampling1D/2D`` by ``u`` is ``LayerSpec(taps, Fraction(1, u))`` with
      2 taps for bilinear, 1 for nearest, 4 for bicubic (the input pixels one
      output pixel interpolates from); a ``Resizing`` to an integer multiple
      of its (static) input size likewise; a stride-1 ``Conv2DTranspose`` is a
      conv; a strided one is nearest upsampling then the conv, an upper
      bound. Other resizes end the chain;
    * every other layer (BatchNormalization, Activation, Add, Concatenate,
      Dropout, padding...) is spatially neutral;
    * nested models and layers are walked recursively. For a functional
      model with branches (skips, Add, Concatenate), the chain follows, at
      each merge, the input with the largest receptive field: the path with
      the largest field, which is the field of the model (a longest chain,
      not the union of all branches). Sequential and subclassed models are
      walked in layer order.

    1-D layers are mapped onto the rows axis (``(k, 1)``).

    Args:
        model: a built Keras model or layer.

    Returns:
        list of LayerSpec, input to output.

    Raises:
        ValueError: a layer has 3-D sizes, or ``receptive_field_layers()``
            returned something that is not a LayerSpec.

    Example:
        >>> import keras  # doctest: +SKIP
        >>> m = keras.Sequential([keras.Input((28, 28, 1)),
        ...                       keras.layers.Conv2D(8, 3, dilation_rate=2)])  # doctest: +SKIP
        >>> layers_from_model(m)  # doctest: +SKIP
        [LayerSpec(kernel=(3, 3), stride=(1, 1), dilation=(2, 2))]
    """
    specs, _ = _walk(model)
    return specs


def receptive_field_of_model(model) -> ReceptiveField:
    """Receptive field of one output unit of a built Keras model.

    Equivalent to ``receptive_field(layers_from_model(model))``; see
    :func:`layers_from_model` for how layers and branches are read.

    Args:
        model: a built Keras model.

    Returns:
        ReceptiveField.

    Raises:
        ValueError: as :func:`layers_from_model`.

    Example:
        >>> receptive_field_of_model(model).size  # doctest: +SKIP
        (17, 17)
    """
    return receptive_field(layers_from_model(model))
