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

import json
import os
import types

import numpy as np

from kerasdil._transfer import TransferReport, transfer_backbone  # noqa: F401  (part of this module's API)
from kerasdil.train import takes_train_options, train_options
from kerasdil.zoo import registry as _zoo_registry
from kerasdil.zoo.record import BACKBONE_LAYER_PREFIXES  # layer names (prefixes) of a kerasdil backbone
from kerasdil.zoo.record import DEFAULT_FINETUNING_RECIPE as DEFAULT_FINETUNE_RECIPE

#: Names of head layers, tried in this order by :func:`replace_head`.
HEAD_LAYER_NAMES = ("logits", "classifier")


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


@takes_train_options
def finetune(
    name,
    source=None,
    *,
    out_dir,
    head_epochs=None,
    finetune_learning_rate=None,
    dataset_kwargs=None,
    compare_scratch=False,
    **options,
):
    """Fine-tune zoo model ``name`` from a pretrained source model, in two phases.

    1. Build ``name``, copy the layers it shares with ``source``
       (:func:`transfer_backbone`), freeze them except the output head
       (:func:`frozen_layers`) and train the rest for ``head_epochs`` epochs at
       ``learning_rate``.
    2. Unfreeze every layer and train ``epochs - head_epochs`` more epochs at
       ``finetune_learning_rate`` (lower).

    Both phases run on the run engine (:func:`kerasdil.run.execute`: AdamW with
    cosine decay, the run lock, the resume state, the NaN guard): rerun with the
    same arguments after an interruption and the run continues where it stopped.
    On the user's own data the run is sized like ``train``'s
    (:func:`kerasdil.run.size_schedule`: optimizer steps with a floor, early
    stopping in phase 2 with the best weights kept), ``head_share`` of it being
    the head phase. The log and ``metrics.json``'s ``verdict`` say plainly when
    the result is at chance level or (``compare_scratch``) below training from
    scratch with the same budget. ``out_dir`` receives ``transfer.json``,
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
        data, limit, seed, data_options: as ``kerasdil.train.train``. Every option ``finetune``
            shares with ``train`` (``kerasdil.train.SHARED_OPTIONS``, ``verbose`` and ``log``
            included) takes train's meaning and default. With the user's own
            data (an image folder, "tfds:NAME", arrays) the model is built for the data's
            input shape and classes: the head starts afresh when its class count differs, when
            the source is known to have been trained on other class names (a run folder's
            ``data.json``), and for a classifier unless the source is known to have been
            trained on the same class names in the same order (:func:`_fresh_head`); a grayscale
            source's layers that read the image (the first conv, a decoder's image skip)
            are adapted to RGB input (the kernel replicated over the 3 channels, divided by 3). When ``source`` is a shipped tag of
            ``name`` itself (``finetune("mnist_dsdc", "mnist_dsdc:mnist", ...)``), the
            model is built with that tag's architecture.
        model_kwargs: extra builder arguments for ``name``; an ``input_shape``
            also sets the size the data is made at (the scenes canvas).
        dataset_kwargs: extra arguments for the task's ``datasets``.
        compare_scratch: also train ``name`` from scratch with the same budget (into
            ``out_dir/scratch``) and record both scores.

    Returns:
        ``kerasdil.train.TrainResult`` (its metrics also hold the transfer report).

    Raises:
        ValueError: bad arguments, a source with no matching layers, or an
            ``out_dir`` holding a run made with other settings.

    Example:
        >>> result = finetune("deeplab_aspp", "mnist_dsdc:mnist_w18", out_dir="runs/ft", epochs=4)
    """
    (epochs, batch_size, learning_rate, augment, data, limit, seed, model_kwargs, data_options, verbose,
     log) = train_options("finetune", options)
    from kerasdil.data.pipeline import data_info_for, resolve_data
    from kerasdil.run import check_recipe, data_schedule, execute, model_line
    from kerasdil.tasks import get_task
    from kerasdil.zoo import model_info

    info = model_info(name)
    task = get_task(info.task)
    if source is None:
        source = DEFAULT_SOURCES.get(name, DEFAULT_SOURCE)
    settings = finetune_recipe(name)
    overrides = dict(head_epochs=head_epochs, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                     finetune_learning_rate=finetune_learning_rate, augment=augment)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    check_recipe(settings, rates=("learning_rate", "finetune_learning_rate"), prefix="finetune: ")
    model_kwargs = dict(model_kwargs or {})
    data_plan = resolve_data(data, info=info, model_kwargs=model_kwargs, data_options=data_options, seed=seed)
    model_kwargs = data_plan.model_kwargs(info, model_kwargs)
    settings["augment"] = data_plan.augment(info.task, settings["augment"])
    schedule = data_schedule(info, data_plan, settings, task, epochs_given=epochs is not None,
                             batch_given=batch_size is not None)
    if schedule is not None:
        sizing = info.record.data_recipe  # the record fills in DEFAULT_DATA_RECIPE's keys
        if head_epochs is None:
            settings["head_epochs"] = min(settings["epochs"] - 1, max(1, round(sizing["head_share"] * settings["epochs"])))
        if finetune_learning_rate is None:  # a long all-layers phase converges at a rate MNIST's short one avoids
            settings["finetune_learning_rate"] = max(settings["finetune_learning_rate"],
                                                     sizing["finetune_learning_rate"])
    head = settings["head_epochs"]
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head <= settings["epochs"]:
        raise ValueError(
            f"finetune: `head_epochs` must be an int in 0..epochs ({settings['epochs']}), got {head!r}."
        )
    data_info = data_info_for(info, model_kwargs)
    source_text = source if isinstance(source, str) else getattr(source, "name", str(source))
    run = {"model": name, "source": source_text, "model_kwargs": model_kwargs, "data": data_plan.describe(),
           "limit": limit, "seed": seed, "dataset_kwargs": dict(dataset_kwargs or {}), **settings,
           **data_plan.record_options()}
    if compare_scratch:
        run["compare_scratch"] = True  # only when on, so runs made without it still resume
    run = json.loads(json.dumps(run, default=str))
    step = _TransferStep(name, source, _source_architecture(name, info, source, model_kwargs),
                         fresh_head=_fresh_head(task, _source_class_names(source), data_plan.class_names),
                         log=log)
    if info.family == "series" and "dilation_schedule" in step.build_kwargs and "dilation_schedule" not in model_kwargs:
        log(f"built with the source's blocks (dilation schedule {step.build_kwargs['dilation_schedule']}, width "
            f"{step.build_kwargs['width']}), so every block transfers; model_kwargs choose others")

    def describe(stats, steps):
        text = model_line(name, stats, data_plan)
        if schedule is not None:
            text += f"schedule: {schedule.summary}; "
        return text + (f"{head} head epochs at lr {settings['learning_rate']}, then {settings['epochs'] - head} "
                       f"with every layer at lr {settings['finetune_learning_rate']}; batch {settings['batch_size']}")

    def scratch():
        from kerasdil.train import train

        log("training from scratch with the same budget, to compare")
        return train(name, out_dir=os.path.join(out_dir, "scratch"), epochs=settings["epochs"],
                     batch_size=settings["batch_size"], data=data, data_options=data_options, limit=limit,
                     seed=seed, model_kwargs=step.build_kwargs, verbose=verbose, log=log)

    result = execute(name=name, out_dir=out_dir, run=run, data=data_plan, task=task, info=data_info,
                     build=step.build, phases=_phases(settings, step.freeze), batch_size=settings["batch_size"],
                     augment=bool(settings["augment"]), limit=limit, seed=seed, dataset_kwargs=dataset_kwargs,
                     what="fine-tuning", on_start=step.on_start, describe=describe,
                     title=f"{name} fine-tuned from {source_text}", verbose=verbose, log=log,
                     extra_metrics=lambda metrics: _judge(metrics, task, step.report, source_text,
                                                          scratch if compare_scratch else None))
    if result.metrics.get("verdict", "fine-tuned") != "fine-tuned" or "from_scratch" in result.metrics:
        log(result.metrics["verdict_text"])
    return result


