"""keras.applications backbones dilated to an output stride, for the segmenters.

DeepLab's trade of stride for dilation, applied to any functional Keras model:
:func:`dilate_backbone` rebuilds the model from its config with every strided
conv or pooling layer past the requested ``output_stride`` set to stride 1 and
every later 3x3 / depthwise conv given the dilation that the dropped strides
would have spanned, then copies the weights over (stride and dilation change no
weight shape, so ImageNet weights carry over as they are). keras-hub's
DeepLabV3 instead runs its ASPP on the undilated stride-32 map.

Named backbones (:data:`KERAS_BACKBONES`): "mobilenet_v2", "mobilenet_v3_small",
"mobilenet_v3_large", "resnet50_v2" and "efficientnet_b0", each with the
layer that gives the decoder its stride-4 (low-level) features and the input
scaling its ImageNet weights expect.

Any other Keras backbone plugs in two ways:

- a functional ``keras.Model`` (``keras.applications.ConvNeXtTiny(...)``, your
  own), with ``feature_layers={4: "low_level_layer", 32: "last_layer"}`` naming
  a layer per natural stride (the largest key feeds the ASPP, the smallest the
  decoder; default: the model's output and the last layer at stride 4). Its
  strides are traded for dilation as for the named backbones;
- a function ``backbone(image) -> {stride: tensor}`` that builds the feature
  maps itself, already at the output stride asked for (no trade is made; the
  strides are checked against the tensors' sizes).

Example:
    >>> from kerasdil.backbones import dilate_backbone, keras_backbone
    >>> net = keras_backbone("mobilenet_v3_small", (64, 80, 1))
    >>> dilated = dilate_backbone(net, output_stride=8)
    >>> dilated.output_shape
    (None, 8, 10, 576)
"""

import dataclasses



@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A keras.applications backbone as the segmenter uses it.

    Attributes:
        application: name of the ``keras.applications`` builder.
        low_level_layer: the layer whose output (at stride 4) feeds the decoder.
        input_scale, input_offset: inputs in [0, 1] become ``x * scale + offset``,
            the range the application's ImageNet weights were trained on.
        kwargs: extra builder arguments.
    """

    application: str
    low_level_layer: str
    input_scale: float
    input_offset: float
    kwargs: tuple = ()


#: Named keras.applications backbones. MobileNetV3's own preprocessing layer is
#: left out (include_preprocessing=False): the segmenter scales its [0, 1] input itself.
KERAS_BACKBONES = {
    "mobilenet_v2": BackboneSpec("MobileNetV2", "block_2_add", 2.0, -1.0),
    "mobilenet_v3_small": BackboneSpec("MobileNetV3Small", "expanded_conv_project_bn", 2.0, -1.0,
                                       (("include_preprocessing", False),)),
    "mobilenet_v3_large": BackboneSpec("MobileNetV3Large", "expanded_conv_2_add", 2.0, -1.0,
                                       (("include_preprocessing", False),)),
    "resnet50_v2": BackboneSpec("ResNet50V2", "conv2_block2_out", 2.0, -1.0),
    # EfficientNet rescales and normalises inside the model; it expects 0..255.
    "efficientnet_b0": BackboneSpec("EfficientNetB0", "block2b_add", 255.0, 0.0),
}

_CONV = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
_UPSAMPLING = ("Conv2DTranspose", "UpSampling2D", "Resizing")


def backbone_names():
    """The names ``deeplab_aspp(backbone=...)`` accepts besides "dsdc", sorted."""
    return tuple(sorted(KERAS_BACKBONES))


def keras_backbone(name, input_shape, weights=None):
    """The keras.applications backbone ``name`` without its classifier, at ``input_shape``.

    Args:
        name: one of :func:`backbone_names`.
        input_shape: (H, W, C). With ``weights=None`` any channel count works
            (the first conv takes C channels); ImageNet weights need C = 3.
        weights: None (random initialisation), "imagenet" (keras.applications
            downloads the file on first use) or the path of a weights file for
            that application.

    Returns:
        The application's ``keras.Model`` (``include_top=False``), undilated.

    Raises:
        ValueError: an unknown name, or ImageNet weights with C != 3.

    Example:
        >>> keras_backbone("mobilenet_v2", (64, 80, 1)).output_shape
        (None, 2, 3, 1280)
    """
    import keras

    if name not in KERAS_BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(backbone_names())}.")
    if weights == "imagenet" and input_shape[-1] != 3:
        raise ValueError(f"backbone {name!r}: ImageNet weights take 3 input channels, got input_shape {tuple(input_shape)}.")
    spec = KERAS_BACKBONES[name]
    builder = getattr(keras.applications, spec.application)
    return builder(input_shape=tuple(input_shape), include_top=False, weights=weights, **dict(spec.kwargs))


# ------------------------------------------------------------------ the graph


def _parents(layer):
    """Layers feeding ``layer``'s (single) call in its model."""
    nodes = layer._inbound_nodes
    if len(nodes) > 1:
        raise ValueError(
            f"cannot trade strides for dilation: layer {layer.name!r} is called {len(nodes)} times in the "
            "backbone; a shared layer would need two different dilations."
        )
    return [p.operation for p in nodes[0].parent_nodes] if nodes else []


