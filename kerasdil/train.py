"""Training with a zoo model's recipe: ``train("mnist_dsdc", out_dir="runs/x")``.

``train`` reads the model's recipe, resolves the data (:mod:`kerasdil.data.pipeline`:
MNIST, MNIST scenes or the user's own data), sizes a run on the user's data by
optimizer steps (:func:`kerasdil.run.size_schedule`, early stopping with the best
weights kept) and runs it on the one run engine, :func:`kerasdil.run.execute`, which
writes into ``out_dir``:

- ``backup/``: the resume state. Kill the run at any instant, even after its last
  epoch, and call it again with the same arguments: it continues from the last
  completed epoch. Removed once the model and its scores are written.
- ``history.json`` (one entry per epoch, kept consistent across restarts),
  ``curves.png``, ``model.keras`` (the final model), ``metrics.json`` (test set
  scores and timing), ``run.json`` (the arguments, to refuse a mismatched resume),
  and ``data.json`` for the user's data.
- ``train.lock`` while the run runs: a second run into the same folder is refused
  at once (``kerasdil._lock.RunLock``).

Every file is written under a temporary name and renamed, as strict JSON (a
non-finite number is ``null``). Training stops with :class:`TrainingDiverged` at
the first NaN or infinite loss, before that epoch's history entry or backup is
written, so ``backup/`` keeps the last good epoch. The engine's pieces
(``compile_model``, ``fit``, ``open_run_dir``, ...) stay importable from here.
"""

import dataclasses
import inspect
import types

from kerasdil.data.pipeline import data_info_for, resolve_data
from kerasdil.run import (  # noqa: F401  (also this module's API, for code written against it)
    LOCK_FILE,
    RUN_FILES,
    Phase,
    RunLock,
    TrainingDiverged,
    TrainResult,
    check_data_fits_model,
    check_recipe,
    compile_model,
    data_schedule,
    execute,
    fit,
    model_line,
    open_run_dir,
    run_folder,
    save_finished_run,
)
from kerasdil.run import atomic_json as _atomic_json  # noqa: F401  (older name)
from kerasdil.zoo import registry as _zoo_registry
from kerasdil.zoo.record import DEFAULT_TRAINING_RECIPE as DEFAULT_RECIPE

#: Read-only view of the zoo entries' training recipes, ``{name: recipe}``. Each recipe
#: lives in its entry's record (``kerasdil/zoo/*_record.py``), with why it is what it is;
#: the shipped weights were trained with it (zoo/<name>/README.md).
RECIPES = types.MappingProxyType(
    {name: _zoo_registry.model_info(name).record.training_recipe for name in _zoo_registry.list_models()})


def recipe(name):
    """The training recipe (a dict you may change) of zoo model ``name``; the default recipe
    for a name the zoo does not know."""
    try:
        return _zoo_registry.model_info(name).training_recipe
    except ValueError:
        return dict(DEFAULT_RECIPE)