class _TransferStep:
    """The steps fine-tuning adds around the run engine: build and transfer, record, freeze."""

    def __init__(self, name, source, build_kwargs, *, fresh_head, log):
        self.name, self.source, self.build_kwargs, self.fresh_head, self.log = name, source, build_kwargs, fresh_head, log
        self.report = None

    def build(self, parts):
        """The model ``name`` with the source's layers copied in (refused before anything is written)."""
        from kerasdil.saving import resolve_model
        from kerasdil.zoo import create_model

        source_model = resolve_model(self.source, "finetune: source", expect_trained=True)
        model = create_model(self.name, **self.build_kwargs)
        self.report = transfer_backbone(source_model, model, adapt_input_channels=True, head_layers=HEAD_LAYER_NAMES,
                                        fresh_head=self.fresh_head)
        return model, model

    def on_start(self, model, out_dir):
        from kerasdil.run import atomic_json

        atomic_json(os.path.join(out_dir, "transfer.json"), self.report.as_dict())
        self.log(self.report.summary())

    def freeze(self, model):
        frozen = frozen_layers(model, self.report)
        return f"{', '.join(frozen)} frozen" if frozen else "nothing to freeze (no backbone was transferred)"


def _phases(settings, freeze):
    """The head phase (transferred layers frozen) and the all-layers phase (early stopping) of ``settings``."""
    from kerasdil.run import Phase

    head, phases = settings["head_epochs"], []
    if head:
        phases.append(Phase(head, settings["learning_rate"], settings["weight_decay"], label="head", prepare=freeze))
    if settings["epochs"] > head:
        phases.append(Phase(settings["epochs"] - head, settings["finetune_learning_rate"], settings["weight_decay"],
                            label="all", prepare=lambda model: (unfreeze(model), "all layers trainable")[1],
                            patience=settings.get("early_stopping_patience"),
                            min_epochs=max(0, settings.get("early_stopping_min_epochs", 0) - head)))
    if len(phases) == 1:
        phases[0].label = "head" if head else "all"
    return phases