def _topological(model):
    """The model's layers, every layer after the layers feeding it."""
    order, seen = [], set()
    for output in model.outputs:
        stack = [(output._keras_history.operation, False)]
        while stack:
            layer, done = stack.pop()
            if done:
                order.append(layer)
                continue
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            stack.append((layer, True))
            stack.extend((p, False) for p in reversed(_parents(layer)) if id(p) not in seen)
    return order


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _layer_stride(layer):
    """The factor by which ``layer`` divides the spatial size (1 for most layers)."""
    kind = type(layer).__name__
    if kind in _UPSAMPLING:
        raise ValueError(
            f"cannot trade strides for dilation: the backbone upsamples at layer {layer.name!r} ({kind}); "
            "pass a function returning {stride: tensor} instead."
        )
    strides = getattr(layer, "strides", None)
    if strides is None or not (hasattr(layer, "kernel_size") or hasattr(layer, "pool_size")):
        return 1
    s = _pair(strides)
    if len(s) != 2 or s[0] != s[1]:
        raise ValueError(f"cannot trade strides for dilation: layer {layer.name!r} has strides {s}, not one "
                         "stride for both image axes.")
    return int(s[0])


def _functional(model):
    """``model`` as a functional model with one input, or a clear ValueError."""
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(
            f"a backbone must be a functional keras.Model or a function returning {{stride: tensor}}, "
            f"got {type(model).__name__}."
        )
    try:
        inputs, outputs = model.inputs, model.outputs
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not inputs or not outputs:
        raise ValueError(
            f"backbone {model.name!r} is not a functional keras.Model (it has no symbolic inputs and outputs); "
            "build it with keras.Input, or pass a function returning {stride: tensor}."
        )
    if len(inputs) != 1:
        raise ValueError(f"backbone {model.name!r} has {len(inputs)} inputs; a backbone takes one image.")
    if isinstance(model, keras.Sequential):
        # The same layers as a functional graph, whose config names every layer's inputs.
        model = keras.Model(inputs, outputs, name=model.name)
    return model


def natural_strides(model):
    """``{layer name: stride}`` of the backbone as built: input size / the layer's output size.

    Derived from the layers' strides (conv and pooling), not from tensor sizes, so
    "valid" padding does not blur it.

    Raises:
        ValueError: the model is not functional or upsamples somewhere.

    Example:
        >>> natural_strides(keras_backbone("mobilenet_v2", (64, 80, 1)))["block_2_add"]
        4
    """
    model = _functional(model)
    stride = {}
    for layer in _topological(model):
        parents = _parents(layer)
        s_in = max((stride[p.name] for p in parents), default=1)
        stride[layer.name] = s_in * _layer_stride(layer)
    return stride