def _scene_settings(info, settings, model_kwargs, scenes, jitter, train_scenes):
    """Fold the scene arguments of ``train`` into ``settings`` (in place).

    Returns:
        ``(build_kwargs, scene_data)``: the builder arguments (``model_kwargs``
        with the scene canvas as ``input_shape``) and the extra arguments of the
        task's ``datasets``.
    """
    if info.task != "segmentation":
        if scenes is not None or jitter is not None or train_scenes is not None:
            raise ValueError(f"scene settings (canvas, scale, digits, jitter, train scenes) apply to segmenters; "
                             f"{info.name!r} is a {info.task} model.")
        return model_kwargs, {}
    from kerasdil.data.scenes import SceneConfig

    if scenes is not None:
        if not isinstance(scenes, dict):
            raise ValueError(f"`scenes` must be a dict of SceneConfig fields, got {scenes!r}.")
        unknown = sorted(set(scenes) - {f.name for f in dataclasses.fields(SceneConfig)} - {"generators"})
        if unknown:
            raise ValueError(f"`scenes` has unknown field(s) {', '.join(unknown)}; "
                             f"the fields are {', '.join(f.name for f in dataclasses.fields(SceneConfig))}.")
        settings["scenes"] = {**settings.get("scenes", {}), **scenes}
    if jitter is not None:
        settings["jitter"] = jitter
    if train_scenes is not None:
        settings["train_scenes"] = train_scenes
    data_info_for(info, model_kwargs)  # a malformed input_shape is one sentence before anything else
    look = dict(settings.get("scenes") or {})
    generators = _scene_generators(look)
    if generators:
        settings["scenes"]["generators"] = generators
    canvas = look.pop("canvas_size", None)
    shape = model_kwargs.get("input_shape")
    if shape is not None and canvas is not None:
        if scenes and "canvas_size" in scenes and tuple(shape[:2]) != tuple(canvas):
            raise ValueError(f"the scene canvas {tuple(canvas)} and the model's input_shape {tuple(shape)} differ; "
                             "give one of them.")
        canvas = None  # a model built for another size gets scenes of its size, not the recipe's canvas
    if canvas is not None:
        canvas = SceneConfig(canvas_size=canvas, **look).canvas_size  # one clear sentence for bad values
    else:
        SceneConfig(canvas_size=tuple(shape[:2]) if shape else tuple(info.input_shape[:2]), **look)
    if not isinstance(settings.get("jitter", False), bool):
        raise ValueError(f"`jitter` must be True or False, got {settings['jitter']!r}.")
    count = settings.get("train_scenes")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"`train_scenes` must be an int >= 1, got {count!r}.")
    build_kwargs = dict(model_kwargs)
    if canvas is not None:
        build_kwargs["input_shape"] = (*canvas, info.input_shape[2])
    scene_data = dict(look, **({"generators": generators} if generators else {}))
    if settings.get("jitter"):
        scene_data["jitter"] = True
    if count:
        scene_data["num_train"] = count
    return build_kwargs, scene_data


def _scene_generators(look):
    """The generator names of a mixture (taken out of ``look``, in place), or None."""
    generators = look.pop("generators", None)
    if generators is None:
        return None
    from kerasdil.data.scenes import resolve_scene_generators

    other = sorted(set(look) - {"canvas_size"})
    if other:
        raise ValueError(f"a mixture of scene generators says how its scenes look; leave out {', '.join(other)} "
                         "(only the canvas applies to it).")
    return list(resolve_scene_generators(generators))


def _distiller(student, settings):
    """A ``kerasdil.distill.Distiller`` of ``student`` and the teacher ``settings`` names."""
    from kerasdil.distill import Distiller
    from kerasdil.saving import resolve_model

    teacher = resolve_model(settings["teacher"], "teacher", expect_trained=True)
    return Distiller(student, teacher, alpha=settings["alpha"], temperature=settings["temperature"])


