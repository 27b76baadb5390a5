"""Fine-tuning: backbone transfer, freezing, head swap, and the two-phase recipe.

- :func:`transfer_backbone` copies the weights of every layer that a pretrained
  source model and a target model share by name (and shape), e.g. the ``stem``,
  ``stage1`` and ``stage2`` of ``mnist_dsdc`` into ``deeplab_aspp``.
- :func:`freeze_backbone`, :func:`unfreeze` and :func:`replace_head` prepare a
  model for fine-tuning.
- :func:`finetune` is the recipe: backbone from a pretrained classifier, the
  new layers trained with the backbone frozen, then every layer at a lower
  learning rate; resumable, with the artifacts ``kerasdil.train.train`` writes.

Example:
    >>> from kerasdil.zoo import deeplab_aspp, mnist_dsdc
    >>> from kerasdil.finetune import transfer_backbone, freeze_backbone
    >>> segmenter = deeplab_aspp()
    >>> report = transfer_backbone(mnist_dsdc(weights="mnist"), segmenter)
    >>> print(report)        # what was copied, what was not
    >>> freeze_backbone(segmenter)
"""

import dataclasses
import json
import os
import time
import types

import numpy as np

from kerasdil.zoo import registry as _zoo_registry
from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES  # layer names (prefixes) of a kerasdil backbone
from kerasdil.zoo.record import DEFAULT_FINETUNING_RECIPE as DEFAULT_FINETUNE_RECIPE

#: Names of head layers, tried in this order by :func:`replace_head`.
HEAD_LAYER_NAMES = ("logits", "classifier")


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


def transfer_backbone(source_model, target_model, *, layers=None, adapt_input_channels=False, head_layers=()):
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
            adapt the first conv kernel: 1 -> C replicates the grayscale kernel over
            the C channels divided by C (an RGB image whose channels hold the gray
            values gives the grayscale model's activations); C -> 1 sums it.
        head_layers: names of head layers that are left out (fresh values in the
            target, listed in ``new_head``) when their shapes differ, e.g.
            ``HEAD_LAYER_NAMES`` when the target has other classes.

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
    from kerasdil.zoo.weights_io import _adapt_input_channels

    source_channels, target_channels = source.input_shape[-1], target.input_shape[-1]
    adapt = adapt_input_channels and source_channels and target_channels and source_channels != target_channels
    plan, adapted, new_head = [], [], []
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
            if tuple(value.shape) != tuple(dst.shape) and adapt and rel.endswith("kernel") and "depthwise" not in rel:
                changed = _adapt_input_channels(value, tuple(dst.shape), int(source_channels), int(target_channels))
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


def backbone_layers(model, prefixes=BACKBONE_LAYER_PREFIXES):
    """Names of ``model``'s top-level layers that belong to the backbone (by name prefix)."""
    return [layer.name for layer in model.layers if layer.name.startswith(tuple(prefixes))]


def freeze_backbone(model, layers=None):
    """Make the backbone layers of ``model`` non-trainable.

    Frozen BatchNormalization layers run in inference mode (Keras 3), so the
    transferred statistics are kept. Recompile the model afterwards.

    Args:
        model: a Keras model.
        layers: names of the layers to freeze; default the backbone layers
            (names starting with "stem", "pool" or "stage").

    Returns:
        The list of frozen layer names.

    Raises:
        ValueError: no backbone layer found, or an unknown name in ``layers``.

    Example:
        >>> freeze_backbone(segmenter)
        ['stem', 'pool1', 'stage1', 'pool2', 'stage2', 'pool3', 'stage3', 'stage4']
    """
    names = backbone_layers(model) if layers is None else ([layers] if isinstance(layers, str) else list(layers))
    known = {layer.name: layer for layer in model.layers}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"freeze_backbone: model {model.name!r} has no layer {unknown[0]!r}.")
    if not any(known[n].weights for n in names):
        raise ValueError(
            f"freeze_backbone: model {model.name!r} has no backbone layers with weights (names starting with "
            f"{', '.join(BACKBONE_LAYER_PREFIXES)}); pass `layers=` to name them."
        )
    for n in names:
        known[n].trainable = False
    return names


