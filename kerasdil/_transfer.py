"""Weight transfer between models by layer name: :func:`transfer_backbone` and its :class:`TransferReport`.

Public through :mod:`kerasdil.finetune`, which fine-tunes around it.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass
class TransferReport:
    """What :func:`transfer_backbone` did.

    Attributes:
        layers: names of the top-level layers whose weights were copied.
        adapted: variable paths copied with their input channels adapted (1 -> C).
        new_head: head layers left at their fresh values (another class count).
        copied: variable paths copied (``stage1/block2/depthwise/kernel``, ...).
        target_not_copied: target variables left as they were (layers the
            source does not have: ASPP, decoder, head, deeper stages).
        source_not_used: source variables with no counterpart in the target
            (e.g. the classifier head).
    """

    layers: list
    copied: list
    target_not_copied: list
    source_not_used: list
    adapted: list = dataclasses.field(default_factory=list)
    new_head: list = dataclasses.field(default_factory=list)

    def summary(self):
        """Several lines for a log."""
        lines = [
            f"copied {len(self.copied)} variables of {len(self.layers)} layers: {', '.join(self.layers)}",
            f"not copied (target keeps its initial values): {len(self.target_not_copied)} variables"
            + (f" in {', '.join(_top_names(self.target_not_copied))}" if self.target_not_copied else ""),
            f"not used from the source: {len(self.source_not_used)} variables"
            + (f" in {', '.join(_top_names(self.source_not_used))}" if self.source_not_used else ""),
        ]
        if self.adapted:
            lines.append(f"adapted to the input channels (grayscale kernel replicated and scaled): {', '.join(self.adapted)}")
        if self.new_head:
            lines.append(f"new head for the target's classes (fresh values): {', '.join(self.new_head)}")
        return "\n".join(lines)

    __str__ = summary

    def as_dict(self):
        """JSON-friendly dict."""
        return dataclasses.asdict(self)


def _top_names(paths):
    seen = []
    for p in paths:
        top = p.split("/", 1)[0]
        if top not in seen:
            seen.append(top)
    return seen


def _layer_variables(layer):
    """{path relative to the layer: variable}, so a Sequential model's name prefix
    (``keras_io_convnet/classifier/kernel``) does not hide a match."""
    prefix = (getattr(layer, "path", None) or layer.name) + "/"
    out = {}
    for v in layer.weights:
        rel = v.path[len(prefix):] if v.path.startswith(prefix) else v.path.split(layer.name + "/", 1)[-1]
        out[rel] = v
    return out


def transfer_backbone(source_model, target_model, *, layers=None, adapt_input_channels=False, head_layers=(),
                      fresh_head=False):
    """Copy weights from ``source_model`` into ``target_model`` by layer name and shape.

    Every top-level layer of the target whose name is also a layer of the
    source (or only those named in ``layers``) gets all its variables (kernels
    and BatchNormalization statistics) from the source. Variables are matched by
    their path (``stage1/block2/depthwise/kernel``). A Dense kernel ``(in, out)``
    fills a 1x1 Conv2D kernel ``(1, 1, in, out)`` of the same name (FCN's
    convolutionalisation: the classifier applied at every position). All or
    nothing: if any shared layer differs in structure or shape, nothing is copied.

    Args:
        source_model: a pretrained Keras model, or a zoo name with a tag such as
            ``"mnist_dsdc:mnist"``.
        target_model: the Keras model to receive the weights.
        layers: names of the layers to copy; default every layer the two models
            share by name.
        adapt_input_channels: when the models take different input channel counts,
            adapt every kernel whose input holds the image's channels: the first conv
            (1 -> C replicates the grayscale kernel over the C channels divided by C, so
            an RGB image whose channels hold the gray values gives the grayscale model's
            activations; C -> 1 sums it) and a decoder's image skip (the layer after a
            concatenation of features and the image, e.g. deeplab_aspp's ``refine_conv``).
        head_layers: names of head layers that are left out (fresh values in the
            target, listed in ``new_head``) when their shapes differ, e.g.
            ``HEAD_LAYER_NAMES`` when the target has other classes.
        fresh_head: leave every layer of ``head_layers`` at its fresh values even when its
            shape fits (the target's classes are other classes, e.g. other class names).

    Returns:
        :class:`TransferReport`.

    Raises:
        ValueError: the models share no layer with weights (or a name in
            ``layers`` is missing from either model), or a shared layer's
            variables differ in name or shape (e.g. another ``width`` or a 3-channel
            input): the message names the variable and both shapes.

    Example:
        >>> report = transfer_backbone("mnist_dsdc:mnist_w18", deeplab_aspp())
        >>> report.layers
        ['stem', 'stage1', 'stage2', 'classifier']
    """
    from kerasdil.saving import resolve_model

    source = resolve_model(source_model, "source_model", expect_trained=True)
    target = resolve_model(target_model, "target_model")
    source_layers, target_layers, names = _shared_layers(source, target, layers)
    from kerasdil._channels import image_channel_offsets

    source_channels, target_channels = source.input_shape[-1], target.input_shape[-1]
    adapt = adapt_input_channels and source_channels and target_channels and source_channels != target_channels
    skips = image_channel_offsets(target) if adapt else {}
    plan, adapted, new_head = [], [], []
    if fresh_head:
        new_head = [n for n in names if n in head_layers]
        names = [n for n in names if n not in head_layers]
    for n in names:
        src_vars = _layer_variables(source_layers[n])
        dst_vars = _layer_variables(target_layers[n])
        if set(src_vars) != set(dst_vars):
            only_src = sorted(set(src_vars) - set(dst_vars))
            only_dst = sorted(set(dst_vars) - set(src_vars))
            first = f"{n}/{(only_dst or only_src)[0]}"
            raise ValueError(
                f"transfer_backbone: layer {n!r} differs in structure between {source.name!r} and "
                f"{target.name!r} ({first} is in only one of them); nothing was copied."
            )
        layer_plan, layer_adapted = [], []
        for rel, dst in dst_vars.items():
            src = src_vars[rel]
            path = f"{n}/{rel}"
            value = np.asarray(src.numpy())
            if value.ndim == 2 and tuple(dst.shape) == (1, 1, *value.shape):
                value = value.reshape(dst.shape)  # a Dense kernel becomes a 1x1 conv (FCN)
            if tuple(value.shape) != tuple(dst.shape) and adapt and rel.endswith("kernel"):
                changed = _adapted_kernel(value, tuple(dst.shape), rel, skips.get(n), int(source_channels),
                                          int(target_channels))
                if changed is not None:
                    value = changed
                    layer_adapted.append(path)
            if tuple(value.shape) != tuple(dst.shape):
                if n in head_layers:
                    layer_plan = None  # another class count: the head starts afresh
                    break
                raise ValueError(
                    f"transfer_backbone: {path} has shape {tuple(src.shape)} in {source.name!r} but "
                    f"{tuple(dst.shape)} in {target.name!r} (another width or input channel count?); "
                    "nothing was copied."
                )
            layer_plan.append((dst, value))
        if layer_plan is None:
            new_head.append(n)
            continue
        plan += layer_plan
        adapted += layer_adapted
    names = [n for n in names if n not in new_head]
    if not names:
        raise ValueError(
            f"transfer_backbone: source model {source.name!r} and target model {target.name!r} share only "
            f"their heads ({', '.join(new_head)}), which start afresh; nothing to transfer."
        )
    for dst, value in plan:
        dst.assign(value.astype(dst.dtype))
    copied = [dst.path for dst, _ in plan]
    copied_set = set(copied)
    return TransferReport(
        layers=names,
        copied=copied,
        target_not_copied=[v.path for v in target.weights if v.path not in copied_set],
        source_not_used=[v.path for v in source.weights if v.path not in copied_set],
        adapted=adapted,
        new_head=new_head,
    )


def _adapted_kernel(value, shape, rel, skip_offset, source_channels, target_channels):
    """``value`` (a kernel of the source) for the target's input channels, or None when it cannot be.

    A layer after a decoder's image skip (``skip_offset``: where the image's channels start in
    its input) has its image rows adapted; otherwise a first conv's kernel (not a depthwise one).
    """
    from kerasdil._channels import adapt_image_skip
    from kerasdil.zoo.weights_io import _adapt_input_channels

    if skip_offset is not None:  # the image joins other channels (a decoder's image skip)
        return adapt_image_skip(value, shape, skip_offset, source_channels, target_channels,
                                depthwise="depthwise" in rel)
    if "depthwise" not in rel:
        return _adapt_input_channels(value, shape, source_channels, target_channels)
    return None


def _shared_layers(source, target, layers):
    """``(source layers, target layers, names to copy)``: layers with weights by name, checked.

    Raises:
        ValueError: a name of ``layers`` missing from either model, or no shared layer.
    """
    source_layers = {layer.name: layer for layer in source.layers if layer.weights}
    target_layers = {layer.name: layer for layer in target.layers if layer.weights}
    if layers is None:
        names = [n for n in target_layers if n in source_layers]
    else:
        if isinstance(layers, str):
            layers = [layers]
        names = list(layers)
        for n in names:
            for model, table in ((source, source_layers), (target, target_layers)):
                if n not in table:
                    raise ValueError(
                        f"transfer_backbone: layer {n!r} is not a layer with weights of model {model.name!r} "
                        f"(it has: {', '.join(table) or 'none'})."
                    )
    if not names:
        raise ValueError(
            f"transfer_backbone: source model {source.name!r} and target model {target.name!r} share no layer "
            f"with weights by name (source: {', '.join(source_layers) or 'none'}; "
            f"target: {', '.join(target_layers) or 'none'}); nothing to transfer."
        )
    return source_layers, target_layers, names