def train(
    name,
    *,
    out_dir,
    epochs=None,
    batch_size=None,
    learning_rate=None,
    weight_decay=None,
    label_smoothing=None,
    data=None,
    augment=None,
    limit=None,
    seed=0,
    strategy=None,
    sync_batchnorm=False,
    model_kwargs=None,
    teacher=None,
    distill_alpha=None,
    distill_temperature=None,
    data_options=None,
    scenes=None,
    jitter=None,
    train_scenes=None,
    verbose="auto",
    log=print,
):
    """Train zoo model ``name`` with its recipe; resumable; artifacts in ``out_dir``.

    Args:
        name: zoo model name (``kerasdil.zoo.list_models()``).
        out_dir: run directory (created). Rerunning with the same arguments resumes.
        epochs, batch_size, learning_rate, weight_decay, augment: override the recipe.
            On the user's own data, ``epochs`` (default: sized by the data, see
            :func:`kerasdil.run.size_schedule` and the record's ``data_recipe``) and
            ``batch_size`` (default: the recipe's, at most a tenth of the training
            images) keep early stopping on the validation split. For classifiers ``augment`` may also be a dict of augmentation settings
            (``kerasdil.data.AUGMENTATION`` keys, e.g. ``{"elastic_alpha": 17}``):
            augmentation on, with those settings changed.
        label_smoothing: train on smoothed targets (a float in [0, 1)); default
            the recipe's (0 for every shipped recipe).
        data: MNIST as ``kerasdil.data`` takes it ("sample", an .npz file, a folder holding
            mnist.npz, None for the default search order), or the user's own data as
            ``kerasdil.data.sources.load_data`` takes it: a folder of class subfolders, a
            folder of images/ and masks/, "tfds:NAME[:CONFIG]", ``(x, y)`` arrays, a
            ``tf.data.Dataset`` or a ``DataSpec``. With the user's data the model is built
            for its input shape and classes (``model_kwargs`` may not contradict them),
            and ``data.json`` in ``out_dir`` records what was read and how.
        data_options: for the user's data, ``load_data``'s options: ``image_size``,
            ``resize``, ``channels``, ``validation_split``, ``data_dir``, ``num_classes``,
            ``class_names``.
        limit: use only the first ``limit`` training and test images.
        seed: shuffling / augmentation seed.
        strategy: None, "mirrored" or "multiworker" (``kerasdil.distribute``).
        sync_batchnorm: with a strategy, BatchNormalization computes its batch
            statistics over all replicas (``kerasdil.distribute.synchronize_batchnorm``).
        model_kwargs: extra builder arguments (e.g. ``dilation_schedule``). An
            ``input_shape`` also sets the size the data is made at (for a
            segmenter, the MNIST scenes canvas).
        teacher: distil from this trained classifier (a zoo name with tag such as
            ``"mnist_dsdc:mnist"``, or a ``.keras`` file): ``kerasdil.distill``.
            Only the student is saved. Classification only.
        distill_alpha, distill_temperature: the distillation loss's hard-label
            weight and temperature (default ``kerasdil.distill``'s 0.1 and 10).
        scenes: segmenters only: how the MNIST scenes look, a dict of
            ``kerasdil.data.scenes.SceneConfig`` fields (``canvas_size``,
            ``digits_per_image``, ``scale_range``, ...) that replace the
            recipe's; or ``{"generators": "standard,touching", "canvas_size": ...}``,
            a mixture of named generators (``kerasdil.data.scenes.SCENE_GENERATORS``). A ``canvas_size`` builds the model at that size (the
            segmenters are fully convolutional, so its weights also load at
            any other size).
        jitter: segmenters only: photometric jitter of the training scenes
            (``kerasdil.data.scenes.jitter_scenes``); default the recipe's.
        train_scenes: segmenters only: training scenes per epoch (default the
            recipe's, else 10,000).
        verbose: Keras ``fit`` verbosity ("auto" shows the progress bar).
        log: function for one-line progress messages.

    Returns:
        ``TrainResult``.

    Raises:
        ValueError: unknown model, bad arguments, or ``out_dir`` holding a run made
            with different arguments.

    Example:
        >>> result = train("mnist_dsdc", out_dir="runs/quick", epochs=1, data="sample")
        >>> result.metrics["accuracy"]
    """
    if not isinstance(sync_batchnorm, bool):
        raise ValueError(f"`sync_batchnorm` must be True or False, got {sync_batchnorm!r}.")
    if sync_batchnorm and not strategy:
        raise ValueError(
            "sync_batchnorm synchronizes BatchNormalization across the replicas of a distribution strategy; "
            "pass strategy='mirrored' or 'multiworker' too (--strategy on the command line)."
        )
    dist = None
    if strategy:
        # First, before any TensorFlow op: collectives can only be configured at startup.
        from kerasdil.distribute import make_strategy

        dist = make_strategy(strategy)

    from kerasdil.tasks import get_task
    from kerasdil.zoo import create_model, model_info

    info = model_info(name)
    task = get_task(info.task)
    settings = recipe(name)
    overrides = dict(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay,
                     label_smoothing=label_smoothing, augment=augment)
    settings.update({key: value for key, value in overrides.items() if value is not None})
    check_recipe(settings)
    for key, low, high, text in (("weight_decay", 0.0, float("inf"), ">= 0"), ("label_smoothing", 0.0, 1.0, "in [0, 1)")):
        value = settings.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
            raise ValueError(f"`{key}` must be a number {text}, got {value!r}.")
    settings["augment"] = _augment_setting(info, name, settings["augment"])
    model_kwargs = dict(model_kwargs or {})
    data_plan = resolve_data(data, info=info, model_kwargs=model_kwargs, data_options=data_options, seed=seed)
    model_kwargs = data_plan.model_kwargs(info, model_kwargs)
    settings["augment"] = data_plan.augment(info.task, settings["augment"])
    build_kwargs, scene_data = _scene_settings(info, settings, model_kwargs, scenes, jitter, train_scenes)
    schedule = data_schedule(info, data_plan, settings, task, epochs_given=epochs is not None,
                             batch_given=batch_size is not None)
    run = {"model": name, "model_kwargs": model_kwargs, "data": data_plan.describe(), "limit": limit,
           "seed": seed, "strategy": strategy, **settings, **data_plan.record_options()}
    if sync_batchnorm:
        run["sync_batchnorm"] = True  # only when on, so runs made without the option still resume
    if teacher is not None or distill_alpha is not None or distill_temperature is not None:
        run["distill"] = _distill_settings(info, name, teacher, distill_alpha, distill_temperature)

    def build(parts):
        model = create_model(name, **build_kwargs)
        if sync_batchnorm:
            from kerasdil.distribute import synchronize_batchnorm

            log(f"synchronized BatchNormalization: {synchronize_batchnorm(model)} layers, statistics over "
                f"{dist.num_replicas_in_sync} replicas")
        return model, (_distiller(model, run["distill"]) if "distill" in run else model)

    def describe(stats, steps):
        return (model_line(name, stats, data_plan)
                + (f"schedule: {schedule.summary}; " if schedule else f"{settings['epochs']} epochs x {steps} steps, ")
                + f"batch {settings['batch_size']}, lr {settings['learning_rate']}, weight decay {settings['weight_decay']}"
                + (f", label smoothing {settings['label_smoothing']}" if settings.get("label_smoothing") else ""))

    phase = Phase(settings["epochs"], settings["learning_rate"], settings["weight_decay"],
                  settings.get("label_smoothing", 0.0), patience=settings.get("early_stopping_patience"),
                  min_epochs=settings.get("early_stopping_min_epochs", 0))
    return execute(name=name, out_dir=out_dir, run=run, data=data_plan, task=task, info=data_info_for(info, build_kwargs),
                   build=build, phases=[phase], batch_size=settings["batch_size"], augment=settings["augment"],
                   limit=limit, seed=seed, scope=dist.scope() if dist is not None else None,
                   dataset_kwargs=dict(scene_data, validation_size=settings.get("validation_size", 5000)),
                   describe=describe, verbose=verbose, log=log)