def _judge(metrics, task, report, source_text, scratch):
    """metrics.json's fine-tuning entries: what was transferred, and a plain verdict.

    The verdict is "fine-tuned" unless the model ended at chance level (a classifier no
    better than guessing) or below the same model trained from scratch with the same
    budget (when ``scratch``, ``() -> TrainResult``, is given); ``verdict_text`` says which.
    """
    key = "accuracy" if task.name == "classification" else "miou"
    score = metrics.get(key)
    extra = dict(source=source_text, transferred_layers=report.layers, transferred_variables=len(report.copied),
                 new_head=report.new_head, verdict="fine-tuned")
    text = f"fine-tuned from {source_text}"
    classes = len(metrics.get("per_class_accuracy") or {})
    chance = 1.0 / classes if task.name == "classification" and classes else None
    if chance is not None and score is not None and score <= chance + 0.01:
        extra["verdict"] = "at_chance"
        text = (f"the fine-tune from {source_text} ended at chance level (test {key} {score:.4f}, chance {chance:.4f}): "
                "the source did not help this data; train from scratch instead (kerasdil train)")
    if scratch is not None:
        baseline = scratch()
        extra["from_scratch"] = {key: baseline.metrics.get(key), "out_dir": baseline.out_dir}
        if score is not None and baseline.metrics.get(key) is not None and score < baseline.metrics[key]:
            extra["verdict"] = "below_scratch"
            text = (f"the fine-tune from {source_text} (test {key} {score:.4f}) ended below training from scratch "
                    f"with the same budget ({baseline.metrics[key]:.4f}, {baseline.out_dir}/model.keras): "
                    "the source did not help this data")
        else:
            text += f"; at or above training from scratch with the same budget ({baseline.metrics[key]:.4f})"
    extra["verdict_text"] = text
    return extra