def _plan(model, output_stride, multi_grid):
    """Per layer: (new strides, new dilation) for the layers the trade changes."""
    stride, dilation, plan, dilated = {}, {}, {}, []
    for layer in _topological(model):
        parents = _parents(layer)
        s_in = max((stride[p.name] for p in parents), default=1)
        d_in = max((dilation[p.name] for p in parents), default=1)
        s = _layer_stride(layer)
        kernel = _pair(getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None) or 1)
        is_conv = type(layer).__name__ in _CONV or hasattr(layer, "dilation_rate")
        if s > 1 and s_in * s > output_stride:
            # Past the output stride: stride 1, this conv at the current rate, later ones at rate x s (DeepLab).
            plan[layer.name] = {"strides": 1, "dilation": d_in if is_conv else None, "traded": True}
            stride[layer.name], dilation[layer.name] = s_in, d_in * s
        else:
            stride[layer.name], dilation[layer.name] = s_in * s, d_in
            if is_conv and d_in > 1 and max(kernel) > 1:
                plan[layer.name] = {"strides": None, "dilation": d_in, "traded": False}
                dilated.append(layer.name)
    if multi_grid and dilated:
        # Multi-grid (DeepLabV3): the convs after the last trade cycle through rate * multi_grid.
        final = max(plan[n]["dilation"] for n in dilated)
        last = [n for n in dilated if plan[n]["dilation"] == final]
        for i, n in enumerate(last):
            plan[n]["dilation"] = final * multi_grid[i % len(multi_grid)]
    return plan, stride