def _augment_setting(info, name, augment):
    """The recipe's ``augment`` checked: a bool, or (classifiers) a dict of augmentation settings."""
    if isinstance(augment, dict):
        if info.task != "classification":
            raise ValueError(
                f"augmentation settings apply to MNIST classifiers; {name!r} is a {info.task} model "
                "(turn augmentation on or off instead: augment=True/False in Python, --no-augment on the command line)."
            )
        from kerasdil.data import augmentation_settings

        return augmentation_settings(augment)
    if not isinstance(augment, bool):
        raise ValueError(f"`augment` must be True, False or a dict of augmentation settings, got {augment!r}.")
    return augment


def _distill_settings(info, name, teacher, alpha, temperature):
    """run.json's ``distill`` entry: the teacher and the loss's weight and temperature."""
    from kerasdil import distill

    if teacher is None:
        raise ValueError("`distill_alpha` and `distill_temperature` need a `teacher`.")
    if info.task != "classification":
        raise ValueError(f"distillation is for classifiers; {name!r} is a {info.task} model.")
    return {
        "teacher": str(teacher),
        "alpha": distill.DEFAULT_ALPHA if alpha is None else float(alpha),
        "temperature": distill.DEFAULT_TEMPERATURE if temperature is None else float(temperature),
    }


#: train's keyword options that ``finetune`` takes too, with train's meaning and defaults.
#: finetune's signature is made from train's for these (:func:`takes_train_options`), so
#: the two cannot drift apart.
SHARED_OPTIONS = ("epochs", "batch_size", "learning_rate", "augment", "data", "limit", "seed", "model_kwargs",
                  "data_options", "verbose", "log")


def takes_train_options(func):
    """Decorator: ``func(..., **options)`` shows train's :data:`SHARED_OPTIONS` in its signature.

    ``inspect.signature(func)`` and ``help(func)`` list them with train's defaults;
    ``func`` reads them with :func:`train_options`.
    """
    own = [p for p in inspect.signature(func).parameters.values() if p.kind is not p.VAR_KEYWORD]
    shared = [p for name, p in inspect.signature(train).parameters.items() if name in SHARED_OPTIONS]
    func.__signature__ = inspect.Signature(own + shared)
    return func


def train_options(caller, options):
    """The values of :data:`SHARED_OPTIONS` in that order, from ``options`` or train's defaults.

    Raises:
        TypeError: a keyword that neither ``caller`` nor train takes, named as Python names it.
    """
    unknown = sorted(set(options) - set(SHARED_OPTIONS))
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    defaults = inspect.signature(train).parameters
    return tuple(options.get(name, defaults[name].default) for name in SHARED_OPTIONS)