def _source_architecture(name, info, source, model_kwargs):
    """The builder arguments: ``model_kwargs``, over a shipped tag's own architecture when
    ``source`` is a tag of ``name`` itself (the builder's defaults may differ from it), or over
    a series source's blocks (:func:`_series_blocks`)."""
    build_kwargs = dict(model_kwargs)
    if isinstance(source, str) and ":" in source and source.split(":", 1)[0] == name:
        tag = source.split(":", 1)[1]
        if tag in info.pretrained:
            preset = {k: v for k, v in info.pretrained[tag].config.items() if k not in ("input_shape", "num_classes")}
            build_kwargs = {**preset, **build_kwargs}
    elif info.family == "series":
        build_kwargs = {**_series_blocks(name, source), **build_kwargs}
    return build_kwargs


def _series_blocks(name, source):
    """The block structure (``dilation_schedule``, ``width``, ``kernel_size``, ``padding``) of a source
    that is a trained model of series entry ``name``, else ``{}``.

    A series model's default schedule follows its length, so a model trained on 150 steps has
    five blocks and one built for 427 steps six: built with the source's blocks, the target takes
    every one of them (the build refuses a source it cannot load, in its own words).
    """
    from kerasdil.saving import resolve_model

    try:
        model = resolve_model(source, "finetune: source")
        stage = model.get_layer("stage1")
    except ValueError:
        return {}
    if model.name != name or not hasattr(stage, "dilation_schedule") or not isinstance(stage.filters, int):
        return {}
    return {"dilation_schedule": tuple(int(r) for r in stage.dilation_schedule), "width": int(stage.filters),
            "kernel_size": int(stage.kernel_size), "padding": stage.padding}


def _source_class_names(source):
    """The class names a source model was trained on, where its run folder records them (``data.json``
    beside a ``model.keras``); None when unknown (a zoo tag, a model object)."""
    if not isinstance(source, (str, os.PathLike)) or not str(source).endswith(".keras"):
        return None
    record = os.path.join(os.path.dirname(os.path.abspath(source)), "data.json")
    try:
        with open(record) as f:
            return json.load(f).get("class_names")
    except (OSError, ValueError, AttributeError):
        return None


def _fresh_head(task, source_names, data_names):
    """True when the source's output head must not be kept for the data's classes.

    A classifier keeps it only when the source is known to have been trained on the data's
    class names in the same order (a run folder's ``data.json``): a folder's classes are in
    the alphabetical order of their names, which says nothing about which output of the
    source meant which class (MNIST's ten outputs kept for the folders "eight", "five", ...,
    "zero" start nine of the ten classes on another digit's weights, which the head phase
    does not unlearn). A segmenter keeps it unless known to differ: its classes are the
    mask ids the user numbered. MNIST itself (no class names) keeps the head.
    """
    if data_names is None:
        return False
    if source_names is not None:
        return list(source_names) != list(data_names)
    return task.name == "classification"


def frozen_layers(model, report):
    """Freeze the transferred layers of ``model`` except its output head; returns their names.

    The output head (the last of :data:`HEAD_LAYER_NAMES` the model has, e.g. a classifier's
    ``classifier`` or a segmenter's ``logits``) always trains in the head phase, even when its
    weights were copied, so the phase never trains nothing.
    """
    names = [layer.name for layer in model.layers]
    output_head = next((n for n in HEAD_LAYER_NAMES if n in names), None)
    frozen = [n for n in report.layers if n != output_head]
    if frozen:
        freeze_backbone(model, frozen)
    return frozen