def _replace_history(node, old, new):
    """``node`` (a config's inbound structure) with keras_history entries of layer ``old`` -> ``new``."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "keras_history" and isinstance(v, (list, tuple)) and v and v[0] == old:
                out[k] = list(new)
            else:
                out[k] = _replace_history(v, old, new)
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_history(v, old, new) for v in node)
    return node


def _history_of(layer_config):
    """The keras_history of the single input of a one-input layer's config."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "keras_history" in node:
                found.append(list(node["keras_history"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(layer_config.get("inbound_nodes", []))
    return found[0] if len(found) == 1 else None


def dilate_backbone(model, output_stride, *, multi_grid=None, input_shape=None, name=None):
    """``model`` with its strides past ``output_stride`` traded for dilation, weights copied.

    Every conv or pooling layer whose stride would take the feature map past
    ``output_stride`` gets stride 1; the conv itself keeps the current rate and
    every later conv with a kernel > 1 gets the rate multiplied by the dropped
    stride (DeepLab). A ``ZeroPadding2D`` that sized the input of a changed
    "valid" conv for its old stride is removed and that conv pads "same", so
    the feature map stays ``input / output_stride`` and TFLite sees one native
    dilated conv per layer. No weight changes shape, so ``model``'s weights
    (ImageNet or trained) are copied as they are.

    Args:
        model: a functional ``keras.Model`` with one image input.
        output_stride: the stride to stop at; one of the strides the model
            passes through (see :func:`natural_strides`).
        multi_grid: optional rates (e.g. (1, 2, 4)) that multiply the dilation
            of the convs after the last trade in turn (DeepLabV3's multi-grid).
        input_shape: rebuild at this (H, W, C) instead of the model's input
            size (same C; the weights do not depend on H and W).
        name: name of the new model (default: the model's).

    Returns:
        A new ``keras.Model`` with the same layer names; the model's output at
        stride ``min(output_stride, natural stride)``.

    Raises:
        ValueError: an output stride the model cannot give, a model that is not
            functional, upsamples, or shares a layer between calls.

    Example:
        >>> import keras
        >>> net = keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False, weights=None)
        >>> dilate_backbone(net, 16).output_shape
        (None, 4, 4, 1280)
    """
    import keras

    model = _functional(model)
    strides = natural_strides(model)
    reachable = sorted(set(strides.values()))
    if isinstance(output_stride, bool) or not isinstance(output_stride, int) or output_stride not in reachable:
        raise ValueError(
            f"backbone {model.name!r} cannot give output stride {output_stride!r}: its feature maps come at strides "
            f"{', '.join(map(str, reachable))}."
        )
    if multi_grid is not None:
        if isinstance(multi_grid, (str, bytes)) or not hasattr(multi_grid, "__len__") or not len(multi_grid) or any(
                isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in multi_grid):
            raise ValueError(f"`multi_grid` must be a sequence of positive ints such as (1, 2, 4), got {multi_grid!r}.")
    plan, _ = _plan(model, output_stride, tuple(multi_grid) if multi_grid else None)
    config = model.get_config()
    by_name = {c["name"]: c for c in config["layers"]}
    consumers = {}
    for layer in model.layers:
        for p in (_parents(layer) if layer._inbound_nodes else []):
            consumers.setdefault(p.name, []).append(layer.name)
    drop = {}
    for layer_name, change in plan.items():
        cfg = by_name[layer_name]["config"]
        if change["strides"] is not None:
            cfg["strides"] = (1, 1)
        if change["dilation"] is not None and "dilation_rate" in cfg:
            cfg["dilation_rate"] = (change["dilation"], change["dilation"])
        if cfg.get("padding") == "valid" and max(_pair(cfg.get("kernel_size") or cfg.get("pool_size") or 1)) > 1:
            # A ZeroPadding2D in front sized the input for the old stride; "same" replaces it.
            cfg["padding"] = "same"
            parent = _history_of(by_name[layer_name])
            if parent is not None and by_name[parent[0]]["class_name"] == "ZeroPadding2D" \
                    and consumers.get(parent[0]) == [layer_name]:
                drop[parent[0]] = _history_of(by_name[parent[0]])
    for pad, source in drop.items():
        for c in config["layers"]:
            c["inbound_nodes"] = _replace_history(c.get("inbound_nodes", []), pad, source)
    config["layers"] = [c for c in config["layers"] if c["name"] not in drop]
    if input_shape is not None:
        for c in config["layers"]:
            if c["class_name"] == "InputLayer":
                old = c["config"].get("batch_shape") or c["config"].get("batch_input_shape")
                if old is not None and old[-1] is not None and old[-1] != input_shape[-1]:
                    raise ValueError(
                        f"backbone {model.name!r} takes {old[-1]} input channels, not {input_shape[-1]}."
                    )
                c["config"]["batch_shape"] = (None, *input_shape)
                c["config"].pop("batch_input_shape", None)
    if name is not None:
        config["name"] = name
    try:
        new = keras.Model.from_config(config)
    except Exception as e:  # a custom layer that is not registered, a shape that no longer fits
        raise ValueError(
            f"cannot rebuild backbone {model.name!r} with strides traded for dilation: {type(e).__name__}: {e}"
        ) from None
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            new.get_layer(layer.name).set_weights(weights)
    return new


# ------------------------------------------------------------------ segmenter features


def _feature_layers(feature_layers, where):
    """``feature_layers`` as ``{stride: layer name}`` with int keys (JSON gives strings)."""
    if feature_layers is None:
        return {}
    if not isinstance(feature_layers, dict) or not feature_layers:
        raise ValueError(f"{where}: `feature_layers` must map strides to layer names, such as "
                         f"{{4: 'block_2_add', 32: 'out_relu'}}, got {feature_layers!r}.")
    out = {}
    for key, layer in feature_layers.items():
        try:
            stride = int(key)
        except (TypeError, ValueError):
            stride = 0
        if isinstance(key, bool) or stride < 1 or str(stride) != str(key).strip() or not isinstance(layer, str):
            raise ValueError(f"{where}: `feature_layers` must map strides (ints) to layer names, got {key!r}: {layer!r}.")
        out[stride] = layer
    return out


def _check_size(where, what, tensor, input_shape, stride):
    expected = (input_shape[0] // stride, input_shape[1] // stride)
    got = tuple(tensor.shape[1:3])
    if got != expected:
        raise ValueError(
            f"{where}: {what} is {got[0]}x{got[1]}, not {expected[0]}x{expected[1]} (input / stride {stride}); "
            "the backbone must keep sizes exact ('same' padding)."
        )


def segmenter_features(backbone, image, output_stride, *, decoder=True, feature_layers=None, weights=None,
                       multi_grid=None, where="deeplab_aspp"):
    """The low-level and ASPP feature maps of ``backbone`` on the symbolic ``image``.

    Builds the backbone for ``image``'s size, trades its strides past
    ``output_stride`` for dilation, and returns the stride-4 (low-level) and
    stride-``output_stride`` maps that a DeepLabV3+ head takes. A named or
    ``keras.Model`` backbone becomes one nested layer called "backbone"
    (``model.get_layer("backbone").trainable = False`` freezes it).

    Channels: a backbone with ImageNet weights (or any backbone built for 3
    channels) takes a 1-channel image repeated to 3 channels (grey R = G = B,
    what the weights saw for grey pixels; layer "gray_to_rgb", no weights);
    with ``weights=None`` a named backbone is built for the image's own channel
    count. Inputs in [0, 1] are scaled to the range the named backbone's
    weights expect (layer "backbone_preprocess"); a ``keras.Model`` backbone
    gets the image as it is.

    Args:
        backbone: a name from :func:`backbone_names`, a functional ``keras.Model``
            or a function ``image -> {stride: tensor}``.
        image: the segmenter's ``keras.Input``, (H, W, C).
        output_stride: stride of the map that feeds the ASPP.
        decoder: whether a low-level map is needed.
        feature_layers: ``{stride: layer name}`` at the backbone's natural
            strides: the largest feeds the ASPP (default the backbone's output),
            the smallest the decoder (default: the named backbone's low-level
            layer, else the last layer at stride 4). A single entry below
            ``output_stride`` names the low-level layer only.
        weights: for a named backbone: None, "imagenet" or a weights file for
            that keras.applications model.
        multi_grid: see :func:`dilate_backbone`.
        where: the name that starts error messages.

    Returns:
        ``(low_level, low_level_stride, aspp_input, description)``; ``low_level``
        is None when ``decoder`` is False.

    Raises:
        ValueError: an unknown name, an output stride the backbone cannot give,
            feature layers that do not exist or sit at another stride, channels
            the backbone cannot take.
    """
    import keras

    h, w, channels = (int(s) for s in image.shape[1:])
    if callable(backbone) and not isinstance(backbone, keras.Model):
        return _function_features(backbone, image, output_stride, decoder, where)
    net, net_channels, default_low, label, scale = _resolve(backbone, (h, w, channels), weights, where)
    strides = natural_strides(net)
    chosen = _feature_layers(feature_layers, where)
    for stride, layer in chosen.items():
        if layer not in strides:
            raise ValueError(f"{where}: `feature_layers` names layer {layer!r}, which backbone {label} does not have.")
        if strides[layer] != stride:
            raise ValueError(f"{where}: `feature_layers` puts layer {layer!r} at stride {stride}, but in backbone {label} "
                             f"it is at stride {strides[layer]}.")
    keys = sorted(chosen)
    high_name = net.outputs[0]._keras_history.operation.name
    low_name = default_low
    if len(keys) > 1 or (keys and keys[0] >= output_stride):
        high_name = chosen[keys[-1]]
    if len(keys) > 1 or (keys and keys[0] < output_stride):
        low_name = chosen[keys[0]]
    reachable = sorted({s for s in strides.values() if 1 < s <= strides[high_name]})
    if output_stride not in reachable:
        raise ValueError(f"{where}: backbone {label} cannot give output stride {output_stride!r}: its feature maps "
                         f"come at strides {', '.join(map(str, reachable))}.")
    if not decoder:
        low_name = None
    elif low_name is None:
        wanted = min(4, output_stride)
        at = [layer.name for layer in _topological(net) if strides[layer.name] == wanted]
        if not at:
            raise ValueError(f"{where}: backbone {label} has no layer at stride {wanted} for the decoder; "
                             "name one in `feature_layers` or use decoder=False.")
        low_name = at[-1]
    low_stride = strides[low_name] if low_name else None
    if low_stride is not None and low_stride > output_stride:
        raise ValueError(f"{where}: the decoder's low-level features (layer {low_name!r}, stride {low_stride}) must not be "
                         f"coarser than output stride {output_stride}; choose output_stride >= {low_stride} or decoder=False.")

    dilated = dilate_backbone(net, output_stride, multi_grid=multi_grid, input_shape=(h, w, net_channels), name="backbone")
    outputs = [dilated.get_layer(low_name).output] if low_name else []
    outputs.append(dilated.get_layer(high_name).output)
    features = keras.Model(dilated.inputs[0], outputs, name="backbone")
    x = image
    if net_channels == 3 and channels == 1:
        x = keras.layers.Concatenate(name="gray_to_rgb")([x, x, x])
    if scale is not None:
        x = keras.layers.Rescaling(scale[0], scale[1], name="backbone_preprocess")(x)
    maps = features(x)
    maps = maps if isinstance(maps, (list, tuple)) else [maps]
    low, high = (maps[0], maps[-1]) if low_name else (None, maps[-1])
    _check_size(where, f"backbone layer {high_name!r}", high, (h, w), output_stride)
    if low is not None:
        _check_size(where, f"backbone layer {low_name!r}", low, (h, w), low_stride)
    description = {"backbone": label, "aspp_input": high_name, "low_level": low_name, "low_level_stride": low_stride}
    return low, low_stride, high, description


def _resolve(backbone, input_shape, weights, where):
    """A named or keras.Model backbone as ``(net, its channels, default low-level layer, label, input scaling)``."""
    import keras

    h, w, channels = input_shape
    if isinstance(backbone, str):
        if backbone not in KERAS_BACKBONES:
            raise ValueError(f"{where}: unknown backbone {backbone!r}; choose from dsdc, {', '.join(backbone_names())}, "
                             "or pass a keras.Model or a function returning {stride: tensor}.")
        if weights is not None and channels not in (1, 3):
            raise ValueError(f"{where}: backbone_weights={weights!r} takes 1 (repeated) or 3 input channels, got {channels}; "
                             "use backbone_weights=None to train the backbone on this data.")
        spec = KERAS_BACKBONES[backbone]
        net_channels = channels if weights is None else 3
        net = keras_backbone(backbone, (h, w, net_channels), weights=weights)
        default_low = spec.low_level_layer
        label = repr(backbone)
        scale = (spec.input_scale, spec.input_offset)
    elif isinstance(backbone, keras.Model):
        if weights is not None:
            raise ValueError(f"{where}: backbone_weights applies to named backbones; a keras.Model backbone brings "
                             "its own weights.")
        net = _functional(backbone)
        net_channels = net.inputs[0].shape[-1]
        default_low = None
        label = f"keras.Model {net.name!r}"
        scale = None
    else:
        raise ValueError(f"{where}: `backbone` must be a name ({', '.join(('dsdc',) + backbone_names())}), a keras.Model "
                         f"or a function returning {{stride: tensor}}, got {type(backbone).__name__}.")
    if net_channels is not None and net_channels != channels and not (channels == 1 and net_channels == 3):
        raise ValueError(f"{where}: backbone {label} takes {net_channels} input channels but the images have {channels}.")

    return net, net_channels, default_low, label, scale


def _function_features(fn, image, output_stride, decoder, where):
    """Feature maps from a user's function ``image -> {stride: tensor}``."""
    label = getattr(fn, "__name__", type(fn).__name__)
    maps = fn(image)
    if not isinstance(maps, dict) or not maps:
        raise ValueError(f"{where}: backbone function {label!r} must return {{stride: tensor}}, got {type(maps).__name__}.")
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in maps):
        raise ValueError(f"{where}: backbone function {label!r} must return {{stride: tensor}} with positive int "
                         f"strides, got keys {sorted(map(repr, maps))}.")
    h, w = (int(s) for s in image.shape[1:3])
    for stride, tensor in maps.items():
        _check_size(where, f"the map returned for stride {stride} by {label!r}", tensor, (h, w), stride)
    deepest = max(maps)
    if deepest != output_stride:
        raise ValueError(f"{where}: backbone function {label!r} gives its deepest map at stride {deepest}, "
                         f"but output_stride is {output_stride}; build it for that stride or change output_stride.")
    low_stride = min(maps)
    if decoder and low_stride == deepest:
        raise ValueError(f"{where}: the decoder needs a low-level map too: return two strides from {label!r} "
                         "(e.g. {4: ..., 16: ...}) or use decoder=False.")
    low = maps[low_stride] if decoder else None
    description = {"backbone": f"function {label!r}", "aspp_input": f"stride {deepest}",
                   "low_level": f"stride {low_stride}" if decoder else None, "low_level_stride": low_stride}
    return low, low_stride, maps[deepest], description