def unfreeze(model, from_layer=None):
    """Make layers trainable again: all of them, or those from ``from_layer`` on.

    Layers are taken in ``model.layers`` order (input to output). Recompile the
    model afterwards, usually with a lower learning rate.

    Args:
        model: a Keras model.
        from_layer: name of the first layer to unfreeze; default the first layer.

    Returns:
        The list of layer names made trainable.

    Raises:
        ValueError: ``from_layer`` is not a layer of ``model``.

    Example:
        >>> unfreeze(segmenter, from_layer="stage2")   # stage2 and everything after it
    """
    names = [layer.name for layer in model.layers]
    start = 0
    if from_layer is not None:
        if from_layer not in names:
            raise ValueError(
                f"unfreeze: model {model.name!r} has no layer {from_layer!r} (layers: {', '.join(names)})."
            )
        start = names.index(from_layer)
    model.trainable = True  # a frozen model would keep every layer frozen
    unfrozen = []
    for layer in model.layers[start:]:
        layer.trainable = True
        unfrozen.append(layer.name)
    return unfrozen


def replace_head(model, num_classes, *, head=None):
    """A model with a new, freshly initialised head for ``num_classes`` classes.

    The head is the layer named ``head`` (default "logits", else "classifier");
    it is rebuilt with the same configuration but ``num_classes`` outputs, and
    the weight-free layers after it (e.g. deeplab_aspp's bilinear upsampling)
    are applied again. Every other layer (and its weights) is shared with
    ``model``.

    Args:
        model: a functional Keras model.
        num_classes: classes of the new head.
        head: name of the head layer.

    Returns:
        A new ``keras.Model`` with the same name.

    Raises:
        ValueError: no head layer, a head that is not a Dense or Conv layer, or
            layers with weights after the head.

    Example:
        >>> digits = replace_head(mnist_dsdc(weights="mnist"), 5)
    """
    import keras

    from kerasdil.zoo.model import ZooModel

    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"replace_head: `num_classes` must be a positive int, got {num_classes!r}.")
    names = [layer.name for layer in model.layers]
    if head is None:
        head = next((n for n in HEAD_LAYER_NAMES if n in names), None)
        if head is None:
            raise ValueError(
                f"replace_head: model {model.name!r} has no layer named {' or '.join(HEAD_LAYER_NAMES)}; pass `head=`."
            )
    elif head not in names:
        raise ValueError(f"replace_head: model {model.name!r} has no layer {head!r}.")
    old = model.get_layer(head)
    config = old.get_config()
    if isinstance(old, keras.layers.Dense):
        config["units"] = int(num_classes)
    elif isinstance(old, keras.layers.Conv2D) and type(old) is keras.layers.Conv2D:
        config["filters"] = int(num_classes)
    else:
        raise ValueError(f"replace_head: head {head!r} is a {type(old).__name__}; only Dense and Conv2D heads can be replaced.")
    new_head = type(old).from_config(config)
    x = new_head(old.input)
    tail = model.layers[names.index(head) + 1 :]
    previous = old
    for layer in tail:
        if layer.input is not previous.output:
            raise ValueError(
                f"replace_head: layer {layer.name!r} after the head {head!r} does not take the head's output "
                "alone; replace_head handles heads followed only by a chain of weight-free layers."
            )
        if layer.weights:
            raise ValueError(f"replace_head: layer {layer.name!r} after the head {head!r} has weights; cannot rebuild it.")
        x = layer(x)
        previous = layer
    if previous.output is not model.outputs[0]:
        raise ValueError(f"replace_head: the head {head!r} does not lead to the model's output.")
    # A zoo model stays a ZooModel (eager inference as one graph function).
    cls = ZooModel if isinstance(model, ZooModel) else keras.Model
    return cls(model.inputs, x, name=model.name)


# ---------------------------------------------------------------------- recipe

#: Read-only view of the zoo entries' fine-tuning recipes that differ from the default,
#: ``{name: recipe}``. Each recipe lives in its entry's record (``kerasdil/zoo/*_record.py``).
FINETUNE_RECIPES = types.MappingProxyType({
    name: info.record.finetuning_recipe
    for name, info in ((n, _zoo_registry.model_info(n)) for n in _zoo_registry.list_models())
    if dict(info.record.finetuning_recipe) != dict(DEFAULT_FINETUNE_RECIPE)
})


def finetune_recipe(name):
    """The fine-tuning recipe (a dict you may change) of zoo model ``name``; the default
    recipe for a name the zoo does not know."""
    try:
        return _zoo_registry.model_info(name).finetuning_recipe
    except ValueError:
        return dict(DEFAULT_FINETUNE_RECIPE)


#: Where ``finetune`` starts when no source is given: the shipped weights whose layers fit the model.
#: deeplab_aspp's DSDC backbone is the width-18 classifier's stem and stages.
DEFAULT_SOURCES = {"deeplab_aspp": "mnist_dsdc:mnist_w18"}
DEFAULT_SOURCE = "mnist_dsdc:mnist"


def finetune(
    name,
    source=None,
    *,
    out_dir,
    head_epochs=None,
    epochs=None,
    batch_size=None,
    learning_rate=None,
    finetune_learning_rate=None,
    augment=None,
    data=None,
    limit=None,
    seed=0,
    model_kwargs=None,
    dataset_kwargs=None,
    data_options=None,
    verbose="auto",
    log=print,
):
    """Fine-tune zoo model ``name`` from a pretrained source model, in two phases.

    1. Build ``name``, copy the layers it shares with ``source``
       (:func:`transfer_backbone`), freeze them (:func:`freeze_backbone`) and
       train the rest for ``head_epochs`` epochs at ``learning_rate``.
    2. Unfreeze every layer and train ``epochs - head_epochs`` more epochs at
       ``finetune_learning_rate`` (lower).

    Both phases use ``kerasdil.train``'s compile (AdamW, cosine decay) and its
    resumable ``fit``: rerun with the same arguments after an interruption and
    the run continues where it stopped. ``out_dir`` receives ``transfer.json``,
    ``history.json`` (both phases, epochs numbered 1..epochs), ``curves.png``,
    ``model.keras``, ``metrics.json`` (test scores, with the task's plots) and
    ``run.json``.

    Args:
        name: zoo model to fine-tune (e.g. "deeplab_aspp").
        source: pretrained model (default: ``DEFAULT_SOURCES[name]``, else
            "mnist_dsdc:mnist"; deeplab_aspp starts from "mnist_dsdc:mnist_w18"): a zoo name with tag, a
            Keras model, or a ``.keras`` file.
        out_dir: run directory.
        head_epochs, epochs, batch_size, learning_rate, finetune_learning_rate, augment:
            override :func:`finetune_recipe`; ``epochs`` counts both phases;
            ``augment`` is the task's (for segmentation: new scenes every epoch).
        data, limit, seed, data_options: as ``kerasdil.train.train``. With the user's own
            data (an image folder, "tfds:NAME", arrays) the model is built for the data's
            input shape and classes: a head made for other classes starts afresh, and a
            grayscale source's first conv is adapted to RGB input (the kernel replicated
            over the 3 channels, divided by 3). When ``source`` is a shipped tag of
            ``name`` itself (``finetune("mnist_dsdc", "mnist_dsdc:mnist", ...)``), the
            model is built with that tag's architecture.
        model_kwargs: extra builder arguments for ``name``; an ``input_shape``
            also sets the size the data is made at (the scenes canvas).
        dataset_kwargs: extra arguments for the task's ``datasets``.

    Returns:
        ``kerasdil.train.TrainResult`` (its metrics also hold the transfer report).

    Raises:
        ValueError: bad arguments, a source with no matching layers, or an
            ``out_dir`` holding a run made with other settings.

    Example:
        >>> result = finetune("deeplab_aspp", "mnist_dsdc:mnist_w18", out_dir="runs/ft", epochs=4)
    """
    import keras

    from kerasdil.tasks import get_task
    from kerasdil.train import (
        TrainResult,
        _atomic_json,
        save_finished_run,
        check_data_fits_model,
        compile_model,
        data_info_for,
        describe_data_arg,
        fit,
        model_kwargs_for_data,
        open_run_dir,
        run_folder,
        user_data_for,
        user_datasets,
    )
    from kerasdil.zoo import create_model, model_info
    from kerasdil.saving import resolve_model
    from kerasdil.zoo.stats import model_stats

    info = model_info(name)
    task = get_task(info.task)
    if source is None:
        source = DEFAULT_SOURCES.get(name, DEFAULT_SOURCE)
    settings = finetune_recipe(name)
    overrides = dict(head_epochs=head_epochs, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                     finetune_learning_rate=finetune_learning_rate, augment=augment)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("epochs", "batch_size"):
        if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
            raise ValueError(f"finetune: `{key}` must be a positive int, got {settings[key]!r}.")
    if isinstance(settings["head_epochs"], bool) or not isinstance(settings["head_epochs"], int) or not 0 <= settings["head_epochs"] <= settings["epochs"]:
        raise ValueError(
            f"finetune: `head_epochs` must be an int in 0..epochs ({settings['epochs']}), got {settings['head_epochs']!r}."
        )
    for key in ("learning_rate", "finetune_learning_rate"):
        if not isinstance(settings[key], (int, float)) or not settings[key] > 0:
            raise ValueError(f"finetune: `{key}` must be > 0, got {settings[key]!r}.")
    from kerasdil.data.checks import check_limit, check_model_memory  # hostile sizes: one sentence, nothing written

    check_limit(limit)
    model_kwargs = dict(model_kwargs or {})
    user_data = user_data_for(data, data_options, info, model_kwargs, seed)  # raises before anything is written
    if user_data is not None:
        model_kwargs = model_kwargs_for_data(user_data, info, model_kwargs)
        if info.task == "segmentation":
            settings["augment"] = False  # the segmentation recipe's augmentation is new MNIST scenes every epoch
    data_info = data_info_for(info, model_kwargs)
    source_text = source if isinstance(source, str) else getattr(source, "name", str(source))
    run = {"model": name, "source": source_text, "model_kwargs": model_kwargs,
           "data": describe_data_arg(data, user_data),
           "limit": limit, "seed": seed, "dataset_kwargs": dict(dataset_kwargs or {}), **settings}
    if user_data is not None:
        run["data_options"] = dict(data_options or {})
    run = json.loads(json.dumps(run, default=str))
    build_kwargs = dict(model_kwargs)
    if isinstance(source, str) and ":" in source and source.split(":", 1)[0] == name:
        # A shipped tag of this very model: build its architecture (the builder's defaults may differ).
        tag = source.split(":", 1)[1]
        if tag in info.pretrained:
            preset = {k: v for k, v in info.pretrained[tag].config.items() if k not in ("input_shape", "num_classes")}
            build_kwargs = {**preset, **build_kwargs}

    run_path = os.path.join(out_dir, "run.json")
    with run_folder(out_dir, "fine-tuning"):  # a refused run leaves no folder behind
        finished = open_run_dir(out_dir, run, log)
        if finished is not None:
            return finished
        # Resolve the source before anything is written, so a bad source leaves no run behind.
        source_model = resolve_model(source, "finetune: source", expect_trained=True)
        keras.utils.set_random_seed(seed)
        model = create_model(name, **build_kwargs)
        check_model_memory(model, settings["batch_size"], training=True)
        # raises before any file is written
        report = transfer_backbone(source_model, model, adapt_input_channels=True, head_layers=HEAD_LAYER_NAMES)
        del source_model
        if user_data is not None:
            train_ds, val_ds, test_ds, data_text = user_datasets(
                user_data, batch_size=settings["batch_size"], augment=settings["augment"], limit=limit, seed=seed)
        else:
            train_ds, val_ds, test_ds, data_text = task.datasets(
                data_info, batch_size=settings["batch_size"], source=data, augment=bool(settings["augment"]),
                limit=limit, seed=seed, **dict(dataset_kwargs or {}),
            )
        check_data_fits_model(train_ds, model)  # also before any file is written
    _atomic_json(run_path, run)
    if user_data is not None:
        from kerasdil.data.sources import write_data_record

        write_data_record(user_data, out_dir)
    _atomic_json(os.path.join(out_dir, "transfer.json"), report.as_dict())
    log(report.summary())
    log(data_text)
    steps = int(train_ds.cardinality())
    head_epochs, total = settings["head_epochs"], settings["epochs"]
    phase1_dir, phase2_dir = os.path.join(out_dir, "phase1_head"), os.path.join(out_dir, "phase2_all")
    phase1_weights = os.path.join(out_dir, "phase1_head.weights.npz")
    start = time.perf_counter()
    history1 = []
    if head_epochs:
        frozen = freeze_backbone(model, report.layers)
        if os.path.exists(phase1_weights):
            from kerasdil.zoo.weights_io import assign_weights, read_weights

            _, arrays = read_weights(phase1_weights)
            assign_weights(model, arrays, source=phase1_weights)
            with open(os.path.join(phase1_dir, "history.json")) as f:
                history1 = json.load(f)
            log(f"phase 1 (head, backbone frozen) already done; loaded {phase1_weights}")
        else:
            compile_model(model, task, learning_rate=settings["learning_rate"], weight_decay=settings["weight_decay"],
                          decay_steps=steps * head_epochs if steps > 0 else None)
            log(f"phase 1: {head_epochs} epochs with {', '.join(frozen)} frozen, lr {settings['learning_rate']}")
            history1 = fit(model, train_ds, epochs=head_epochs, out_dir=phase1_dir, task=task,
                           validation_data=val_ds, verbose=verbose)
            from kerasdil.zoo.weights_io import save_weights

            save_weights(model, phase1_weights)
        unfreeze(model)
    history2 = []
    if total > head_epochs:
        compile_model(model, task, learning_rate=settings["finetune_learning_rate"],
                      weight_decay=settings["weight_decay"],
                      decay_steps=steps * (total - head_epochs) if steps > 0 else None)
        log(f"phase 2: {total - head_epochs} epochs, all layers trainable, lr {settings['finetune_learning_rate']}")
        # Phase 2's first epoch is epoch head_epochs of the run (new scenes continue, not restart).
        history2 = fit(model, train_ds, epochs=total - head_epochs, out_dir=phase2_dir, task=task,
                       validation_data=val_ds, verbose=verbose, first_epoch=head_epochs)
    train_seconds = time.perf_counter() - start
    history = [dict(h, phase="head") for h in history1]
    history += [dict(h, epoch=h["epoch"] + len(history1), phase="all") for h in history2]
    _atomic_json(os.path.join(out_dir, "history.json"), history)

    from kerasdil.plots import plot_history

    plot_history([{k: v for k, v in h.items() if k != "phase"} for h in history],
                 os.path.join(out_dir, "curves.png"), title=f"{name} fine-tuned from {source_text}")
    metrics = task.evaluate(model, test_ds, out_dir=out_dir,
                            class_names=user_data.class_names if user_data is not None else None)
    metrics.update(model=name, source=source_text, **model_stats(model), data=data_text,
                   transferred_layers=report.layers, transferred_variables=len(report.copied))
    return save_finished_run(model, history, metrics, train_seconds, out_dir)
